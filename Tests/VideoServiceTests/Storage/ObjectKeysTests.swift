import Testing
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

@Suite struct ObjectKeysTests {
    static let id = "0f8e3c9a-1111-4222-8333-444455556666"

    @Test func layout() {
        #expect(ObjectKeys.source(videoID: Self.id, originalName: "My Clip (1).MP4") == "source/\(Self.id)/My_Clip_1_.MP4")
        #expect(ObjectKeys.mp4(videoID: Self.id, height: 720) == "processed/\(Self.id)/mp4/720p.mp4")
        #expect(ObjectKeys.hlsMaster(videoID: Self.id) == "processed/\(Self.id)/hls/master.m3u8")
        #expect(ObjectKeys.hlsPlaylist(videoID: Self.id, height: 360) == "processed/\(Self.id)/hls/360p/index.m3u8")
        #expect(ObjectKeys.hlsSegment(videoID: Self.id, height: 360, index: 7) == "processed/\(Self.id)/hls/360p/segment_00007.m4s")
        #expect(ObjectKeys.hlsInit(videoID: Self.id, height: 360) == "processed/\(Self.id)/hls/360p/init.mp4")
        #expect(ObjectKeys.poster(videoID: Self.id) == "processed/\(Self.id)/poster.jpg")
        #expect(ObjectKeys.storyboardImage(videoID: Self.id) == "processed/\(Self.id)/storyboard.jpg")
        #expect(ObjectKeys.storyboardVTT(videoID: Self.id) == "processed/\(Self.id)/storyboard.vtt")
        for key in [ObjectKeys.mp4(videoID: Self.id, height: 1080), ObjectKeys.poster(videoID: Self.id), ObjectKeys.hlsSegment(videoID: Self.id, height: 240, index: 99_999)] {
            #expect((try? ObjectKeys.validate(key)) != nil, "\(key)")
            #expect(key.hasPrefix(ObjectKeys.processedDirectory(videoID: Self.id)))
        }
    }

    @Test(arguments: [
        ("clip.mp4", "clip.mp4"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\vid.mov", "vid.mov"),
        (".hidden.mp4", "hidden.mp4"),
        ("...", "source"),
        ("", "source"),
        ("vidéo été.mp4", "vid_o_t_.mp4"),
        ("a\u{0}b\nc.mkv", "a_b_c.mkv"),
        ("spaces   and\ttabs.webm", "spaces_and_tabs.webm"),
    ])
    func sanitizes(name: String, expected: String) {
        let out = ObjectKeys.sanitizeFileName(name)
        #expect(out == expected)
        #expect((try? ObjectKeys.validate("source/x/" + out)) != nil)
    }

    @Test func longNamesKeepTheirExtension() {
        let out = ObjectKeys.sanitizeFileName(String(repeating: "a", count: 500) + ".mp4")
        #expect(out.count == 200 && out.hasSuffix(".mp4"))
    }

    @Test(arguments: ["", "/abs", "a//b", "a/../b", "..", "a/./b", "a/", ".tmp/x", "a\\b", "a\u{7}b", String(repeating: "k", count: 1025)])
    func rejectsUnsafeKeys(key: String) {
        #expect(throws: ObjectKeys.InvalidKey.self) { try ObjectKeys.validate(key) }
    }

    @Test func mediaPaths() {
        let key = ObjectKeys.hlsPlaylist(videoID: Self.id, height: 720)
        #expect(ObjectKeys.mediaPath(forKey: key, videoID: Self.id) == "hls/720p/index.m3u8")
        #expect(ObjectKeys.key(forMediaPath: "hls/720p/index.m3u8", videoID: Self.id) == key)
        #expect(ObjectKeys.key(forMediaPath: "../../source/x", videoID: Self.id) == nil)
        #expect(ObjectKeys.mediaPath(forKey: "source/\(Self.id)/a.mp4", videoID: Self.id) == nil)
    }

    @Test(arguments: [
        ("source/a/b.mp4", "source/a/b.mp4"),
        ("/source/a/b.mp4", "source/a/b.mp4"),
        ("s3://videos/source/a/b.mp4", "source/a/b.mp4"),
    ])
    func normalizesSubmittedKeys(raw: String, key: String) {
        #expect(ObjectKeys.normalizeSubmittedKey(raw) == key)
    }

    @Test func refusesSubmittedKeysThatEscape() {
        #expect(ObjectKeys.normalizeSubmittedKey("s3://videos") == nil)
        #expect(ObjectKeys.normalizeSubmittedKey("source/../../x") == nil)
    }
}
