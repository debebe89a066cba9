import Testing
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

/// Where the transcoder's files go in the bucket, and the master playlist's move into `hls/`.
@Suite struct OutputLayoutTests {
    static let id = "0f8e3c9a-1111-4222-8333-944445555666"

    @Test(arguments: [
        ("720p.mp4", "processed/\(id)/mp4/720p.mp4"),
        ("144p.mp4", "processed/\(id)/mp4/144p.mp4"),
        ("audio.m4a", "processed/\(id)/mp4/audio.m4a"),
        ("master.m3u8", "processed/\(id)/hls/master.m3u8"),
        ("hls/720p/index.m3u8", "processed/\(id)/hls/720p/index.m3u8"),
        ("hls/720p/init.mp4", "processed/\(id)/hls/720p/init.mp4"),
        ("hls/720p/seg_0001.m4s", "processed/\(id)/hls/720p/seg_0001.m4s"),
        ("hls/audio/index.m3u8", "processed/\(id)/hls/audio/index.m3u8"),
        ("poster.jpg", "processed/\(id)/poster.jpg"),
        ("storyboard.jpg", "processed/\(id)/storyboard.jpg"),
        ("storyboard.vtt", "processed/\(id)/storyboard.vtt"),
        ("manifest.mpd", "processed/\(id)/manifest.mpd"),
    ])
    func keys(relative: String, key: String) {
        #expect(OutputLayout.key(forRelativePath: relative, videoID: Self.id) == key)
    }

    @Test func keysAgreeWithObjectKeys() {
        #expect(OutputLayout.key(forRelativePath: "360p.mp4", videoID: Self.id) == ObjectKeys.mp4(videoID: Self.id, height: 360))
        #expect(OutputLayout.key(forRelativePath: "master.m3u8", videoID: Self.id) == ObjectKeys.hlsMaster(videoID: Self.id))
        #expect(OutputLayout.key(forRelativePath: "hls/360p/index.m3u8", videoID: Self.id) == ObjectKeys.hlsPlaylist(videoID: Self.id, height: 360))
        #expect(OutputLayout.key(forRelativePath: "hls/360p/init.mp4", videoID: Self.id) == ObjectKeys.hlsInit(videoID: Self.id, height: 360))
        #expect(OutputLayout.key(forRelativePath: "poster.jpg", videoID: Self.id) == ObjectKeys.poster(videoID: Self.id))
        #expect(OutputLayout.key(forRelativePath: "manifest.mpd", videoID: Self.id) == ObjectKeys.dashManifest(videoID: Self.id))
        #expect(OutputLayout.contentType(forKey: ObjectKeys.dashManifest(videoID: Self.id)) == "application/dash+xml")
    }

    @Test func pathsThatCannotBeKeysAreRefused() {
        #expect(OutputLayout.key(forRelativePath: "../escape.mp4", videoID: Self.id) == nil)
        #expect(OutputLayout.key(forRelativePath: "hls//x", videoID: Self.id) == nil)
        #expect(OutputLayout.key(forRelativePath: ".hidden", videoID: Self.id) == nil)
    }

    @Test func masterPlaylistMovesIntoHLS() {
        let written = """
            #EXTM3U
            #EXT-X-VERSION:7
            #EXT-X-INDEPENDENT-SEGMENTS
            #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="default",URI="hls/audio/index.m3u8"
            #EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360,AUDIO="aud"
            hls/360p/index.m3u8
            #EXT-X-STREAM-INF:BANDWIDTH=500000,RESOLUTION=426x240,AUDIO="aud"
            hls/240p/index.m3u8

            """
        let stored = OutputLayout.masterPlaylistForBucket(written)
        #expect(stored == """
            #EXTM3U
            #EXT-X-VERSION:7
            #EXT-X-INDEPENDENT-SEGMENTS
            #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="default",URI="audio/index.m3u8"
            #EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360,AUDIO="aud"
            360p/index.m3u8
            #EXT-X-STREAM-INF:BANDWIDTH=500000,RESOLUTION=426x240,AUDIO="aud"
            240p/index.m3u8

            """)
    }

    @Test func contentTypes() {
        #expect(OutputLayout.contentType(forKey: "a/master.m3u8") == "application/vnd.apple.mpegurl")
        #expect(OutputLayout.contentType(forKey: "a/seg_0001.m4s") == "video/iso.segment")
        #expect(OutputLayout.contentType(forKey: "a/720p.mp4") == "video/mp4")
        #expect(OutputLayout.contentType(forKey: "a/poster.jpg") == "image/jpeg")
        #expect(OutputLayout.contentType(forKey: "a/storyboard.vtt") == "text/vtt")
    }

    /// `stop(grace:)` passes its own grace to the machine, overriding the configured one.
    @Test func stopGraceOverridesThePolicy() {
        var m = WorkerStateMachine(policy: LeasePolicy(lease: .seconds(60), maxAttempts: 3, shutdownGrace: .seconds(30)), capacity: 1)
        _ = m.tick(now: .zero)
        _ = m.received([Delivery(entryID: "1-1", videoID: "v", deliveryCount: 1)], from: .read, now: .zero)
        #expect(m.terminationRequested(now: .seconds(1), grace: .seconds(5)) == [.notifyStopping])
        #expect(m.tick(now: .seconds(5)) == [], "still within the grace")
        #expect(m.tick(now: .seconds(6)) == [.cancelJobs(entryIDs: ["1-1"]), .exit], "at 1 s + 5 s, not 1 s + 30 s")
    }
}
