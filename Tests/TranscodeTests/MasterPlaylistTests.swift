import Testing
@testable import Transcode

@Suite("MasterPlaylist")
struct MasterPlaylistTests {
    @Test func variantsWithSharedAudioGroup() {
        let text = MasterPlaylist.render(
            variants: [
                .init(uri: "hls/720p/index.m3u8", width: 1280, height: 720, frameRate: 30, codec: "avc1.64001f", peakBandwidth: 2_000_000, averageBandwidth: 1_500_000),
                .init(uri: "hls/360p/index.m3u8", width: 640, height: 360, frameRate: 29.97, codec: "avc1.64001e", peakBandwidth: 600_000, averageBandwidth: 500_000),
            ],
            audio: .init(uri: "hls/audio/index.m3u8", peakBandwidth: 130_000, averageBandwidth: 128_000))
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[0] == "#EXTM3U")
        #expect(lines.contains("#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"default\",LANGUAGE=\"und\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"2\",URI=\"hls/audio/index.m3u8\""))
        // Sorted by bandwidth; audio included in BANDWIDTH and CODECS.
        #expect(lines[4] == "#EXT-X-STREAM-INF:BANDWIDTH=730000,AVERAGE-BANDWIDTH=628000,RESOLUTION=640x360,CODECS=\"avc1.64001e,mp4a.40.2\",FRAME-RATE=29.970,AUDIO=\"audio\"")
        #expect(lines[5] == "hls/360p/index.m3u8")
        #expect(lines[6].hasPrefix("#EXT-X-STREAM-INF:BANDWIDTH=2130000,AVERAGE-BANDWIDTH=1628000,RESOLUTION=1280x720"))
    }

    @Test func audioOnly() {
        let text = MasterPlaylist.render(variants: [], audio: .init(uri: "hls/audio/index.m3u8", peakBandwidth: 130_000, averageBandwidth: 128_000))
        #expect(!text.contains("EXT-X-MEDIA"))
        #expect(text.contains("#EXT-X-STREAM-INF:BANDWIDTH=130000,AVERAGE-BANDWIDTH=128000,CODECS=\"mp4a.40.2\"\nhls/audio/index.m3u8"))
    }

    @Test func videoWithoutAudio() {
        let text = MasterPlaylist.render(variants: [.init(uri: "a.m3u8", width: 2, height: 2, frameRate: 25, codec: "avc1.64000a", peakBandwidth: 1, averageBandwidth: 1)], audio: nil)
        #expect(!text.contains("AUDIO="))
        #expect(text.contains("CODECS=\"avc1.64000a\""))
    }

    /// A master published before the renditions are complete: the average is unknown (0) and
    /// left out, the peak is whatever the caller estimated.
    @Test func provisionalMasterLeavesOutTheUnknownAverage() {
        let text = MasterPlaylist.render(
            variants: [.init(uri: "hls/360p/index.m3u8", width: 640, height: 360, frameRate: 30, codec: "avc1.64001e", peakBandwidth: 800_000, averageBandwidth: 0)],
            audio: .init(uri: "hls/audio/index.m3u8", peakBandwidth: 128_000, averageBandwidth: 0))
        #expect(text.contains("#EXT-X-STREAM-INF:BANDWIDTH=928000,RESOLUTION=640x360,CODECS=\"avc1.64001e,mp4a.40.2\""))
        #expect(!text.contains("AVERAGE-BANDWIDTH"))
        let audioOnly = MasterPlaylist.render(variants: [], audio: .init(uri: "a.m3u8", peakBandwidth: 130_000, averageBandwidth: 0))
        #expect(audioOnly.contains("#EXT-X-STREAM-INF:BANDWIDTH=130000,CODECS=\"mp4a.40.2\"\na.m3u8"))
    }
}
