import Foundation
import Reactor
import S3Lite
import Testing
import TestSupport

/// Every bucket and object operation against the SigV4-verifying S3 test server.
@Suite struct S3BucketAndObjectTests {
    @Test func bucketLifecycle() async throws {
        guard let s3 = try S3Test.client() else { return }
        defer { s3.shutdown() }
        let bucket = TestServices.uniqueName("s3lite-b-").lowercased()
        #expect(try await s3.bucketExists(bucket) == false)
        try await s3.createBucket(bucket)
        try await s3.headBucket(bucket)
        #expect(try await s3.bucketExists(bucket))
        try await s3.deleteBucket(bucket)
        await #expect(throws: S3Error.self) { try await s3.headBucket(bucket) }
        do {
            try await s3.deleteBucket(bucket)
            Issue.record("deleting a missing bucket succeeded")
        } catch let e as S3Error {
            #expect(e.code == "NoSuchBucket")
            #expect(e.status == 404)
        }
    }

    static let oddKeys = [
        "plain.txt", "a+b=c!d*e(f)g'h:i,j@k%l", "with space and  two", "日本語/ファイル.mp4", "emoji 🎬.bin",
        "deep/a/b/c/d/e/f/g/h/i/j/k/file", "trailing-slash/", "percent%2Fencoded", "tilde~and-dash_dot.",
        "semi;colon&amp?q#frag", "dollar$[brackets]{braces}", "x/../y/./z", "caret^pipe|back`tick",
    ]

    @Test(arguments: oddKeys)
    func oddKeysRoundTrip(_ key: String) async throws {
        guard let s3 = try S3Test.client() else { return }
        let bucket = try await S3Test.bucket(s3, "k")
        defer { Task { await S3Test.cleanup(s3, bucket) } }
        let body = Array("content of \(key)".utf8)
        let attrs = ObjectAttributes(contentType: "text/plain; charset=utf-8", cacheControl: "max-age=60",
                                     contentDisposition: "inline", metadata: ["Origin": "vidd test", "n": "1"])
        let put = try await s3.putObject(bucket: bucket, key: key, bytes: body, attributes: attrs)
        #expect(put.etag == "\"\(Hex.encode(Crypto.md5(body)))\"")
        let info = try await s3.headObject(bucket: bucket, key: key)
        #expect(info.size == Int64(body.count))
        #expect(info.contentType == "text/plain; charset=utf-8")
        #expect(info.cacheControl == "max-age=60")
        #expect(info.metadata["origin"] == "vidd test")
        #expect(try await s3.getObject(bucket: bucket, key: key) == body)
        let listed = try await s3.listAllObjects(bucket: bucket)
        #expect(listed.map(\.key) == [key])
        try await s3.deleteObject(bucket: bucket, key: key)
        await #expect(throws: S3Error.self) { _ = try await s3.headObject(bucket: bucket, key: key) }
    }

    @Test func getVariants() async throws {
        guard let s3 = try S3Test.client() else { return }
        let bucket = try await S3Test.bucket(s3, "g")
        defer { Task { await S3Test.cleanup(s3, bucket) } }
        let body = S3Test.bytes(300_000, seed: 7)
        try await s3.putObject(bucket: bucket, key: "obj", bytes: body)
        #expect(try await s3.getObject(bucket: bucket, key: "obj", range: .bounded(10, 19)) == Array(body[10...19]))
        #expect(try await s3.getObject(bucket: bucket, key: "obj", range: .from(299_990)) == Array(body[299_990...]))
        #expect(try await s3.getObject(bucket: bucket, key: "obj", range: .suffix(5)) == Array(body.suffix(5)))
        var streamed = [UInt8]()
        var chunks = 0
        let info = try await s3.getObject(bucket: bucket, key: "obj") { _, chunk in
            streamed += chunk
            chunks += 1
        }
        #expect(streamed == body)
        #expect(info.size == 300_000)
        #expect(chunks >= 1)
        let path = NSTemporaryDirectory() + "s3lite-get-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await s3.getObject(bucket: bucket, key: "obj", toFile: path)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: path))) == body)
        do {
            _ = try await s3.getObject(bucket: bucket, key: "missing")
            Issue.record("GET of a missing key succeeded")
        } catch let e as S3Error {
            #expect(e.code == "NoSuchKey")
            #expect(e.operation == "GetObject")
        }
    }

