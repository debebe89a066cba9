import Testing
@testable import Transcode
@testable import VideoWorker

@Suite struct MediaPlaylistTextTests {
    static let growing = """
        #EXTM3U
        #EXT-X-VERSION:7
        #EXT-X-TARGETDURATION:6
        #EXT-X-MEDIA-SEQUENCE:0
        #EXT-X-PLAYLIST-TYPE:EVENT
        #EXT-X-MAP:URI="init.mp4"
        #EXTINF:6.000000,
        seg_0000.m4s
        #EXTINF:6.000000,
        seg_0001.m4s

        """

    @Test(arguments: [
        (growing, 2, false),
        (growing + "#EXT-X-ENDLIST\n", 2, true),
        ("#EXTM3U\n#EXT-X-ENDLIST", 0, true),
        ("#EXTM3U\n\n  \n#EXTINF:1,\r\nseg.m4s\r\n", 1, false),
        ("", 0, false),
    ] as [(String, Int, Bool)])
    func counts(_ text: String, _ segments: Int, _ complete: Bool) {
        #expect(MediaPlaylistText.segmentCount(text) == segments)
        #expect(MediaPlaylistText.isComplete(text) == complete)
    }

    @Test func sealingAppendsTheEndOnceAndOnlyToPlaylists() throws {
        let sealed = try #require(MediaPlaylistText.sealed(Self.growing))
        #expect(sealed == Self.growing + "#EXT-X-ENDLIST\n")
        #expect(MediaPlaylistText.sealed(sealed) == nil, "already complete")
        #expect(MediaPlaylistText.sealed("#EXTM3U\n#EXTINF:1,\nseg.m4s") == "#EXTM3U\n#EXTINF:1,\nseg.m4s\n#EXT-X-ENDLIST\n")
        #expect(MediaPlaylistText.sealed("<html>not a playlist</html>") == nil)
    }
}
