import Testing
@testable import VideoService

@Suite struct FileStorageTests {
    /// A fresh storage root per test, removed afterwards.
    func withStorage(_ body: (FileStorage, String) async throws -> Void) async throws {
        let dir = try FileFixture.makeTemporaryDirectory()
        defer { FileFixture.removeTree(dir) }
        try await body(try FileStorage(root: dir + "/bucket"), dir)
    }

    @Test func putFromChunksThenReadBack() async throws {
        try await withStorage { storage, _ in
            let chunks = [Array("hello ".utf8), [], Array("world".utf8)]
            let info = try await storage.put(key: "source/v1/clip.mp4", chunks: AsyncChunks(chunks), contentType: "video/mp4")
            #expect(info.key == "source/v1/clip.mp4" && info.size == 11)
            #expect(try await storage.get(key: "source/v1/clip.mp4") == Array("hello world".utf8))
            #expect(try await storage.get(key: "source/v1/clip.mp4", range: 6...10) == Array("world".utf8))
            #expect(try await storage.head(key: "source/v1/clip.mp4")?.size == 11)
            #expect(try await storage.head(key: "source/v1/other.mp4") == nil)
        }
    }

    @Test func putFromFileReplacesAtomically() async throws {
        try await withStorage { storage, dir in
            let source = dir + "/in.bin"
            let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            try FileFixture.write(source, bytes)
            _ = try await storage.put(key: "processed/v1/mp4/720p.mp4", chunks: AsyncChunks([[1, 2, 3]]), contentType: nil)
            let info = try await storage.put(key: "processed/v1/mp4/720p.mp4", fromFile: source, contentType: "video/mp4")
            #expect(info.size == 300_000)
            #expect(try await storage.get(key: "processed/v1/mp4/720p.mp4") == bytes)
            #expect(FileFixture.files(under: storage.root + "/.tmp").isEmpty, "no temp file left behind")
        }
    }

    @Test func aFailedUploadLeavesNoObjectAndNoTempFile() async throws {
        try await withStorage { storage, _ in
            await #expect(throws: UploadAborted.self) {
                _ = try await storage.put(key: "source/v2/a.mp4", chunks: FailingChunks(), contentType: nil)
            }
            let head = try await storage.head(key: "source/v2/a.mp4")
            #expect(head == nil)
            #expect(FileFixture.files(under: storage.root + "/.tmp").isEmpty)
        }
    }

    @Test func listAndDeleteByPrefix() async throws {
        try await withStorage { storage, _ in
            for key in ["source/v1/a.mp4", "processed/v1/mp4/360p.mp4", "processed/v1/hls/360p/index.m3u8", "processed/v10/poster.jpg", "processed/v2/poster.jpg"] {
                _ = try await storage.put(key: key, chunks: AsyncChunks([Array(key.utf8)]), contentType: nil)
            }
            #expect(try await storage.list(prefix: "processed/v1/").map(\.key) == ["processed/v1/hls/360p/index.m3u8", "processed/v1/mp4/360p.mp4"])
            #expect(try await storage.list(prefix: "processed/v1").map(\.key) == ["processed/v1/hls/360p/index.m3u8", "processed/v1/mp4/360p.mp4", "processed/v10/poster.jpg"])
            #expect(try await storage.list(prefix: "").count == 5)
            #expect(try await storage.delete(prefix: "processed/v1/") == 2)
            #expect(try await storage.list(prefix: "processed/").map(\.key) == ["processed/v10/poster.jpg", "processed/v2/poster.jpg"])
            #expect(!FileFixture.exists(storage.root + "/processed/v1"), "emptied directories are removed")
            #expect(try await storage.delete(prefix: "nothing/") == 0)
        }
    }

    @Test func keysCannotEscapeTheRoot() async throws {
        try await withStorage { storage, dir in
            try FileFixture.write(dir + "/secret", "x")
            for key in ["../secret", "a/../../secret", "/etc/passwd", ".tmp/x", "a//b"] {
                await #expect(throws: StorageError.self, "\(key)") { _ = try await storage.get(key: key) }
                await #expect(throws: StorageError.self, "\(key)") {
                    _ = try await storage.put(key: key, chunks: AsyncChunks([[1]]), contentType: nil)
                }
            }
            await #expect(throws: StorageError.self) { _ = try await storage.list(prefix: "../") }
            #expect(FileFixture.files(under: dir) == ["secret"], "nothing was written outside the bucket")
        }
    }

    @Test func errorsSayWhatIsWrong() async throws {
        try await withStorage { storage, _ in
            await #expect(throws: StorageError.notFound(key: "source/none")) { _ = try await storage.get(key: "source/none") }
            _ = try await storage.put(key: "k/v", chunks: AsyncChunks([[1, 2, 3]]), contentType: nil)
            await #expect(throws: StorageError.invalidRange(key: "k/v", size: 3, requested: 2...3)) { _ = try await storage.get(key: "k/v", range: 2...3) }
        }
    }

    @Test func playableLocationIsTheLocalFile() async throws {
        try await withStorage { storage, _ in
            _ = try await storage.put(key: "processed/v/poster.jpg", chunks: AsyncChunks([[0xFF, 0xD8]]), contentType: "image/jpeg")
            let location = try await storage.playableLocation(key: "processed/v/poster.jpg", expiresIn: .seconds(60))
            #expect(location == .localFile(path: storage.root + "/processed/v/poster.jpg", size: 2))
            try await storage.checkReachable()
            #expect(FileFixture.files(under: storage.root + "/.tmp").isEmpty)
        }
    }
}

/// Chunks as an AsyncSequence, like an upload body.
struct AsyncChunks: AsyncSequence, Sendable {
    typealias Element = [UInt8]
    let chunks: [[UInt8]]
    init(_ chunks: [[UInt8]]) { self.chunks = chunks }
    struct AsyncIterator: AsyncIteratorProtocol {
        var rest: [[UInt8]]
        mutating func next() async throws -> [UInt8]? { rest.isEmpty ? nil : rest.removeFirst() }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(rest: chunks) }
}

struct UploadAborted: Error {}

/// An upload whose client disconnects after the first chunk.
struct FailingChunks: AsyncSequence, Sendable {
    typealias Element = [UInt8]
    struct AsyncIterator: AsyncIteratorProtocol {
        var sent = false
        mutating func next() async throws -> [UInt8]? {
            if sent { throw UploadAborted() }
            sent = true
            return [1, 2, 3]
        }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator() }
}
