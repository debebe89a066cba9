import Reactor
import Testing
@testable import S3Lite

/// AWS's published SigV4 examples for S3 ("Examples: Signature Calculations", "Authenticating
/// Requests: Using Query Parameters", "Transferring Payload in Multiple Chunks"), reproduced
/// byte for byte.
@Suite struct AWSDocumentedExamplesTests {
    static let credentials = S3Credentials(
        accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    static let signer = SigV4Signer(credentials: credentials, region: "us-east-1")
    static let date = SigningDate(year: 2013, month: 5, day: 24)
    static let host = "examplebucket.s3.amazonaws.com"

    static func authorization(_ signed: SignedRequest) -> String? {
        signed.headers.first { $0.name == "authorization" }?.value
    }

    @Test func dateFormatting() {
        #expect(Self.date.timestamp == "20130524T000000Z")
        #expect(Self.date.dateStamp == "20130524")
        #expect(SigningDate(secondsSince1970: 0).timestamp == "19700101T000000Z")
        #expect(SigningDate(secondsSince1970: 951_782_400).timestamp == "20000229T000000Z")
        #expect(SigningDate(year: 2024, month: 12, day: 31, hour: 23, minute: 59, second: 59).timestamp == "20241231T235959Z")
    }

    @Test func getObject() throws {
        let req = SignableRequest(method: "GET", host: Self.host, path: "/test.txt", headers: [("Range", "bytes=0-9")])
        let signed = try Self.signer.sign(req, payload: .empty, date: Self.date)
        #expect(Self.authorization(signed) ==
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(signed.target == "/test.txt")
        #expect(signed.headers.contains { $0.name == "x-amz-content-sha256" && $0.value == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" })
    }

    @Test func putObject() throws {
        let body = Array("Welcome to Amazon S3.".utf8)
        #expect(Hex.encode(Crypto.sha256(body)) == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let req = SignableRequest(method: "PUT", host: Self.host, path: "/test$file.text",
                                  headers: [("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY")])
        let signed = try Self.signer.sign(req, payload: .sha256(Crypto.sha256(body)), date: Self.date)
        #expect(Self.authorization(signed) ==
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
        #expect(signed.target == "/test%24file.text")
    }

    @Test func getBucketLifecycle() throws {
        let req = SignableRequest(method: "GET", host: Self.host, path: "/", query: [QueryItem("lifecycle")])
        let signed = try Self.signer.sign(req, payload: .empty, date: Self.date)
        #expect(Self.authorization(signed) ==
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
        #expect(signed.target == "/?lifecycle=")
    }

    @Test func listObjects() throws {
        // Given out of order: the canonical query sorts them.
        let req = SignableRequest(method: "GET", host: Self.host, path: "/",
                                  query: [QueryItem("prefix", "J"), QueryItem("max-keys", "2")])
        let signed = try Self.signer.sign(req, payload: .empty, date: Self.date)
        #expect(Self.authorization(signed) ==
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
        #expect(signed.target == "/?max-keys=2&prefix=J")
    }

    @Test func presignedGetObject() throws {
        let req = SignableRequest(method: "GET", host: Self.host, path: "/test.txt")
        let target = try Self.signer.presign(req, expiresInSeconds: 86400, date: Self.date)
        #expect(target == "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    }

    @Test(arguments: [0, -1, 604_801])
    func presignRejectsExpiryOutsideSevenDays(seconds: Int) {
        let req = SignableRequest(method: "GET", host: Self.host, path: "/test.txt")
        #expect(throws: SigV4Error.invalidExpiry(seconds: seconds)) {
            try Self.signer.presign(req, expiresInSeconds: seconds, date: Self.date)
        }
    }

    @Test func awsChunkedPutObject() throws {
        let payloadLength = 66560
        let chunkSize = 65536
        #expect(AWSChunkedSigner.encodedLength(payloadLength: payloadLength, chunkSize: chunkSize) == 66824)
        let req = SignableRequest(
            method: "PUT", host: "s3.amazonaws.com", path: "/examplebucket/chunkObject.txt",
            headers: [("x-amz-storage-class", "REDUCED_REDUNDANCY"), ("Content-Encoding", "aws-chunked"),
                      ("x-amz-decoded-content-length", "66560"), ("Content-Length", "66824")])
        let signed = try Self.signer.sign(req, payload: .streaming, date: Self.date)
        #expect(Self.authorization(signed) ==
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class, Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
        var chunks = Self.signer.chunkSigner(for: signed)
        let first = [UInt8](repeating: UInt8(ascii: "a"), count: 65536)
        let header = chunks.chunkHeader(for: first)
        #expect(String(decoding: header, as: UTF8.self) ==
            "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n")
        #expect(chunks.signChunk([UInt8](repeating: UInt8(ascii: "a"), count: 1024)) ==
            "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497")
        #expect(chunks.signChunk([UInt8]()) == "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9")
    }

    @Test func sessionTokenIsSignedAndSent() throws {
        var creds = Self.credentials
        creds.sessionToken = "token/with+special=="
        let signer = SigV4Signer(credentials: creds, region: "us-east-1")
        let req = SignableRequest(method: "GET", host: Self.host, path: "/test.txt")
        let signed = try signer.sign(req, payload: .unsigned, date: Self.date)
        #expect(signed.headers.contains { $0.name == "x-amz-security-token" && $0.value == "token/with+special==" })
        #expect(Self.authorization(signed)!.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"))
        let url = try signer.presign(req, expiresInSeconds: 60, date: Self.date)
        #expect(url.contains("X-Amz-Security-Token=token%2Fwith%2Bspecial%3D%3D"))
    }

    @Test func hostHeaderOmitsDefaultPorts() {
        #expect(SignableRequest.hostHeader(host: "Example.COM", port: 443, secure: true) == "example.com")
        #expect(SignableRequest.hostHeader(host: "example.com", port: 80, secure: false) == "example.com")
        #expect(SignableRequest.hostHeader(host: "example.com", port: 80, secure: true) == "example.com:80")
        #expect(SignableRequest.hostHeader(host: "127.0.0.1", port: 9000, secure: false) == "127.0.0.1:9000")
        #expect(SignableRequest.hostHeader(host: "::1", port: 9000, secure: false) == "[::1]:9000")
    }

    @Test func pathSegmentsAreEncodedOnce() {
        #expect(URIEncoding.encodePath("/b/a@b/c d/+=!*()':,%~-_.") == "/b/a%40b/c%20d/%2B%3D%21%2A%28%29%27%3A%2C%25~-_.")
        #expect(URIEncoding.encodePath("/b/日本") == "/b/%E6%97%A5%E6%9C%AC")
        #expect(URIEncoding.encodePath("/b//x/./../") == "/b//x/./../")
        #expect(URIEncoding.decode("%E6%97%A5+%2B") == "日++")
        #expect(URIEncoding.decode("%E") == nil)
    }

    @Test func trimAllCollapsesWhitespace() {
        #expect(SigV4Signer.trimAll("  a   b \t c  ") == "a b c")
        #expect(SigV4Signer.trimAll("") == "")
        #expect(SigV4Signer.trimAll("   ") == "")
    }
}
