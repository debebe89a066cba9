import Testing
@testable import VideoCore

/// Signed media URLs and the playlists that carry them: vectors, no sockets.
@Suite struct SignedMediaTests {
    static let video = "0f8e3c9a-1111-4222-8333-444455556666"
    static let keyA = Array("key-A-0123456789abcdef0123456789abcdef".utf8)
    static let keyB = Array("key-B-0123456789abcdef0123456789abcdef".utf8)

    @Test func aSignatureIsHMACSHA256OverTheVideosPathAndTheExpiry() {
        let signer = MediaSigner(keys: [Self.keyA], lifetime: .seconds(3600))
        // printf '/media/<id>/\n2000000000' | openssl dgst -sha256 -hmac 'key-A-0123456789abcdef0123456789abcdef'
        #expect(signer.signature(videoID: Self.video, expires: 2_000_000_000) == "47f0a43da3f04459d4413698124bd7cfcac5e91c1ff95ac4667d73379c0575be")
        #expect(signer.query(videoID: Self.video, expires: 2_000_000_000) == "exp=2000000000&sig=" + signer.signature(videoID: Self.video, expires: 2_000_000_000))
        #expect(signer.expiry(now: 1000) == 4600)
    }

    @Test func verdicts() {
        let signer = MediaSigner(keys: [Self.keyA], lifetime: .seconds(60))
        let sig = signer.signature(videoID: Self.video, expires: 1000)
        #expect(signer.verify(videoID: Self.video, expires: "1000", signature: sig, now: 999) == .valid)
        #expect(signer.verify(videoID: Self.video, expires: "1000", signature: sig, now: 1000) == .valid, "valid through its second")
        #expect(signer.verify(videoID: Self.video, expires: "1000", signature: sig, now: 1001) == .expired)
        #expect(signer.verify(videoID: Self.video, expires: nil, signature: nil, now: 0) == .unsigned)
        #expect(signer.verify(videoID: Self.video, expires: "1000", signature: nil, now: 0) == .invalid)
        #expect(signer.verify(videoID: Self.video, expires: "1001", signature: sig, now: 0) == .invalid, "a later expiry is not signed")
        #expect(signer.verify(videoID: "0f8e3c9a-1111-4222-8333-444455556667", expires: "1000", signature: sig, now: 0) == .invalid, "another video")
        var tampered = Array(sig)
        tampered[10] = tampered[10] == "a" ? "b" : "a"
        #expect(signer.verify(videoID: Self.video, expires: "1000", signature: String(tampered), now: 0) == .invalid)
        for bad in ["", "zz", String(sig.dropLast(2)), sig + "00", sig.uppercased() + "x"] {
            #expect(signer.verify(videoID: Self.video, expires: "1000", signature: bad, now: 0) == .invalid, "\(bad)")
        }
        for bad in ["", "-1", "1e3", "10000000000000", " 1000"] {
            #expect(signer.verify(videoID: Self.video, expires: bad, signature: sig, now: 0) == .invalid, "\(bad)")
        }
    }

    /// Rotation: a new key first signs; the old one, still listed, verifies what it signed.
    @Test func rotationKeepsOldLinksValidWhileTheOldKeyIsListed() {
        let old = MediaSigner(keys: [Self.keyA], lifetime: .seconds(60))
        let sig = old.signature(videoID: Self.video, expires: 1000)
        let rotating = MediaSigner(keys: [Self.keyB, Self.keyA], lifetime: .seconds(60))
        #expect(rotating.verify(videoID: Self.video, expires: "1000", signature: sig, now: 0) == .valid)
        #expect(rotating.signature(videoID: Self.video, expires: 1000) != sig, "new links are signed with the new key")
        let rotated = MediaSigner(keys: [Self.keyB], lifetime: .seconds(60))
        #expect(rotated.verify(videoID: Self.video, expires: "1000", signature: sig, now: 0) == .invalid)
    }

