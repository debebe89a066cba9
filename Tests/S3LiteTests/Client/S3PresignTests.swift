import Foundation
import Reactor
import S3Lite
import Testing
import TestSupport

/// Presigned URLs used by curl (no credentials), and their expiry.
@Suite struct S3PresignTests {
    @Test func presignedPutGetHeadDeleteWithCurl() async throws {
        guard let s3 = try S3Test.client() else { return }
        let bucket = try await S3Test.bucket(s3, "p")
        defer { Task { await S3Test.cleanup(s3, bucket) } }
        let key = "shared/a b+c@d=ü.txt"
        let body = "uploaded by curl"
        let path = try S3Test.tempFile(Array(body.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }

        let put = try s3.presignedURL(method: "PUT", bucket: bucket, key: key, expiresIn: 300)
        let (putStatus, putCode) = try S3Test.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT",
                                                   "-H", "Content-Type: application/octet-stream", "--data-binary", "@\(path)", put])
        #expect(putStatus == 0 && putCode == "200")
        #expect(try await s3.getObject(bucket: bucket, key: key) == Array(body.utf8))

        let get = try s3.presignedURL(method: "GET", bucket: bucket, key: key, expiresIn: 300)
        #expect(try S3Test.run(["curl", "-s", "-f", get]).output == body)
        let head = try s3.presignedURL(method: "HEAD", bucket: bucket, key: key, expiresIn: 300)
        #expect(try S3Test.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-I", head]).output == "200")
        // Tampering with the key breaks the signature.
        let tampered = get.replacingOccurrences(of: "a%20b", with: "a%20c")
        #expect(try S3Test.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", tampered]).output == "403")

        let delete = try s3.presignedURL(method: "DELETE", bucket: bucket, key: key, expiresIn: 300)
        #expect(try S3Test.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE", delete]).output == "204")
        await #expect(throws: S3Error.self) { _ = try await s3.headObject(bucket: bucket, key: key) }
    }

    @Test func expiredURLIsRefused() async throws {
        guard let s3 = try S3Test.client() else { return }
        let bucket = try await S3Test.bucket(s3, "e")
        defer { Task { await S3Test.cleanup(s3, bucket) } }
        try await s3.putObject(bucket: bucket, key: "k", bytes: [1, 2, 3])
        // Signed two minutes ago for one minute: expired, though the signature itself is valid.
        let past = SigningDate(secondsSince1970: SigningDate.now().secondsSince1970 - 120)
        let expired = try s3.presignedURL(method: "GET", bucket: bucket, key: "k", expiresIn: 60, date: past)
        let r = try S3Test.run(["curl", "-s", "-w", "\n%{http_code}", expired])
        #expect(r.output.hasSuffix("403"))
        #expect(r.output.contains("AccessDenied"))  // AWS answers AccessDenied "Request has expired"
        let fresh = try s3.presignedURL(method: "GET", bucket: bucket, key: "k", expiresIn: 60, date: past.addingSeconds(90))
        #expect(try S3Test.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", fresh]).output == "200")
        #expect(throws: SigV4Error.invalidExpiry(seconds: 604_801)) {
            try s3.presignedURL(method: "GET", bucket: bucket, key: "k", expiresIn: 604_801)
        }
    }
}

extension SigningDate {
    func addingSeconds(_ s: Int64) -> SigningDate { SigningDate(secondsSince1970: secondsSinceEpochPlus(s)) }
    private func secondsSinceEpochPlus(_ s: Int64) -> Int64 { secondsSince1970 + s }
}
