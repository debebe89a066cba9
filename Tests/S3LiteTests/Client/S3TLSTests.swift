import Foundation
import Reactor
import S3Lite
import Testing
import TestSupport

/// The client over TLS (certificate and hostname verified against the test CA), through a
/// TLS-terminating loopback proxy in front of the test server. The signed Host header is the
/// TLS endpoint's, which the server verifies as sent.
@Suite struct S3TLSTests {
    @Test func operationsOverVerifiedTLS() async throws {
        guard let upstream = try TestServices.require(TestServices.s3Endpoint, "VIDD_TEST_S3_ENDPOINT"),
              let ca = try TestServices.require(TestServices.caFile, "VIDD_TEST_CA_FILE"),
              let cert = try TestServices.require(TestServices.serverCertFile, "VIDD_TEST_SERVER_CERT"),
              let key = try TestServices.require(TestServices.serverKeyFile, "VIDD_TEST_SERVER_KEY")
        else { return }
        let proxy = try await FaultProxy.start(upstream: upstream, tls: .server(certificateFile: cert, keyFile: key)) { _, _, _ in .pass }
        defer { proxy.stop() }
        guard let s3 = try S3Test.client(endpoint: "https://localhost:\(proxy.listener.port)", configure: {
            $0.tls = .client(caFile: ca, verification: .full)
            $0.partSize = 5 * 1024 * 1024
            $0.multipartThreshold = 5 * 1024 * 1024
        }) else { return }
        let bucket = try await S3Test.bucket(s3, "tls")
        defer { Task { await S3Test.cleanup(s3, bucket) } }
        let small = S3Test.bytes(100_000, seed: 21)
        try await s3.putObject(bucket: bucket, key: "a b/ü@1", bytes: small)
        #expect(try await s3.getObject(bucket: bucket, key: "a b/ü@1") == small)
        let big = S3Test.bytes(6 * 1024 * 1024 + 3, seed: 22)
        let path = try S3Test.tempFile(big)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await s3.putObject(bucket: bucket, key: "big", file: path)  // multipart, aws-chunked parts over TLS
        #expect(try await S3MultipartTests.sha256Hex(s3, bucket, "big") == Hex.encode(Crypto.sha256(big)))

        // Without the test CA (system bundle only) the certificate is refused: a TLS error, not retried.
        guard let untrusted = try S3Test.client(endpoint: "https://localhost:\(proxy.listener.port)", configure: {
            $0.tls = .client(verification: .full)
        }) else { return }
        defer { untrusted.shutdown() }
        do {
            try await untrusted.headBucket(bucket)
            Issue.record("a certificate from an untrusted CA was accepted")
        } catch let e as NetworkError {
            guard case .tls = e else { Issue.record("expected a TLS error, got \(e)"); return }
        }
    }
}
