import Foundation
import Reactor
@testable import S3Lite
import Synchronization
import Testing
import TestSupport

/// Keys and bucket names S3Lite refuses before anything is signed or sent. An empty key is the
/// dangerous one: `/bucket/` addresses the bucket itself, so GET returned the bucket listing as
/// the object's bytes, HEAD reported a 0-byte object, PUT created the bucket and DELETE deleted it.
@Suite struct ObjectKeyValidationTests {
    enum Verdict: Sendable, Equatable { case valid, invalidKey, invalidBucket }

    @Test(arguments: [
        ("b", "a", Verdict.valid),
        ("b", "", .invalidKey),
        ("b", String(repeating: "k", count: 1024), .valid),
        ("b", String(repeating: "k", count: 1025), .invalidKey),
        ("b", String(repeating: "€", count: 341), .valid),         // 1023 bytes of UTF-8
        ("b", String(repeating: "€", count: 342), .invalidKey),    // 342 characters, 1026 bytes
        ("b", String(repeating: "🎬", count: 256), .valid),        // 1024 bytes
        ("b", "/", .valid),                                          // odd but a real key
        ("b", " ", .valid),
        ("", "a", .invalidBucket),
        ("a/b", "c", .invalidBucket),
    ])
    func requestVectors(_ bucket: String, _ key: String, _ verdict: Verdict) {
        let request = S3Request(operation: "GetObject", method: "GET", bucket: bucket, key: key)
        do {
            try request.validate()
            #expect(verdict == .valid)
        } catch .invalidKey(let operation, let shown, let reason) {
            #expect(verdict == .invalidKey)
            #expect(operation == "GetObject")
            #expect(shown.utf8.count <= 1024)
            #expect(!reason.isEmpty)
        } catch .invalidBucketName(let operation, let shown, _) {
            #expect(verdict == .invalidBucket)
            #expect(operation == "GetObject")
            #expect(shown == bucket)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    /// A key carried elsewhere than in the path — the copy source, DeleteObjects' body — is held to
    /// the same rules by the same check.
    @Test func keysOutsideThePathAreCheckedToo() {
        var copy = S3Request(operation: "CopyObject", method: "PUT", bucket: "b", key: "dest")
        copy.copySource = (bucket: "src", key: "")
        #expect(throws: S3ClientError.self) { try copy.validate() }
        copy.copySource = (bucket: "", key: "k")
        #expect(throws: S3ClientError.self) { try copy.validate() }
        var delete = S3Request(operation: "DeleteObjects", method: "POST", bucket: "b")
        delete.keysInBody = ["ok", ""]
        #expect(throws: S3ClientError.self) { try delete.validate() }
        delete.keysInBody = ["ok", "also ok"]
        #expect(throws: Never.self) { try delete.validate() }
    }

    /// Every API that takes a key refuses an empty (or too long) one with a typed error, and no
    /// connection is even opened: the listener below never accepts anything.
    @Test func everyOperationRefusesABadKeyBeforeConnecting() async throws {
        let listener = try await Listener.bind(host: "127.0.0.1", port: 0)
        defer { listener.close() }
        let accepted = Atomic<Int>(0)
        let acceptor = Task(executorPreference: EventLoop.shared) {
            while let c = try? await listener.accept() {
                accepted.add(1, ordering: .relaxed)
                c.close()
            }
        }
        defer { acceptor.cancel() }
        var config = try S3Configuration(endpoint: "http://127.0.0.1:\(listener.port)",
                                         credentials: S3Credentials(accessKeyID: "a", secretAccessKey: "s"))
        config.retry = .none
        let s3 = S3Client(configuration: config)
        defer { s3.shutdown() }
        let file = try S3Test.tempFile([1, 2, 3])
        defer { try? FileManager.default.removeItem(atPath: file) }
        let part = CompletedPart(partNumber: 1, etag: "\"e\"")

        for key in ["", String(repeating: "x", count: 1025)] {
            let operations: [(String, () async throws -> Void)] = [
                ("getObject bytes", { _ = try await s3.getObject(bucket: "b", key: key) }),
                ("getObject streamed", { _ = try await s3.getObject(bucket: "b", key: key) { _, _ in } }),
                ("getObject to file", { _ = try await s3.getObject(bucket: "b", key: key, toFile: file + ".out") }),
                ("headObject", { _ = try await s3.headObject(bucket: "b", key: key) }),
                ("putObject bytes", { _ = try await s3.putObject(bucket: "b", key: key, bytes: [1]) }),
                ("putObject file", { _ = try await s3.putObject(bucket: "b", key: key, file: file) }),
                ("putObject stream", {
                    let stream = AsyncStream<[UInt8]> { c in c.yield([1, 2]); c.finish() }
                    _ = try await s3.putObject(bucket: "b", key: key, from: stream)
                }),
                ("deleteObject", { try await s3.deleteObject(bucket: "b", key: key) }),
                ("deleteObjects", { _ = try await s3.deleteObjects(bucket: "b", keys: ["fine", key]) }),
                ("copyObject to", { _ = try await s3.copyObject(sourceBucket: "b", sourceKey: "fine", bucket: "b", key: key) }),
                ("copyObject from", { _ = try await s3.copyObject(sourceBucket: "b", sourceKey: key, bucket: "b", key: "fine") }),
                ("createMultipartUpload", { _ = try await s3.createMultipartUpload(bucket: "b", key: key) }),
                ("uploadPart", { _ = try await s3.uploadPart(bucket: "b", key: key, uploadID: "u", partNumber: 1, bytes: [1]) }),
                ("completeMultipartUpload", { _ = try await s3.completeMultipartUpload(bucket: "b", key: key, uploadID: "u", parts: [part]) }),
                ("abortMultipartUpload", { try await s3.abortMultipartUpload(bucket: "b", key: key, uploadID: "u") }),
                ("listParts", { _ = try await s3.listParts(bucket: "b", key: key, uploadID: "u") }),
                ("presignedURL", { _ = try s3.presignedURL(method: "GET", bucket: "b", key: key, expiresIn: 60) }),
            ]
            for (name, operation) in operations {
                do {
                    try await operation()
                    Issue.record("\(name) accepted a key of \(key.utf8.count) bytes")
                } catch S3ClientError.invalidKey {
                    // expected
                } catch {
                    Issue.record("\(name): \(error) instead of invalidKey")
                }
            }
        }
        // Bucket operations with no bucket name would address the whole service.
        await #expect(throws: S3ClientError.self) { try await s3.deleteBucket("") }
        await #expect(throws: S3ClientError.self) { try await s3.headBucket("") }
        await #expect(throws: S3ClientError.self) { try await s3.createBucket("") }
        #expect(accepted.load(ordering: .relaxed) == 0)
    }

    /// Against the real server: a DELETE of the empty key once deleted the (empty) bucket, a GET
    /// returned its listing, a PUT was a CreateBucket. Now none of them leaves the client.
    @Test func anEmptyKeyNeverTouchesTheBucketOnTheServer() async throws {
        guard let s3 = try S3Test.client() else { return }
        let bucket = try await S3Test.bucket(s3, "ek")
        defer { Task { await S3Test.cleanup(s3, bucket) } }
        await #expect(throws: S3ClientError.self) { try await s3.deleteObject(bucket: bucket, key: "") }
        #expect(try await s3.bucketExists(bucket))
        await #expect(throws: S3ClientError.self) { _ = try await s3.getObject(bucket: bucket, key: "") }
        await #expect(throws: S3ClientError.self) { _ = try await s3.headObject(bucket: bucket, key: "") }
        await #expect(throws: S3ClientError.self) { _ = try await s3.putObject(bucket: bucket, key: "", bytes: [1]) }
        #expect(try await s3.listAllObjects(bucket: bucket).isEmpty)
        // A real object next to it is untouched by an empty-key delete.
        try await s3.putObject(bucket: bucket, key: "kept", bytes: [7])
        await #expect(throws: S3ClientError.self) { try await s3.deleteObject(bucket: bucket, key: "") }
        #expect(try await s3.getObject(bucket: bucket, key: "kept") == [7])
    }
}
