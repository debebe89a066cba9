import Foundation
import Reactor
import S3Lite
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

/// The backends every storage scenario runs against.
enum StorageBackendKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case file
    case s3
    var description: String { rawValue }
}

/// One test's storage: a fresh directory, or a fresh bucket on the real S3 test server (moto,
/// verifying SigV4) with a key prefix, so the prefix handling is exercised too.
struct StorageFixture: Sendable {
    let storage: any Storage
    /// A scratch directory for input files (and the file backend's root below it).
    let scratch: String
    /// For the S3 backend: the raw client and bucket, to look behind the storage's back.
    let s3: (client: S3Client, bucket: String)?

    var fileStorage: FileStorage? { storage as? FileStorage }

    /// Runs `body` with a fresh storage of `kind`, cleaning up afterwards. Returns without
    /// running it when the S3 test server is not configured (skipped loudly; fails in CI).
    static func with(_ kind: StorageBackendKind, configure: (inout S3Configuration) -> Void = { _ in },
                     _ body: (StorageFixture) async throws -> Void) async throws {
        let scratch = try FileFixture.makeTemporaryDirectory()
        defer { FileFixture.removeTree(scratch) }
        switch kind {
        case .file:
            try await body(StorageFixture(storage: try FileStorage(root: scratch + "/bucket"), scratch: scratch, s3: nil))
        case .s3:
            guard let client = try S3TestServer.client(configure: configure) else { return }
            let bucket = try await S3TestServer.makeBucket(client)
            let fixture = StorageFixture(storage: try S3Storage(client: client, bucket: bucket, keyPrefix: "ns/"),
                                         scratch: scratch, s3: (client, bucket))
            do {
                try await body(fixture)
            } catch {
                await S3TestServer.removeBucket(client, bucket)
                throw error
            }
            await S3TestServer.removeBucket(client, bucket)
        }
    }
}

enum S3TestServer {
    /// A client for the test server (nil: not configured), with short retry delays.
    static func client(secret: String? = nil, configure: (inout S3Configuration) -> Void = { _ in }) throws -> S3Client? {
        guard let settings = try settings(secret: secret) else { return nil }
        var config = try S3Storage.clientConfiguration(settings)
        config.retry = RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(20), maxDelay: .milliseconds(200))
        configure(&config)
        return S3Client(configuration: config)
    }

    /// vidd's own settings for the test server, as `Configuration` would carry them.
    static func settings(secret: String? = nil) throws -> Configuration.S3Settings? {
        guard let url = try TestServices.require(TestServices.s3Endpoint, "VIDD_TEST_S3_ENDPOINT"),
              let access = try TestServices.require(TestServices.s3AccessKey, "VIDD_TEST_S3_ACCESS_KEY"),
              let secretKey = try TestServices.require(TestServices.s3SecretKey, "VIDD_TEST_S3_SECRET_KEY")
        else { return nil }
        return Configuration.S3Settings(endpoint: url, region: TestServices.s3Region, accessKey: access,
                                        secretKey: secret ?? secretKey)
    }

    static func makeBucket(_ client: S3Client) async throws -> String {
        let name = TestServices.uniqueName("vidd-storage-").lowercased()
        try await client.createBucket(name)
        return name
    }

    /// Best effort: aborts pending uploads, deletes every object, then the bucket.
    static func removeBucket(_ client: S3Client, _ bucket: String) async {
        for upload in (try? await pendingUploads(client, bucket)) ?? [] {
            try? await client.abortMultipartUpload(bucket: bucket, key: upload.key, uploadID: upload.uploadID)
        }
        if let objects = try? await client.listAllObjects(bucket: bucket), !objects.isEmpty {
            _ = try? await client.deleteObjects(bucket: bucket, keys: objects.map(\.key))
        }
        try? await client.deleteBucket(bucket)
        client.shutdown()
    }

    /// Multipart uploads still in progress in `bucket`.
    static func pendingUploads(_ client: S3Client, _ bucket: String) async throws -> [(key: String, uploadID: String)] {
        try await client.listMultipartUploads(bucket: bucket).map { ($0.key, $0.uploadID) }
    }

    /// Fetches `url` with a plain HTTP client (curl), optionally a byte range.
    static func curl(_ url: String, range: String? = nil) async throws -> (status: Int32, body: [UInt8]) {
        var args = ["curl", "-sS", "-f"]
        if let range { args += ["-H", "Range: bytes=\(range)"] }
        let result = try await TestProcess.run(args + [url])
        return (result.status, Array(result.output))
    }
}

/// Deterministic pseudo-random bytes, fast enough for payloads of many MiB.
func pseudoRandomBytes(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    var x = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    out.withUnsafeMutableBytes { raw in
        let words = raw.bindMemory(to: UInt64.self)
        for i in words.indices {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            words[i] = x
        }
        for i in (words.count * 8)..<count { raw[i] = UInt8(truncatingIfNeeded: i) }
    }
    return out
}

/// Chunks as an AsyncSequence, like an upload body.
struct AsyncChunks: AsyncSequence, Sendable {
    typealias Element = [UInt8]
    let chunks: [[UInt8]]
    init(_ chunks: [[UInt8]]) { self.chunks = chunks }
    /// `bytes` cut into chunks of `size` (the last one shorter).
    init(_ bytes: [UInt8], chunkSize size: Int) {
        chunks = stride(from: 0, to: bytes.count, by: size).map { Array(bytes[$0..<Swift.min($0 + size, bytes.count)]) }
    }
    struct AsyncIterator: AsyncIteratorProtocol {
        var rest: [[UInt8]]
        var index = 0
        mutating func next() async throws -> [UInt8]? {
            guard index < rest.count else { return nil }
            defer { index += 1 }
            return rest[index]
        }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(rest: chunks) }
}

struct UploadAborted: Error {}

/// An upload whose client disconnects after `before` bytes (sent as one chunk).
struct FailingChunks: AsyncSequence, Sendable {
    typealias Element = [UInt8]
    var before: [UInt8] = [1, 2, 3]
    struct AsyncIterator: AsyncIteratorProtocol {
        let before: [UInt8]
        var sent = false
        mutating func next() async throws -> [UInt8]? {
            if sent { throw UploadAborted() }
            sent = true
            return before
        }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(before: before) }
}

/// An upload that sends `first`, announces on `askedForMore` that it was asked for the next
/// chunk, then waits (cancellably) for an hour: a client that stalls until the task is cancelled.
struct StallingChunks: AsyncSequence, Sendable {
    typealias Element = [UInt8]
    let first: [UInt8]
    let askedForMore: AsyncStream<Void>.Continuation
    struct AsyncIterator: AsyncIteratorProtocol {
        let first: [UInt8]
        let askedForMore: AsyncStream<Void>.Continuation
        var sent = false
        mutating func next() async throws -> [UInt8]? {
            if !sent { sent = true; return first }
            askedForMore.yield()
            try await EventLoop.shared.sleep(for: .seconds(3600))
            return nil
        }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(first: first, askedForMore: askedForMore) }
}
