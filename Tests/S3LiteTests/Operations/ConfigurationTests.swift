import Testing
@testable import S3Lite

@Suite struct ConfigurationTests {
    static let creds = S3Credentials(accessKeyID: "a", secretAccessKey: "s")

    @Test func endpointsParse() throws {
        let minio = try S3Configuration(endpoint: "http://127.0.0.1:9000/", credentials: Self.creds)
        #expect(minio.secure == false && minio.host == "127.0.0.1" && minio.port == 9000)
        #expect(minio.location(bucket: "b") == ("127.0.0.1", "/b"))
        let v6 = try S3Configuration(endpoint: "https://[::1]:8443", credentials: Self.creds)
        #expect(v6.host == "::1" && v6.port == 8443 && v6.secure)
        let aws = S3Configuration.aws(region: "eu-west-1", credentials: Self.creds)
        #expect(aws.host == "s3.eu-west-1.amazonaws.com" && aws.port == 443)
        #expect(aws.location(bucket: "media") == ("media.s3.eu-west-1.amazonaws.com", ""))
        // Dotted buckets cannot use virtual hosts over TLS (the wildcard certificate does not match).
        #expect(aws.location(bucket: "my.media") == ("s3.eu-west-1.amazonaws.com", "/my.media"))
        #expect(aws.location(bucket: nil) == ("s3.eu-west-1.amazonaws.com", ""))
    }

    @Test(arguments: ["ftp://x", "http://", "http://h/path", "http://h:0", "http://h:99999", "http://u@h"])
    func badEndpointsAreRejected(_ endpoint: String) {
        #expect(throws: S3ClientError.self) { try S3Configuration(endpoint: endpoint, credentials: Self.creds) }
    }

    @Test func credentialsDoNotPrintSecrets() {
        let c = S3Credentials(accessKeyID: "AKID", secretAccessKey: "SECRET", sessionToken: "TOKEN")
        #expect(!c.description.contains("SECRET") && !c.description.contains("TOKEN"))
    }
}
