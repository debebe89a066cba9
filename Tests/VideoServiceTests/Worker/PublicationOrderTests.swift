import Foundation
import Synchronization
import Testing
import TestSupport
@testable import Transcode
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

/// What the uploader publishes, in what order: a real transcode's outputs through `OutputUploader`
/// into real file storage, segment uploads slowed at random so they finish out of order, and every
/// playlist and manifest checked at the moment it is stored: each object it names must already be
/// there. Then the redelivery rule: a shorter media playlist never replaces a longer one.
@Suite struct PublicationOrderTests {
    /// File storage that checks each playlist or manifest against what is stored when it is put.
    final class CheckingStorage: ForwardingStorage {
        let inner: FileStorage
        let violations = Mutex<[String]>([])
        let stored = Mutex<[String]>([])

        init(_ files: FileStorage) { inner = files }

        func put(key: String, fromFile path: String, contentType: String?) async throws -> ObjectInfo {
            if key.hasSuffix(".m4s") || key.hasSuffix("init.mp4") {
                // Segments land late and out of order: a publisher that does not wait for them is caught.
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...40)))
            }
            let info = try await inner.put(key: key, fromFile: path, contentType: contentType)
            stored.withLock { $0.append(key) }
            return info
        }

        func put<Chunks: AsyncSequence & Sendable>(key: String, chunks: Chunks, contentType: String?) async throws -> ObjectInfo
            where Chunks.Element == [UInt8] {
            var bytes: [UInt8] = []
            for try await chunk in chunks { bytes += chunk }
            let text = String(decoding: bytes, as: UTF8.self)
            let directory = String(key[..<key.lastIndex(of: "/")!])
            for name in Self.names(in: text, key: key) {
                let target = directory + "/" + name
                if try await inner.head(key: target) == nil {
                    violations.withLock { $0.append("\(key) was stored naming \(target), which was not") }
                }
            }
            let info = try await inner.put(key: key, chunks: SingleChunk(bytes: bytes), contentType: contentType)
            stored.withLock { $0.append(key) }
            return info
        }

        /// Relative URIs a playlist or manifest names.
        static func names(in text: String, key: String) -> [String] {
            if key.hasSuffix(".mpd") {
                // Per representation: its init segment and `$Number%04d$` for every segment of its timeline.
                var out: [String] = []
                for rep in text.components(separatedBy: "<SegmentTemplate").dropFirst() {
                    guard let initialization = attribute("initialization", rep), let media = attribute("media", rep) else { continue }
                    out.append(initialization)
                    let count = rep.components(separatedBy: "<S ").dropFirst().reduce(0) { $0 + 1 + (Int(attribute("r", $1) ?? "0") ?? 0) }
                    for n in 0..<count { out.append(media.replacing("$Number%04d$", with: String(format: "%04d", n))) }
                }
                return out
            }
            var out: [String] = []
            for line in text.split(whereSeparator: \.isNewline) {
                if line.hasPrefix("#") {
                    if let uri = attribute("URI", String(line)) { out.append(uri) }
                } else if !line.isEmpty {
                    out.append(String(line))
                }
            }
            return out
        }

        static func attribute(_ name: String, _ text: String) -> String? {
            guard let r = text.range(of: name + "=\"") else { return nil }
            return String(text[r.upperBound...].prefix { $0 != "\"" })
        }

    }

    static func clip(seconds: Int) async throws -> String {
        let path = NSTemporaryDirectory() + "vidd-order-\(UUID().uuidString.prefix(8)).mp4"
        let r = try await TestProcess.run([
            "ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=\(seconds)",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=\(seconds)", "-c:v", "libx264", "-preset", "ultrafast",
            "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", path])
        guard r.status == 0 else { throw WorkerTestEnvironment.Timeout(description: "ffmpeg: \(String(decoding: r.errorOutput, as: UTF8.self))") }
        return path
    }

    @Test func nothingIsStoredBeforeWhatItNames() async throws {
        let root = try FileFixture.makeTemporaryDirectory()
        defer { FileFixture.removeTree(root) }
        // 25 s: five segments a rung, the provisional master after the third.
        let source = try await Self.clip(seconds: 25)
        defer { try? FileManager.default.removeItem(atPath: source) }
        let storage = CheckingStorage(try FileStorage(root: root + "/bucket"))
        let id = VideoID.generate()
        let uploader = OutputUploader(storage: storage, videoID: id)
        var options = TranscodeOptions(ladder: LadderOptions(preset: "ultrafast", rungs: [240, 144]))
        options.thumbnails = true
        let result = try await Transcoder(source: source, outputDirectory: root + "/out", options: options, sink: uploader).run()
        let stored = try await uploader.finish()
        #expect(storage.violations.withLock { $0 }.isEmpty, "\(storage.violations.withLock { $0 })")
        let order = storage.stored.withLock { $0 }
        // The provisional master came while the rungs were still encoding: before their last segments.
        let master = ObjectKeys.hlsMaster(videoID: id)
        let firstMaster = try #require(order.firstIndex(of: master))
        let lastSegment = try #require(order.lastIndex { $0.hasSuffix(".m4s") })
        #expect(firstMaster < lastSegment, "the master was published before the last segment")
        #expect(order.filter { $0 == master }.count == 2, "provisional, then final")
        #expect(order.last == ObjectKeys.dashManifest(videoID: id) || stored[ObjectKeys.dashManifest(videoID: id)] != nil)
        #expect(result.dashManifest == "manifest.mpd")
        // The stored media playlists are the complete ones.
        for rendition in ["240p", "144p", "audio"] {
            let text = String(decoding: try await storage.get(key: "processed/\(id)/hls/\(rendition)/index.m3u8"), as: UTF8.self)
            #expect(MediaPlaylistText.isComplete(text) && MediaPlaylistText.segmentCount(text) == 5, "\(rendition): \(text)")
        }
    }

    /// Segment uploads that wait until the test lets each one through.
    final class GatedSegments: ForwardingStorage {
        let inner: CheckingStorage
        private let open = Mutex<Set<String>>([])

        init(_ inner: CheckingStorage) { self.inner = inner }

        func release(_ key: String) { _ = open.withLock { $0.insert(key) } }

        func put(key: String, fromFile path: String, contentType: String?) async throws -> ObjectInfo {
            while key.hasSuffix(".m4s"), !open.withLock({ $0.contains(key) }) { try await Task.sleep(for: .milliseconds(5)) }
            return try await inner.put(key: key, fromFile: path, contentType: contentType)
        }
    }

    /// The playlist version a master waits for is skipped when a newer one is queued behind it;
    /// the master must still wait until a version of that playlist is stored (it went out first,
    /// naming a playlist the bucket did not have: a player's 404 right at `playable`).
    @Test func theMasterWaitsForAPlaylistWhoseVersionItWaitedForWasSkipped() async throws {
        let root = try FileFixture.makeTemporaryDirectory()
        defer { FileFixture.removeTree(root) }
        let checking = CheckingStorage(try FileStorage(root: root + "/bucket"))
        let storage = GatedSegments(checking)
        let id = VideoID.generate()
        let uploader = OutputUploader(storage: storage, videoID: id)
        let local = root + "/out"
        try FileManager.default.createDirectory(atPath: local + "/hls/240p", withIntermediateDirectories: true)
        func file(_ relative: String, _ kind: OutputFile.Kind, _ text: String) throws -> OutputFile {
            let path = local + "/" + relative + ".\(UUID().uuidString.prefix(6))"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return OutputFile(relativePath: relative, localPath: path, kind: kind, rendition: kind == .masterPlaylist ? nil : "240p", isFinal: false)
        }
        func playlist(_ segments: Int) -> String {
            var text = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:6\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-MAP:URI=\"init.mp4\"\n"
            for n in 0..<segments { text += "#EXTINF:6.000000,\nseg_\(String(format: "%04d", n)).m4s\n" }
            return text
        }
        let segment = { (n: Int) in "processed/\(id)/hls/240p/seg_\(String(format: "%04d", n)).m4s" }
        uploader.fileCompleted(try file("hls/240p/init.mp4", .hlsInit, "init"))
        uploader.fileCompleted(try file("hls/240p/seg_0000.m4s", .hlsSegment, "segment 0"))
        uploader.fileCompleted(try file("hls/240p/index.m3u8", .mediaPlaylist, playlist(1)))        // version 1
        uploader.fileCompleted(try file("master.m3u8", .masterPlaylist,
                                        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=426x240\nhls/240p/index.m3u8\n"))
        uploader.fileCompleted(try file("hls/240p/seg_0001.m4s", .hlsSegment, "segment 1"))
        uploader.fileCompleted(try file("hls/240p/index.m3u8", .mediaPlaylist, playlist(2)))        // version 2
        // Version 1 can go now and is skipped (version 2 is queued); version 2 waits for segment 1.
        storage.release(segment(0))
        // Without the rule the master is stored within milliseconds here; with it, it waits.
        try await Task.sleep(for: .milliseconds(300))
        #expect(!checking.stored.withLock { $0 }.contains(ObjectKeys.hlsMaster(videoID: id)), "the master went out before its playlist")
        storage.release(segment(1))
        _ = try await uploader.finish()
        #expect(checking.violations.withLock { $0 }.isEmpty, "\(checking.violations.withLock { $0 })")
        let order = checking.stored.withLock { $0 }
        let playlistKey = "processed/\(id)/hls/240p/index.m3u8"
        #expect(order.filter { $0 == playlistKey }.count == 1, "version 1 skipped, version 2 stored: \(order)")
        #expect(try #require(order.firstIndex(of: playlistKey)) < (try #require(order.firstIndex(of: ObjectKeys.hlsMaster(videoID: id)))))
    }

    /// A redelivered job's uploader starts from what the bucket has: versions shorter than the
    /// stored playlist are not uploaded; the first at least as long (or complete) is.
    @Test func aShorterPlaylistNeverReplacesALongerOne() async throws {
        let root = try FileFixture.makeTemporaryDirectory()
        defer { FileFixture.removeTree(root) }
        let storage = try FileStorage(root: root + "/bucket")
        let id = VideoID.generate()
        let key = "processed/\(id)/hls/240p/index.m3u8"
        func playlist(_ segments: Int, complete: Bool = false) -> String {
            var text = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:6\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-MAP:URI=\"init.mp4\"\n"
            for n in 0..<segments { text += "#EXTINF:6.000000,\nseg_\(String(format: "%04d", n)).m4s\n" }
            return text + (complete ? "#EXT-X-ENDLIST\n" : "")
        }
        _ = try await storage.put(key: key, chunks: SingleChunk(bytes: Array(playlist(3).utf8)), contentType: nil)
        let local = root + "/out/hls/240p"
        try FileManager.default.createDirectory(atPath: local, withIntermediateDirectories: true)

        func publish(_ text: String, version: Int) async throws -> String {
            let uploader = OutputUploader(storage: storage, videoID: id, playlistFloor: [key: 3])
            let path = local + "/index.m3u8.v\(version)"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            uploader.fileCompleted(OutputFile(relativePath: "hls/240p/index.m3u8", localPath: path, kind: .mediaPlaylist, rendition: "240p", isFinal: false))
            _ = try await uploader.finish()
            return String(decoding: try await storage.get(key: key), as: UTF8.self)
        }
        #expect(try await publish(playlist(1), version: 1) == playlist(3), "1 < 3: kept")
        #expect(try await publish(playlist(2), version: 2) == playlist(3), "2 < 3: kept")
        #expect(try await publish(playlist(3), version: 3) == playlist(3))
        #expect(try await publish(playlist(4), version: 4) == playlist(4), "longer: published")
        // A complete playlist is always published (a shorter complete one would mean the source
        // changed; it is the truth then).
        #expect(try await publish(playlist(2, complete: true), version: 5) == playlist(2, complete: true))
    }
}
