import Foundation
import Reactor
import S3Lite
import Testing
import TestSupport

/// Multipart uploads against the real server, sized small enough for the default suite
/// (12–20 MiB); the 200 MiB + RSS run is `Benchmarks` S3Bench `rss` (see docs/benchmarks.md).
@Suite struct S3MultipartTests {
    static let mib = 1024 * 1024

    /// Parts of 5 MiB, so a dozen MiB makes several parts.
    static func client() throws -> S3Client? {
        try S3Test.client {
            $0.partSize = 5 * mib
            $0.multipartThreshold = 5 * mib
            $0.maxConcurrentParts = 3
        }
    }

    static func sha256Hex(_ s3: S3Client, _ bucket: String, _ key: String) async throws -> String {
        var hasher = Crypto.SHA256()
        try await s3.getObject(bucket: bucket, key: key) { _, chunk in hasher.update(chunk) }
        return Hex.encode(hasher.finalize())
    }

    @Test func fileUploadIsByteExact() async throws {
        guard let s3 = try Self.client() else { return }
        let bucket = try await S3Test.bucket(s3, "mf")
        defer { Task { await S3Test.cleanup(s3, bucket) } }
        let body = S3Test.bytes(12 * Self.mib + 12345, seed: 11)
        let path = try S3Test.tempFile(body)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try await s3.putObject(bucket: bucket, key: "video/source file.mp4", file: path,
                                            attributes: .init(contentType: "video/mp4", metadata: ["id": "42"]))
        #expect(try await Self.sha256Hex(s3, bucket, "video/source file.mp4") == Hex.encode(Crypto.sha256(body)))
        let info = try await s3.headObject(bucket: bucket, key: "video/source file.mp4")
        #expect(info.etag?.hasSuffix("-3\"") == true)  // a multipart ETag: three parts
        // The completion's ETag, when the server gives one (Ceph RGW 16 leaves it empty), is the object's.
        if let etag = result.etag { #expect(etag == info.etag) }
        #expect(info.size == Int64(body.count))
        #expect(info.contentType == "video/mp4")
        #expect(info.metadata["id"] == "42")
    }

    struct Chunks: AsyncSequence, Sendable {
        typealias Element = [UInt8]
        let total: Int
        let chunk: Int
        struct AsyncIterator: AsyncIteratorProtocol {
            let total: Int
            let chunk: Int
            var sent = 0
            mutating func next() async throws -> [UInt8]? {
                guard sent < total else { return nil }
                let n = Swift.min(chunk, total - sent)
                defer { sent += n }
                return S3Test.bytes(n, seed: UInt64(sent + 1))
            }
        }
        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(total: total, chunk: chunk) }
    }

    @Test func streamOfUnknownLengthIsByteExact() async throws {
        guard let s3 = try Self.client() else { return }
        let bucket = try await S3Test.bucket(s3, "ms")
        defer { Task { await S3Test.cleanup(s3, bucket) } }
        let stream = Chunks(total: 13 * Self.mib + 777, chunk: 100_003)  // odd chunks straddle part boundaries
        var expected = Crypto.SHA256()
        for try await c in stream { expected.update(c) }
        let result = try await s3.putObject(bucket: bucket, key: "stream/ü.bin", from: stream)
        #expect(result.size == Int64(13 * Self.mib + 777))
        #expect(try await Self.sha256Hex(s3, bucket, "stream/ü.bin") == Hex.encode(expected.finalize()))
        // A stream shorter than a part goes up as one PutObject.
        let small = Chunks(total: 1000, chunk: 300)
        let r = try await s3.putObject(bucket: bucket, key: "small", from: small)
        #expect(r.etag?.contains("-") == false)
        #expect(try await s3.headObject(bucket: bucket, key: "small").size == 1000)
    }

    @Test func explicitPartsListAndAbort() async throws {
        guard let s3 = try Self.client() else { return }
        let bucket = try await S3Test.bucket(s3, "mp")
        defer { Task { await S3Test.cleanup(s3, bucket) } }
        let id = try await s3.createMultipartUpload(bucket: bucket, key: "k", attributes: .init(contentType: "text/plain"))
        let p1 = try await s3.uploadPart(bucket: bucket, key: "k", uploadID: id, partNumber: 1, bytes: S3Test.bytes(5 * Self.mib, seed: 1))
        let p2 = try await s3.uploadPart(bucket: bucket, key: "k", uploadID: id, partNumber: 2, bytes: Array("tail".utf8))
        let listed = try await s3.listParts(bucket: bucket, key: "k", uploadID: id)
        #expect(listed.map(\.partNumber) == [1, 2])
        #expect(listed.map(\.etag) == [p1.etag, p2.etag])
        #expect(listed.map(\.size) == [Int64(5 * Self.mib), 4])
        try await s3.completeMultipartUpload(bucket: bucket, key: "k", uploadID: id, parts: [p2, p1])
        #expect(try await s3.headObject(bucket: bucket, key: "k").size == Int64(5 * Self.mib + 4))

        let id2 = try await s3.createMultipartUpload(bucket: bucket, key: "aborted")
        _ = try await s3.uploadPart(bucket: bucket, key: "aborted", uploadID: id2, partNumber: 1, bytes: [1, 2, 3])
        try await s3.abortMultipartUpload(bucket: bucket, key: "aborted", uploadID: id2)
        do {
            _ = try await s3.listParts(bucket: bucket, key: "aborted", uploadID: id2)
            Issue.record("parts still listed after abort")
        } catch let e as S3Error {
            #expect(S3Test.uploadGoneCodes.contains(e.code))
        }
    }

    /// Uploads begun and never completed cost storage until aborted: ListMultipartUploads finds
    /// them (every page, optionally under a prefix).
    @Test func uploadsInProgressAreListedUntilCompletedOrAborted() async throws {
        guard let s3 = try Self.client() else { return }
        let bucket = try await S3Test.bucket(s3, "ml")
        defer { Task { await S3Test.cleanup(s3, bucket) } }
        #expect(try await s3.listMultipartUploads(bucket: bucket).isEmpty)
        var started: [(key: String, uploadID: String)] = []
        for key in ["a/one", "a/two & ü", "b/three", "a/one"] {
            started.append((key, try await s3.createMultipartUpload(bucket: bucket, key: key)))
        }
        let all = try await s3.listMultipartUploads(bucket: bucket)
        #expect(Set(all.map { "\($0.key) \($0.uploadID)" }) == Set(started.map { "\($0.key) \($0.uploadID)" }))
        let underA = try await s3.listMultipartUploads(bucket: bucket, prefix: "a/")
        #expect(underA.count == 3 && underA.allSatisfy { $0.key.hasPrefix("a/") })
        for upload in started { try await s3.abortMultipartUpload(bucket: bucket, key: upload.key, uploadID: upload.uploadID) }
        #expect(try await s3.listMultipartUploads(bucket: bucket).isEmpty)
    }
}
