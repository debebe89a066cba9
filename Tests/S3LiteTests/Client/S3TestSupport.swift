import Foundation
import Reactor
import S3Lite
import TestSupport

/// Clients and buckets for the tests that talk to the real (signature-verifying) S3 server.
enum S3Test {
    /// What a server answers for a multipart upload that no longer exists: AWS and moto say
    /// NoSuchUpload; Ceph RGW 16 answers ListParts with NoSuchKey.
    static let uploadGoneCodes: Set<String> = ["NoSuchUpload", "NoSuchKey"]

    /// A client for the test server, or nil (test skipped locally; failure in CI).
    static func client(endpoint: String? = nil, secret: String? = nil,
                       configure: (inout S3Configuration) -> Void = { _ in }) throws -> S3Client? {
        guard let url = try TestServices.require(TestServices.s3Endpoint, "VIDD_TEST_S3_ENDPOINT"),
              let access = try TestServices.require(TestServices.s3AccessKey, "VIDD_TEST_S3_ACCESS_KEY"),
              let secretKey = try TestServices.require(TestServices.s3SecretKey, "VIDD_TEST_S3_SECRET_KEY")
        else { return nil }
        var config = try S3Configuration(endpoint: endpoint ?? url, region: TestServices.s3Region,
                                         credentials: S3Credentials(accessKeyID: access, secretAccessKey: secret ?? secretKey))
        config.retry = RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(20), maxDelay: .milliseconds(200))
        configure(&config)
        return S3Client(configuration: config)
    }

    /// A fresh bucket for one test.
    static func bucket(_ client: S3Client, _ prefix: String = "t") async throws -> String {
        let name = TestServices.uniqueName("s3lite-\(prefix)-").lowercased()
        try await client.createBucket(name)
        return name
    }

    /// Deletes every object and then the bucket (best effort: tests must not fail in cleanup).
    static func cleanup(_ client: S3Client, _ bucket: String) async {
        if let objects = try? await client.listAllObjects(bucket: bucket), !objects.isEmpty {
            _ = try? await client.deleteObjects(bucket: bucket, keys: objects.map(\.key))
        }
        try? await client.deleteBucket(bucket)
        client.shutdown()
    }

    /// Deterministic pseudo-random bytes (fast, so large payloads do not cost test time).
    static func bytes(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
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

    static func tempFile(_ bytes: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "s3lite-\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Runs a command; returns its exit status and stdout (waited for off the cooperative pool).
    @discardableResult
    static func run(_ args: [String], stdin: Data? = nil) async throws -> (status: Int32, output: String) {
        let r = try await TestProcess.run(args, stdin: stdin)
        return (r.status, r.text)
    }
}
