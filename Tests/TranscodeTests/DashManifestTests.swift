import Testing
@testable import Transcode

@Suite("DashManifest")
struct DashManifestTests {
    typealias S = DashManifest.Segment

    @Test("SegmentTimeline: t only where the timeline jumps, runs as r", arguments: [
        ([S(start: 0, duration: 92160)], [#"<S t="0" d="92160"/>"#]),
        ([S(start: 1024, duration: 92160), S(start: 93184, duration: 92160), S(start: 185_344, duration: 30720)],
         [#"<S t="1024" d="92160" r="1"/>"#, #"<S d="30720"/>"#]),
        // Audio: uneven durations, contiguous.
        ([S(start: 0, duration: 288_768), S(start: 288_768, duration: 287_744), S(start: 576_512, duration: 287_744), S(start: 864_256, duration: 97280)],
         [#"<S t="0" d="288768"/>"#, #"<S d="287744" r="1"/>"#, #"<S d="97280"/>"#]),
        // A gap: the next segment starts later than the previous ended, so it carries its own t.
        ([S(start: 0, duration: 100), S(start: 150, duration: 100), S(start: 250, duration: 100)],
         [#"<S t="0" d="100"/>"#, #"<S t="150" d="100" r="1"/>"#]),
        ([], []),
    ] as [([S], [String])])
    func timeline(_ segments: [S], _ expected: [String]) {
        #expect(DashManifest.timeline(segments) == expected)
    }

    @Test("frameRate as the MPD's FrameRateType", arguments: [
        (30.0, "30"), (25, "25"), (29.97002997, "30000/1001"), (59.94005994, "60000/1001"), (23.976023976, "24000/1001"),
        (12.5, "25/2"), (0, nil), (-1, nil), (.nan, nil), (.infinity, nil),
    ] as [(Double, String?)])
    func frameRate(_ fps: Double, _ expected: String?) {
        #expect(DashManifest.frameRate(fps) == expected)
    }

    @Test func durations() {
        #expect(DashManifest.xsDuration(60) == "PT60.000S")
        #expect(DashManifest.xsDuration(14.0666) == "PT14.067S")
        #expect(DashManifest.xsDuration(-1) == "PT0.000S")
    }

    static let video720 = DashManifest.Representation(
        id: "720p", codec: "avc1.64001f", bandwidth: 2_564_896, timescale: 15360, initialization: "hls/720p/init.mp4",
        media: "hls/720p/seg_$Number%04d$.m4s", segments: [S(start: 1024, duration: 92160), S(start: 93184, duration: 30720)],
        width: 1280, height: 720, frameRate: 30)
    static let video360 = DashManifest.Representation(
        id: "360p", codec: "avc1.64001e", bandwidth: 354_118, timescale: 15360, initialization: "hls/360p/init.mp4",
        media: "hls/360p/seg_$Number%04d$.m4s", segments: [S(start: 1024, duration: 92160), S(start: 93184, duration: 30720)],
        width: 640, height: 360, frameRate: 29.97002997)
    static let audio = DashManifest.Representation(
        id: "audio", codec: "mp4a.40.2", bandwidth: 114_999, timescale: 48000, initialization: "hls/audio/init.mp4",
        media: "hls/audio/seg_$Number%04d$.m4s", segments: [S(start: 0, duration: 288_768), S(start: 288_768, duration: 97280)],
        sampleRate: 48000, channels: 2)

    @Test func staticManifestWithVideoAndAudioAdaptationSets() {
        let mpd = DashManifest.render(video: [Self.video360, Self.video720], audio: Self.audio)
        #expect(mpd == """
            <?xml version="1.0" encoding="UTF-8"?>
            <MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="static" mediaPresentationDuration="PT8.067S" minBufferTime="PT6.016S">
              <Period id="0" start="PT0S">
                <AdaptationSet id="0" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1" maxWidth="1280" maxHeight="720" par="16:9">
                  <Representation id="720p" codecs="avc1.64001f" bandwidth="2564896" width="1280" height="720" sar="1:1" frameRate="30">
                    <SegmentTemplate timescale="15360" initialization="hls/720p/init.mp4" media="hls/720p/seg_$Number%04d$.m4s" startNumber="0">
                      <SegmentTimeline>
                        <S t="1024" d="92160"/>
                        <S d="30720"/>
                      </SegmentTimeline>
                    </SegmentTemplate>
                  </Representation>
                  <Representation id="360p" codecs="avc1.64001e" bandwidth="354118" width="640" height="360" sar="1:1" frameRate="30000/1001">
                    <SegmentTemplate timescale="15360" initialization="hls/360p/init.mp4" media="hls/360p/seg_$Number%04d$.m4s" startNumber="0">
                      <SegmentTimeline>
                        <S t="1024" d="92160"/>
                        <S d="30720"/>
                      </SegmentTimeline>
                    </SegmentTemplate>
                  </Representation>
                </AdaptationSet>
                <AdaptationSet id="1" contentType="audio" mimeType="audio/mp4" lang="und" segmentAlignment="true" startWithSAP="1">
                  <Role schemeIdUri="urn:mpeg:dash:role:2011" value="main"/>
                  <Representation id="audio" codecs="mp4a.40.2" bandwidth="114999" audioSamplingRate="48000">
                    <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="2"/>
                    <SegmentTemplate timescale="48000" initialization="hls/audio/init.mp4" media="hls/audio/seg_$Number%04d$.m4s" startNumber="0">
                      <SegmentTimeline>
                        <S t="0" d="288768"/>
                        <S d="97280"/>
                      </SegmentTimeline>
                    </SegmentTemplate>
                  </Representation>
                </AdaptationSet>
              </Period>
            </MPD>

            """)
    }

    @Test func segmentAlignmentIsClaimedOnlyWhenTrue() {
        var shifted = Self.video360
        shifted.segments = [S(start: 1024, duration: 61440), S(start: 62464, duration: 61440)]
        #expect(!DashManifest.render(video: [Self.video720, shifted], audio: nil).contains("segmentAlignment"))
        // Different timescales, same instants: aligned.
        var rescaled = Self.video360
        rescaled.timescale = 30720
        rescaled.segments = Self.video360.segments.map { S(start: $0.start * 2, duration: $0.duration * 2) }
        #expect(DashManifest.isAligned([Self.video720, rescaled]))
    }

    @Test func audioOnlyAndEscaping() {
        var a = Self.audio
        a.id = "a&b\"<c>"
        let mpd = DashManifest.render(video: [], audio: a)
        #expect(!mpd.contains("contentType=\"video\""))
        #expect(mpd.contains(#"id="a&amp;b&quot;&lt;c&gt;""#))
        #expect(mpd.contains(#"mediaPresentationDuration="PT8.043S""#))
    }
}
