import Foundation
import Reactor
import S3Lite
import Testing
import TestSupport

/// Uploads through a proxy that answers 503 SlowDown to or resets a share of the connections
/// complete through retries; when parts can never succeed, the multipart upload is aborted.
@Suite struct S3FaultTests {
    static let mib = 1024 * 1024

    static func faultyClient(_ proxy: FaultProxy, attempts: Int) throws -> S3Client? {
        try S3Test.client(endpoint: proxy.endpoint) {
            $0.maxIdleConnectionsPerHost = 0  // a new connection, so a new fault decision, per request
            $0.retry = RetryPolicy(maxAttempts: attempts, baseDelay: .milliseconds(10), maxDelay: .milliseconds(100))
            $0.partSize = 5 * mib
            $0.multipartThreshold = 5 * mib
            $0.maxConcurrentParts = 3
        }
    }

    @Test func uploadsCompleteThroughRetries() async throws {
        guard let direct = try S3Test.client(), let upstream = TestServices.s3Endpoint else { return }
        let bucket = try await S3Test.bucket(direct, "f")
        defer { Task { await S3Test.cleanup(direct, bucket) } }
        // Two connections in five fail: one answered 503 SlowDown, one reset.
        let proxy = try await FaultProxy.start(upstream: upstream) { i, _, _ in
            switch i % 5 { case 1: return .slowDown; case 3: return .drop; default: return .pass }
        }
        defer { proxy.stop() }
        guard let s3 = try Self.faultyClient(proxy, attempts: 10) else { return }
        defer { s3.shutdown() }

        let stream = S3MultipartTests.Chunks(total: 12 * Self.mib + 5, chunk: 256 * 1024)
        var expected = Crypto.SHA256()
        for try await c in stream { expected.update(c) }
        try await s3.putObject(bucket: bucket, key: "through/faults.bin", from: stream)
        let fileBody = S3Test.bytes(11 * Self.mib, seed: 5)
        let path = try S3Test.tempFile(fileBody)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await s3.putObject(bucket: bucket, key: "through/file.bin", file: path)
        for i in 0..<6 { try await s3.putObject(bucket: bucket, key: "small/\(i)", bytes: S3Test.bytes(1000 + i, seed: UInt64(i))) }

        #expect(try await S3MultipartTests.sha256Hex(direct, bucket, "through/faults.bin") == Hex.encode(expected.finalize()))
        #expect(try await S3MultipartTests.sha256Hex(direct, bucket, "through/file.bin") == Hex.encode(Crypto.sha256(fileBody)))
        for i in 0..<6 { #expect(try await s3.getObject(bucket: bucket, key: "small/\(i)") == S3Test.bytes(1000 + i, seed: UInt64(i))) }
        #expect(proxy.count(.slowDown) > 0)
        #expect(proxy.count(.drop) > 0)
    }

    @Test func finalFailureAbortsTheMultipartUpload() async throws {
        guard let direct = try S3Test.client(), let upstream = TestServices.s3Endpoint else { return }
        let bucket = try await S3Test.bucket(direct, "x")
        defer { Task { await S3Test.cleanup(direct, bucket) } }
        // Every part upload fails; everything else (create, abort) passes.
        let proxy = try await FaultProxy.start(upstream: upstream) { _, method, target in
            method == "PUT" && target.contains("partNumber=") ? .slowDown : .pass
        }
        defer { proxy.stop() }
        guard let s3 = try Self.faultyClient(proxy, attempts: 3) else { return }
        defer { s3.shutdown() }
        let body = S3Test.bytes(11 * Self.mib, seed: 9)
        let path = try S3Test.tempFile(body)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            try await s3.putObject(bucket: bucket, key: "doomed.bin", file: path)
            Issue.record("upload succeeded although every part was refused")
        } catch S3ClientError.multipartUploadFailed(let b, let k, let uploadID, let underlying, let aborted) {
            #expect(b == bucket && k == "doomed.bin")
            #expect(aborted)
            #expect((underlying as? S3Error)?.code == "SlowDown")
            #expect(proxy.count(.slowDown) >= 3)  // the part was tried maxAttempts times
            do {
                _ = try await direct.listParts(bucket: bucket, key: "doomed.bin", uploadID: uploadID)
                Issue.record("the failed upload was not aborted")
            } catch let e as S3Error {
                #expect(S3Test.uploadGoneCodes.contains(e.code))
            }
        }
        #expect(try await direct.listAllObjects(bucket: bucket).isEmpty)
    }
}
