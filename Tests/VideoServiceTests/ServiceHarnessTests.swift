#if canImport(Glibc)
import Glibc
#endif
import Reactor
import TestSupport
import Testing

// Proof that the services the suite runs against (started by scripts/services.sh, or a user's own
// chosen by the same variables) are there and answer like the real thing, before any protocol
// module is involved: plain blocking sockets and hand-written protocol bytes only.

@Suite("Harness: Redis") struct RedisHarnessTests {
    /// The server from VIDD_TEST_REDIS_URL, or nil (skipped locally, failure in CI).
    private func server() throws -> ServiceURL? {
        guard let text = try TestServices.require(TestServices.redisURL, "VIDD_TEST_REDIS_URL") else { return nil }
        let url = try #require(ServiceURL(text), "VIDD_TEST_REDIS_URL is not a URL: \(text)")
        #expect(url.scheme == "redis")
        return url
    }

    private func command(_ parts: String...) -> String {
        "*\(parts.count)\r\n" + parts.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()
    }

    private func auth(_ url: ServiceURL, password: String) -> String {
        if let user = url.user { return command("AUTH", user, password) }
        return command("AUTH", password)
    }

    private func lines(_ bytes: [UInt8]) -> [String] {
        String(decoding: bytes, as: UTF8.self).split(separator: "\r\n").map(String.init)
    }

    private func count(_ bytes: [UInt8], linesAtLeast n: Int) -> Bool {
        zip(bytes, bytes.dropFirst()).filter { $0 == 13 && $1 == 10 }.count >= n
    }

    @Test func authThenPing() throws {
        guard let url = try server() else { return }
        let password = try #require(url.password, "VIDD_TEST_REDIS_URL has no password; the harness requires one")
        let client = try BlockingTCPClient(host: url.host, port: url.port ?? 6379)
        try client.send(auth(url, password: password) + command("PING"))
        let reply = try client.receive { count($0, linesAtLeast: 2) }
        #expect(lines(reply) == ["+OK", "+PONG"])
    }

    @Test func wrongPasswordIsRefused() throws {
        guard let url = try server() else { return }
        let client = try BlockingTCPClient(host: url.host, port: url.port ?? 6379)
        try client.send(auth(url, password: "not-the-password-\(Crypto.randomBytes(4).map(String.init).joined())"))
        let reply = try client.receive { count($0, linesAtLeast: 1) }
        let line = try #require(lines(reply).first)
        #expect(line.hasPrefix("-WRONGPASS"), "reply: \(line)")
    }

    @Test func commandsNeedAuthentication() throws {
        guard let url = try server() else { return }
        let client = try BlockingTCPClient(host: url.host, port: url.port ?? 6379)
        try client.send(command("PING"))
        let reply = try client.receive { count($0, linesAtLeast: 1) }
        let line = try #require(lines(reply).first)
        #expect(line.hasPrefix("-NOAUTH"), "reply: \(line)")
    }
}

@Suite("Harness: PostgreSQL") struct PostgresHarnessTests {
    /// One backend message: its type byte and payload (length word removed).
    struct Message {
        var type: UInt8
        var payload: [UInt8]

        var int32: Int32 {
            payload.prefix(4).reduce(0) { $0 << 8 | Int32($1) }
        }

        /// NUL-terminated strings after the first `skip` bytes (AuthenticationSASL's mechanism list).
        func cStrings(skip: Int) -> [String] {
            payload.dropFirst(skip).split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        }

        /// ErrorResponse fields by their code byte (`C` SQLSTATE, `M` message…).
        var errorFields: [Character: String] {
            var fields: [Character: String] = [:]
            for field in payload.split(separator: 0) where !field.isEmpty {
                fields[Character(UnicodeScalar(field.first!))] = String(decoding: field.dropFirst(), as: UTF8.self)
            }
            return fields
        }
    }

    private func server() throws -> ServiceURL? {
        guard let text = try TestServices.require(TestServices.postgresURL, "VIDD_TEST_PG_URL") else { return nil }
        let url = try #require(ServiceURL(text), "VIDD_TEST_PG_URL is not a URL: \(text)")
        #expect(url.scheme == "postgres" || url.scheme == "postgresql")
        return url
    }