    @Test func hlsPlaylistsGetTheQueryOnEveryURI() {
        let master = """
            #EXTM3U
            #EXT-X-VERSION:7
            #EXT-X-INDEPENDENT-SEGMENTS
            #EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2"
            360p/index.m3u8
            #EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=100000,URI="360p/iframes.m3u8"

            """
        let signed = SignedManifest.rewrite(master, kind: .hls, query: "exp=5&sig=ab")
        #expect(signed == """
            #EXTM3U
            #EXT-X-VERSION:7
            #EXT-X-INDEPENDENT-SEGMENTS
            #EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2"
            360p/index.m3u8?exp=5&sig=ab
            #EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=100000,URI="360p/iframes.m3u8?exp=5&sig=ab"

            """)
        let media = "#EXTM3U\r\n#EXT-X-MAP:URI=\"init.mp4\"\r\n#EXTINF:4.0,\r\nseg_00000.m4s\r\n#EXTINF:2.0,\r\nseg_00001.m4s?x=1\r\nhttps://cdn.example/other.m4s\r\n#EXT-X-ENDLIST\r\n"
        #expect(SignedManifest.rewrite(media, kind: .hls, query: "exp=5&sig=ab")
                == "#EXTM3U\r\n#EXT-X-MAP:URI=\"init.mp4?exp=5&sig=ab\"\r\n#EXTINF:4.0,\r\nseg_00000.m4s?exp=5&sig=ab\r\n#EXTINF:2.0,\r\nseg_00001.m4s?x=1&exp=5&sig=ab\r\nhttps://cdn.example/other.m4s\r\n#EXT-X-ENDLIST\r\n",
                "CRLF kept, an existing query extended, another host's URL left alone")
    }

    @Test func mpdsGetTheQueryInTemplatesAndAmpersandsEscaped() {
        let mpd = """
            <MPD><Period><AdaptationSet><SegmentTemplate initialization="$RepresentationID$/init.mp4" media="$RepresentationID$/seg_$Number%05d$.m4s"/>
            <Representation id="360p"><BaseURL>hls/</BaseURL></Representation><Representation id="a"><BaseURL>audio.mp4</BaseURL></Representation></AdaptationSet></Period></MPD>
            """
        let signed = SignedManifest.rewrite(mpd, kind: .dash, query: "exp=5&sig=ab")
        #expect(signed.contains(#"initialization="$RepresentationID$/init.mp4?exp=5&amp;sig=ab""#))
        #expect(signed.contains(#"media="$RepresentationID$/seg_$Number%05d$.m4s?exp=5&amp;sig=ab""#))
        #expect(signed.contains("<BaseURL>hls/</BaseURL>"), "a directory base stays as it is")
        #expect(signed.contains("<BaseURL>audio.mp4?exp=5&amp;sig=ab</BaseURL>"))
    }

    @Test func storyboardCuesNameASignedImage() {
        let vtt = "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nstoryboard.jpg#xywh=0,0,160,90\n\n00:00:02.000 --> 00:00:04.000\nstoryboard.jpg#xywh=160,0,160,90\n"
        #expect(SignedManifest.rewrite(vtt, kind: .vtt, query: "exp=5&sig=ab")
                == "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nstoryboard.jpg?exp=5&sig=ab#xywh=0,0,160,90\n\n00:00:02.000 --> 00:00:04.000\nstoryboard.jpg?exp=5&sig=ab#xywh=160,0,160,90\n")
    }

    @Test(arguments: [("hls/master.m3u8", SignedManifest.Kind.hls), ("x.MPD", .dash), ("storyboard.vtt", .vtt)])
    func kindsByName(path: String, kind: SignedManifest.Kind) {
        #expect(SignedManifest.Kind(path: path) == kind)
    }

    @Test func otherFilesAreNotManifests() {
        #expect(SignedManifest.Kind(path: "mp4/360p.mp4") == nil && SignedManifest.Kind(path: "poster.jpg") == nil)
    }
}
