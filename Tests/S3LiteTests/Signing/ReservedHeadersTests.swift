import Testing
@testable import S3Lite

/// Found by SigV4Fuzz (Fuzz/Seeds/SigV4Fuzz/regression-caller-authorization-header): a request
/// given with its own `authorization` header was signed and came out with two, the caller's first;
/// the same held for host, x-amz-date, x-amz-content-sha256 and x-amz-security-token, whose two
/// values were even signed joined as one. The signer's own headers are now refused, in any case.
@Suite struct ReservedHeadersTests {
    static let signer = SigV4Signer(credentials: S3Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret"),
                                    region: "us-east-1")
    static let date = SigningDate(year: 2013, month: 5, day: 24)

    @Test(arguments: ["authorization", "Authorization", "HOST", "x-amz-date", "X-Amz-Content-SHA256", "x-amz-security-token"])
    func refusedWhenSigningAndPresigning(name: String) {
        let request = SignableRequest(method: "GET", host: "bucket.s3.amazonaws.com", path: "/key",
                                      headers: [("Range", "bytes=0-9"), (name, "")])
        #expect(throws: SigV4Error.reservedHeader(name)) { try Self.signer.sign(request, payload: .empty, date: Self.date) }
        #expect(throws: SigV4Error.reservedHeader(name)) { try Self.signer.presign(request, expiresInSeconds: 60, date: Self.date) }
        #expect(SigV4Error.reservedHeader(name).description.contains(name))
    }

    @Test func signedRequestCarriesEachOfTheSignersHeadersOnce() throws {
        let request = SignableRequest(method: "GET", host: "bucket.s3.amazonaws.com", path: "/key",
                                      headers: [("x-amz-meta-date", "1"), ("Range", "bytes=0-9")])
        let signed = try Self.signer.sign(request, payload: .empty, date: Self.date)
        for name in SigV4Signer.reservedHeaderNames.subtracting(["x-amz-security-token"]) {
            #expect(signed.headers.filter { $0.name.lowercased() == name }.count == 1, "\(name)")
        }
    }
}