    private func int32(_ v: Int32) -> [UInt8] {
        [UInt8(truncatingIfNeeded: v >> 24), UInt8(truncatingIfNeeded: v >> 16),
         UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }

    /// Protocol 3.0 StartupMessage.
    private func startup(user: String, database: String) -> [UInt8] {
        var body = int32(196_608)
        for s in ["user", user, "database", database] { body += Array(s.utf8) + [0] }
        body.append(0)
        return int32(Int32(body.count + 4)) + body
    }

    /// Sends a StartupMessage and returns the server's first message.
    private func firstReply(_ url: ServiceURL, user: String) throws -> Message {
        let database = url.path.isEmpty ? "postgres" : String(url.path.dropFirst())
        let client = try BlockingTCPClient(host: url.host, port: url.port ?? 5432)
        try client.send(startup(user: user, database: database))
        let bytes = try client.receive { bytes in
            guard bytes.count >= 5 else { return false }
            let length = bytes[1...4].reduce(0) { $0 << 8 | Int($1) }
            return bytes.count >= 1 + length
        }
        try #require(bytes.count >= 5, "the server closed the connection after \(bytes.count) bytes")
        let length = bytes[1...4].reduce(0) { $0 << 8 | Int($1) }
        return Message(type: bytes[0], payload: Array(bytes[5..<min(bytes.count, 1 + length)]))
    }

    @Test func startupIsAnsweredWithSCRAMChallenge() throws {
        guard let url = try server() else { return }
        let reply = try firstReply(url, user: url.user ?? "postgres")
        #expect(reply.type == UInt8(ascii: "R"), "expected Authentication, got \(Character(UnicodeScalar(reply.type)))")
        #expect(reply.int32 == 10, "expected AuthenticationSASL (10), got \(reply.int32)")
        #expect(reply.cStrings(skip: 4).contains("SCRAM-SHA-256"), "mechanisms: \(reply.cStrings(skip: 4))")
    }

    @Test(.enabled(if: TestServices.env("VIDD_TEST_PG_SSL") == "1", "the server has TLS (VIDD_TEST_PG_SSL=1)"))
    func sslRequestIsAccepted() throws {
        guard let url = try server() else { return }
        let client = try BlockingTCPClient(host: url.host, port: url.port ?? 5432)
        try client.send(int32(8) + int32(80_877_103))
        let reply = try client.receive { !$0.isEmpty }
        #expect(reply == [UInt8(ascii: "S")])
    }

    enum Expected: Sendable, CustomStringConvertible {
        case authentication(Int32)
        case rejected(sqlstate: String)
        var description: String {
            switch self {
            case .authentication(let code): "Authentication code \(code)"
            case .rejected(let state): "ErrorResponse \(state)"
            }
        }
    }

    /// The roles scripts/services.sh creates (scripts/pg-test-roles.sql), one per pg_hba method.
    /// VIDD_TEST_PG_PASSWORD is what says a server has them.
    @Test(arguments: [
        ("trust_user", Expected.authentication(0)),         // AuthenticationOk straight away
        ("password_user", Expected.authentication(3)),      // AuthenticationCleartextPassword
        ("md5_user", Expected.authentication(5)),           // AuthenticationMD5Password
        ("scram_user", Expected.authentication(10)),        // AuthenticationSASL
        ("ssl_user", Expected.rejected(sqlstate: "28000")), // hostnossl … reject: TLS only
    ])
    func eachTestRoleGetsItsMethod(role: String, expected: Expected) throws {
        guard let url = try server(),
              try TestServices.require(TestServices.env("VIDD_TEST_PG_PASSWORD"), "VIDD_TEST_PG_PASSWORD") != nil
        else { return }
        let reply = try firstReply(url, user: role)
        switch expected {
        case .authentication(let code):
            #expect(reply.type == UInt8(ascii: "R"), "\(role): \(reply.errorFields)")
            #expect(reply.int32 == code, "\(role): expected \(expected), got code \(reply.int32)")
        case .rejected(let sqlstate):
            #expect(reply.type == UInt8(ascii: "E"), "\(role) was not rejected")
            #expect(reply.errorFields["C"] == sqlstate, "\(role): \(reply.errorFields)")
        }
    }
}

@Suite("Harness: S3") struct S3HarnessTests {
    struct Response {
        var status: Int
        var body: String
    }

    private func endpoint() throws -> ServiceURL? {
        guard let text = try TestServices.require(TestServices.s3Endpoint, "VIDD_TEST_S3_ENDPOINT") else { return nil }
        let url = try #require(ServiceURL(text), "VIDD_TEST_S3_ENDPOINT is not a URL: \(text)")
        try #require(url.scheme == "http", "the harness check speaks plain HTTP; VIDD_TEST_S3_ENDPOINT is \(text)")
        return url
    }

    private func hostHeader(_ url: ServiceURL) -> String {
        let host = url.host.contains(":") ? "[\(url.host)]" : url.host
        return url.port.map { "\(host):\($0)" } ?? host
    }

