import S3Lite
import Testing
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

/// What every `Storage` backend promises, run against the local directory and against real S3
/// (the moto test server, SigV4 verified). Backend-only facts (temp files, presigned URLs) are
/// checked where they apply; S3-only scenarios are in `S3StorageTests`.
@Suite struct StorageContractTests {
    @Test(arguments: StorageBackendKind.allCases)
    func putFromChunksThenReadBack(_ kind: StorageBackendKind) async throws {
        try await StorageFixture.with(kind) { f in
            let storage = f.storage
            let chunks = [Array("hello ".utf8), [], Array("world".utf8)]
            let info = try await storage.put(key: "source/v1/clip.mp4", chunks: AsyncChunks(chunks), contentType: "video/mp4")
            #expect(info.key == "source/v1/clip.mp4" && info.size == 11)
            #expect(try await storage.get(key: "source/v1/clip.mp4") == Array("hello world".utf8))
            #expect(try await storage.get(key: "source/v1/clip.mp4", range: 6...10) == Array("world".utf8))
            #expect(try await storage.get(key: "source/v1/clip.mp4", range: 0...0) == Array("h".utf8))
            #expect(try await storage.head(key: "source/v1/clip.mp4")?.size == 11)
            #expect(try await storage.head(key: "source/v1/other.mp4") == nil)
        }
    }

    @Test(arguments: StorageBackendKind.allCases)
    func putFromFileReplacesAtomically(_ kind: StorageBackendKind) async throws {
        try await StorageFixture.with(kind) { f in
            let storage = f.storage
            let source = f.scratch + "/in.bin"
            let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            try FileFixture.write(source, bytes)
            _ = try await storage.put(key: "processed/v1/mp4/720p.mp4", chunks: AsyncChunks([[1, 2, 3]]), contentType: nil)
            let info = try await storage.put(key: "processed/v1/mp4/720p.mp4", fromFile: source, contentType: "video/mp4")
            #expect(info.size == 300_000)
            #expect(try await storage.get(key: "processed/v1/mp4/720p.mp4") == bytes)
            #expect(try await storage.head(key: "processed/v1/mp4/720p.mp4")?.size == 300_000)
            if let file = f.fileStorage {
                #expect(FileFixture.files(under: file.root + "/.tmp").isEmpty, "no temp file left behind")
            }
        }
    }

    @Test(arguments: StorageBackendKind.allCases)
    func aMissingSourceFileIsAnIOError(_ kind: StorageBackendKind) async throws {
        try await StorageFixture.with(kind) { f in
            let missing = f.scratch + "/does-not-exist.mp4"
            do {
                _ = try await f.storage.put(key: "processed/v1/a.mp4", fromFile: missing, contentType: nil)
                Issue.record("put from a missing file succeeded")
            } catch let StorageError.io(_, path, errno, _) {
                #expect(path == missing && errno == 2)  // ENOENT
            }
            #expect(try await f.storage.head(key: "processed/v1/a.mp4") == nil)
        }
    }