    @Test func copyAndBatchDelete() async throws {
        guard let s3 = try S3Test.client() else { return }
        let bucket = try await S3Test.bucket(s3, "c")
        defer { Task { await S3Test.cleanup(s3, bucket) } }
        let body = Array("copy me".utf8)
        try await s3.putObject(bucket: bucket, key: "src/a@b c", bytes: body, attributes: .init(contentType: "text/x-src"))
        let etag = try await s3.copyObject(sourceBucket: bucket, sourceKey: "src/a@b c", bucket: bucket, key: "dst/ü+1")
        #expect(etag != nil)
        #expect(try await s3.getObject(bucket: bucket, key: "dst/ü+1") == body)
        #expect(try await s3.headObject(bucket: bucket, key: "dst/ü+1").contentType == "text/x-src")
        try await s3.copyObject(sourceBucket: bucket, sourceKey: "src/a@b c", bucket: bucket, key: "dst/2",
                                attributes: .init(contentType: "text/x-new"))
        #expect(try await s3.headObject(bucket: bucket, key: "dst/2").contentType == "text/x-new")
        let result = try await s3.deleteObjects(bucket: bucket, keys: ["src/a@b c", "dst/ü+1", "dst/2"])
        #expect(Set(result.deleted) == ["src/a@b c", "dst/ü+1", "dst/2"])
        #expect(result.errors.isEmpty)
        #expect(try await s3.listAllObjects(bucket: bucket).isEmpty)
    }

    @Test func listObjectsV2Pages() async throws {
        guard let s3 = try S3Test.client() else { return }
        let bucket = try await S3Test.bucket(s3, "l")
        defer { Task { await S3Test.cleanup(s3, bucket) } }
        let keys = ["a/1", "a/2", "a/3", "b/1", "c", "d e", "f+g"]
        for k in keys { try await s3.putObject(bucket: bucket, key: k, bytes: Array(k.utf8)) }
        var pages = 0
        var seen: [String] = []
        for try await page in s3.listObjectsV2(bucket: bucket, maxKeys: 2) {
            pages += 1
            #expect(page.objects.count <= 2)
            seen += page.objects.map(\.key)
        }
        #expect(pages == 4)
        #expect(seen == keys.sorted())
        var prefixes: [String] = []
        var top: [String] = []
        for try await page in s3.listObjectsV2(bucket: bucket, delimiter: "/") {
            prefixes += page.commonPrefixes
            top += page.objects.map(\.key)
        }
        #expect(prefixes == ["a/", "b/"])
        #expect(top == ["c", "d e", "f+g"])
        #expect(try await s3.listAllObjects(bucket: bucket, prefix: "a/").map(\.size) == [3, 3, 3])
    }

    @Test func wrongSecretIsSignatureDoesNotMatch() async throws {
        guard let s3 = try S3Test.client(secret: "not-the-secret") else { return }
        defer { s3.shutdown() }
        do {
            try await s3.createBucket(TestServices.uniqueName("s3lite-w-").lowercased())
            Issue.record("a request signed with a wrong secret was accepted")
        } catch let e as S3Error {
            #expect(e.code == "SignatureDoesNotMatch")
            #expect(e.status == 403)
            #expect(e.operation == "CreateBucket")
        }
    }

    @Test func awsChunkedFileUploadIsAccepted() async throws {
        // With `.streaming`, a file below the multipart threshold goes up as one aws-chunked
        // request: the server verifies every chunk signature (several chunks of 64 KiB plus a
        // short last one).
        guard let s3 = try S3Test.client(configure: {
            $0.streamingChunkSize = 64 * 1024
            $0.payloadSigning = .streaming
        }) else { return }
        let bucket = try await S3Test.bucket(s3, "a")
        defer { Task { await S3Test.cleanup(s3, bucket) } }
        let body = S3Test.bytes(3 * 64 * 1024 + 1234, seed: 3)
        let path = try S3Test.tempFile(body)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await s3.putObject(bucket: bucket, key: "chunked/file.bin", file: path, attributes: .init(contentType: "video/mp4"))
        #expect(try await s3.getObject(bucket: bucket, key: "chunked/file.bin") == body)
        #expect(try await s3.headObject(bucket: bucket, key: "chunked/file.bin").contentType == "video/mp4")
        // An empty file goes up with the empty body's hash: there is nothing to sign in chunks.
        let empty = try S3Test.tempFile([])
        defer { try? FileManager.default.removeItem(atPath: empty) }
        try await s3.putObject(bucket: bucket, key: "empty", file: empty)
        #expect(try await s3.headObject(bucket: bucket, key: "empty").size == 0)
    }

    @Test func keepAliveConnectionsAreReused() async throws {
        guard let s3 = try S3Test.client() else { return }
        let bucket = try await S3Test.bucket(s3, "r")
        defer { Task { await S3Test.cleanup(s3, bucket) } }
        for i in 0..<20 { try await s3.putObject(bucket: bucket, key: "k\(i)", bytes: [UInt8(i)]) }
        for i in 0..<20 { #expect(try await s3.getObject(bucket: bucket, key: "k\(i)") == [UInt8(i)]) }
    }
}