    /// `GET /` (ListBuckets) with the given extra headers; reads the whole response.
    private func get(_ url: ServiceURL, headers: [(String, String)]) throws -> Response {
        try send(url, "GET", "/", headers: headers)
    }

    /// One request without a body; reads the whole response.
    private func send(_ url: ServiceURL, _ method: String, _ path: String, headers: [(String, String)]) throws -> Response {
        let client = try BlockingTCPClient(host: url.host, port: url.port ?? 80)
        var request = "\(method) \(path) HTTP/1.1\r\nHost: \(hostHeader(url))\r\nConnection: close\r\n"
        if method == "PUT" { request += "Content-Length: 0\r\n" }
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        try client.send(request + "\r\n")
        let text = String(decoding: try client.receive { _ in false }, as: UTF8.self) // until EOF
        let statusLine = text.prefix { $0 != "\r" }
        let fields = statusLine.split(separator: " ")
        let status = try #require(fields.count >= 2 ? Int(fields[1]) : nil, "no HTTP status line in: \(text.prefix(200))")
        let body = text.firstRange(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return Response(status: status, body: body)
    }

    /// SigV4 headers for `GET /` with an empty body: just enough to tell whether the server holds
    /// these keys. (S3Lite has the real signer; this one stays independent of it on purpose.)
    private func signedHeaders(_ url: ServiceURL, accessKey: String, secretKey: String, region: String) -> [(String, String)] {
        var now = time(nil)
        var utc = tm()
        gmtime_r(&now, &utc)
        var buffer = [CChar](repeating: 0, count: 32)
        let n = strftime(&buffer, buffer.count, "%Y%m%dT%H%M%SZ", &utc)
        let amzDate = String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let day = String(amzDate.prefix(8))
        let emptyHash = Hex.encode(Crypto.sha256([UInt8]()))
        let signed = "host;x-amz-content-sha256;x-amz-date"
        let canonical = ["GET", "/", "", "host:\(hostHeader(url))", "x-amz-content-sha256:\(emptyHash)",
                         "x-amz-date:\(amzDate)", "", signed, emptyHash].joined(separator: "\n")
        let scope = "\(day)/\(region)/s3/aws4_request"
        let toSign = ["AWS4-HMAC-SHA256", amzDate, scope, Hex.encode(Crypto.sha256(Array(canonical.utf8)))]
            .joined(separator: "\n")
        var key = Array("AWS4\(secretKey)".utf8)
        for part in [day, region, "s3", "aws4_request"] { key = Crypto.hmacSHA256(key: key, data: Array(part.utf8)) }
        let signature = Hex.encode(Crypto.hmacSHA256(key: key, data: Array(toSign.utf8)))
        return [
            ("x-amz-content-sha256", emptyHash),
            ("x-amz-date", amzDate),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=\(accessKey)/\(scope), SignedHeaders=\(signed), Signature=\(signature)"),
        ]
    }

    /// An unsigned CreateBucket. (Not an unsigned ListBuckets: Ceph RGW answers that one for an
    /// anonymous user with an empty list, while AWS and moto refuse it.)
    @Test func unsignedRequestIsRejected() throws {
        guard let url = try endpoint() else { return }
        let bucket = TestServices.uniqueName("harness-anon-").lowercased()
        let response = try send(url, "PUT", "/" + bucket, headers: [])
        #expect(response.status == 403, "body: \(response.body.prefix(300))")
        #expect(response.body.contains("AccessDenied"), "body: \(response.body.prefix(300))")
    }

    @Test func signedRequestWithTheTestKeysIsAccepted() throws {
        guard let url = try endpoint(),
              let access = try TestServices.require(TestServices.s3AccessKey, "VIDD_TEST_S3_ACCESS_KEY"),
              let secret = try TestServices.require(TestServices.s3SecretKey, "VIDD_TEST_S3_SECRET_KEY")
        else { return }
        let response = try get(url, headers: signedHeaders(url, accessKey: access, secretKey: secret, region: TestServices.s3Region))
        #expect(response.status == 200, "body: \(response.body.prefix(300))")
        #expect(response.body.contains("ListAllMyBucketsResult"), "body: \(response.body.prefix(300))")
    }

    @Test func wrongSecretIsRejected() throws {
        guard let url = try endpoint(),
              let access = try TestServices.require(TestServices.s3AccessKey, "VIDD_TEST_S3_ACCESS_KEY")
        else { return }
        let response = try get(url, headers: signedHeaders(url, accessKey: access, secretKey: "wrong-secret", region: TestServices.s3Region))
        #expect(response.status == 403, "body: \(response.body.prefix(300))")
        #expect(response.body.contains("SignatureDoesNotMatch"), "body: \(response.body.prefix(300))")
    }
}