    @Test(arguments: StorageBackendKind.allCases)
    func aFailedUploadLeavesNoObject(_ kind: StorageBackendKind) async throws {
        try await StorageFixture.with(kind) { f in
            await #expect(throws: UploadAborted.self) {
                _ = try await f.storage.put(key: "source/v2/a.mp4", chunks: FailingChunks(), contentType: nil)
            }
            let head = try await f.storage.head(key: "source/v2/a.mp4")
            let listed = try await f.storage.list(prefix: "")
            #expect(head == nil && listed.isEmpty)
            if let file = f.fileStorage {
                #expect(FileFixture.files(under: file.root + "/.tmp").isEmpty)
            }
        }
    }

    @Test(arguments: StorageBackendKind.allCases)
    func listAndDeleteByPrefix(_ kind: StorageBackendKind) async throws {
        try await StorageFixture.with(kind) { f in
            let storage = f.storage
            for key in ["source/v1/a.mp4", "processed/v1/mp4/360p.mp4", "processed/v1/hls/360p/index.m3u8", "processed/v10/poster.jpg", "processed/v2/poster.jpg"] {
                _ = try await storage.put(key: key, chunks: AsyncChunks([Array(key.utf8)]), contentType: nil)
            }
            let listed = try await storage.list(prefix: "processed/v1/")
            #expect(listed.map(\.key) == ["processed/v1/hls/360p/index.m3u8", "processed/v1/mp4/360p.mp4"])
            #expect(listed.map(\.size) == [Int64("processed/v1/hls/360p/index.m3u8".utf8.count), Int64("processed/v1/mp4/360p.mp4".utf8.count)])
            #expect(listed.allSatisfy { $0.modified > 1_700_000_000 }, "modification times are real")
            #expect(try await storage.list(prefix: "processed/v1").map(\.key) == ["processed/v1/hls/360p/index.m3u8", "processed/v1/mp4/360p.mp4", "processed/v10/poster.jpg"])
            #expect(try await storage.list(prefix: "").count == 5)
            #expect(try await storage.delete(prefix: "processed/v1/") == 2)
            #expect(try await storage.list(prefix: "processed/").map(\.key) == ["processed/v10/poster.jpg", "processed/v2/poster.jpg"])
            if let file = f.fileStorage {
                #expect(!FileFixture.exists(file.root + "/processed/v1"), "emptied directories are removed")
            }
            #expect(try await storage.delete(prefix: "nothing/") == 0)
            #expect(try await storage.head(key: "source/v1/a.mp4")?.size == Int64("source/v1/a.mp4".utf8.count))
        }
    }

    /// One key exactly: not the other keys it is a prefix of; a missing key is no error.
    @Test(arguments: StorageBackendKind.allCases)
    func deleteOneKey(_ kind: StorageBackendKind) async throws {
        try await StorageFixture.with(kind) { f in
            let storage = f.storage
            for key in ["source/v1/a.mp4", "source/v1/a.mp4.bak", "source/v1/b.mp4"] {
                _ = try await storage.put(key: key, chunks: AsyncChunks([Array(key.utf8)]), contentType: nil)
            }
            try await storage.delete(key: "source/v1/a.mp4")
            #expect(try await storage.list(prefix: "source/").map(\.key) == ["source/v1/a.mp4.bak", "source/v1/b.mp4"])
            try await storage.delete(key: "source/v1/a.mp4")
            try await storage.delete(key: "source/v1/a.mp4.bak")
            try await storage.delete(key: "source/v1/b.mp4")
            #expect(try await storage.list(prefix: "").isEmpty)
            if let file = f.fileStorage {
                #expect(!FileFixture.exists(file.root + "/source"), "emptied directories are removed")
            }
            await #expect(throws: StorageError.self) { try await storage.delete(key: "source/../x") }
        }
    }

    @Test(arguments: StorageBackendKind.allCases)
    func keysCannotEscapeTheRoot(_ kind: StorageBackendKind) async throws {
        try await StorageFixture.with(kind) { f in
            try FileFixture.write(f.scratch + "/secret", "x")
            for key in ["../secret", "a/../../secret", "/etc/passwd", ".tmp/x", "a//b", "", "a/", "a\\b"] {
                await #expect(throws: StorageError.self, "\(key)") { _ = try await f.storage.get(key: key) }
                await #expect(throws: StorageError.self, "\(key)") { _ = try await f.storage.head(key: key) }
                await #expect(throws: StorageError.self, "\(key)") {
                    _ = try await f.storage.put(key: key, chunks: AsyncChunks([[1]]), contentType: nil)
                }
                await #expect(throws: StorageError.self, "\(key)") {
                    _ = try await f.storage.playableLocation(key: key, expiresIn: .seconds(60))
                }
            }
            await #expect(throws: StorageError.self) { _ = try await f.storage.list(prefix: "../") }
            await #expect(throws: StorageError.self) { _ = try await f.storage.delete(prefix: "a/../") }
            #expect(FileFixture.files(under: f.scratch) == ["secret"], "nothing was written outside the bucket")
            if let (client, bucket) = f.s3 {
                #expect(try await client.listAllObjects(bucket: bucket).isEmpty, "nothing was written to the bucket")
            }
        }
    }

    @Test(arguments: StorageBackendKind.allCases)
    func errorsSayWhatIsWrong(_ kind: StorageBackendKind) async throws {
        try await StorageFixture.with(kind) { f in
            let storage = f.storage
            await #expect(throws: StorageError.notFound(key: "source/none")) { _ = try await storage.get(key: "source/none") }
            await #expect(throws: StorageError.notFound(key: "source/none")) { _ = try await storage.get(key: "source/none", range: 0...1) }
            await #expect(throws: StorageError.notFound(key: "source/none")) {
                _ = try await storage.playableLocation(key: "source/none", expiresIn: .seconds(60))
            }
            _ = try await storage.put(key: "k/v", chunks: AsyncChunks([[1, 2, 3]]), contentType: nil)
            // Past the end (S3 would answer the bytes that exist), entirely outside, negative.
            await #expect(throws: StorageError.invalidRange(key: "k/v", size: 3, requested: 2...3)) { _ = try await storage.get(key: "k/v", range: 2...3) }
            await #expect(throws: StorageError.invalidRange(key: "k/v", size: 3, requested: 3...3)) { _ = try await storage.get(key: "k/v", range: 3...3) }
            await #expect(throws: StorageError.invalidRange(key: "k/v", size: 3, requested: -1...1)) { _ = try await storage.get(key: "k/v", range: -1...1) }
            #expect(try await storage.get(key: "k/v", range: 1...2) == [2, 3])
        }
    }

    @Test(arguments: StorageBackendKind.allCases)
    func emptyObjects(_ kind: StorageBackendKind) async throws {
        try await StorageFixture.with(kind) { f in
            let info = try await f.storage.put(key: "processed/v/empty.vtt", chunks: AsyncChunks([]), contentType: "text/vtt")
            #expect(info.size == 0)
            #expect(try await f.storage.get(key: "processed/v/empty.vtt") == [])
            #expect(try await f.storage.head(key: "processed/v/empty.vtt")?.size == 0)
            await #expect(throws: StorageError.invalidRange(key: "processed/v/empty.vtt", size: 0, requested: 0...0)) {
                _ = try await f.storage.get(key: "processed/v/empty.vtt", range: 0...0)
            }
        }
    }

    @Test(arguments: StorageBackendKind.allCases)
    func playableLocation(_ kind: StorageBackendKind) async throws {
        try await StorageFixture.with(kind) { f in
            let storage = f.storage
            _ = try await storage.put(key: "processed/v/poster.jpg", chunks: AsyncChunks([[0xFF, 0xD8]]), contentType: "image/jpeg")
            let location = try await storage.playableLocation(key: "processed/v/poster.jpg", expiresIn: .seconds(60))
            try await storage.checkReachable()
            switch location {
            case .localFile(let path, let size):
                let file = try #require(f.fileStorage)
                #expect(path == file.root + "/processed/v/poster.jpg" && size == 2)
                #expect(FileFixture.files(under: file.root + "/.tmp").isEmpty)
            case .redirect(let url, let expiresIn):
                #expect(kind == .s3)
                #expect(expiresIn == .seconds(60))
                #expect(url.contains("X-Amz-Expires=60") && url.contains("X-Amz-Signature="))
                let fetched = try await S3TestServer.curl(url)
                #expect(fetched.status == 0 && fetched.body == [0xFF, 0xD8], "the presigned URL serves the object without credentials")
            }
        }
    }
}
