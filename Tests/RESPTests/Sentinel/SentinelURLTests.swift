import Testing
@testable import RESP

/// `redis-sentinel://` URLs: the sentinels, the master's name, and whose credentials are whose.
@Suite struct SentinelURLTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        var url: String
        var sentinels: [String]
        var master: String
        var database = 0
        var username: String?
        var password: String?
        var sentinelUsername: String?
        var sentinelPassword: String?
        var tls = false
        var sentinelTLS = false
        var testDescription: String { url }
    }

    static let valid: [Vector] = [
        Vector(url: "redis-sentinel://s1:26379,s2:26380/mymaster", sentinels: ["s1:26379", "s2:26380"], master: "mymaster"),
        // Default port 26379; a database after the name; the userinfo is the master's.
        Vector(url: "redis-sentinel://:secret@s1,s2:1/cache/3", sentinels: ["s1:26379", "s2:1"], master: "cache", database: 3,
               password: "secret"),
        Vector(url: "redis-sentinel://app:p%40ss@10.0.0.1:26379/mymaster?db=2&sentinel_password=s%26p",
               sentinels: ["10.0.0.1:26379"], master: "mymaster", database: 2, username: "app", password: "p@ss",
               sentinelPassword: "s&p"),
        Vector(url: "redis-sentinel://[::1]:26379,[fe80::1],h:5/m?sentinel_username=watch&sentinel_password=pw",
               sentinels: ["[::1]:26379", "[fe80::1]:26379", "h:5"], master: "m", sentinelUsername: "watch", sentinelPassword: "pw"),
        // TLS to both by default; the sentinels may be told otherwise.
        Vector(url: "rediss-sentinel://:pw@s1:26380/mymaster?ca_file=/ca.pem", sentinels: ["s1:26380"], master: "mymaster",
               password: "pw", tls: true, sentinelTLS: true),
        Vector(url: "rediss-sentinel://s1/mymaster?sentinel_tls=false", sentinels: ["s1:26379"], master: "mymaster", tls: true),
        Vector(url: "redis-sentinel://s1/mymaster?sentinel_tls=true", sentinels: ["s1:26379"], master: "mymaster", sentinelTLS: true),
        // A sentinel listed twice is asked once.
        Vector(url: "redis-sentinel://s1:1,s1:1,s2:1/a%20b", sentinels: ["s1:1", "s2:1"], master: "a b"),
    ]

    @Test(arguments: valid)
    func parses(_ v: Vector) throws {
        let c = try RESPConfiguration(url: v.url)
        let sentinel = try #require(c.sentinel)
        #expect(sentinel.settings.sentinels.map(\.description) == v.sentinels)
        #expect(sentinel.settings.masterName == v.master)
        #expect(c.database == v.database)
        #expect(c.username == v.username && c.password == v.password)
        #expect(sentinel.settings.username == v.sentinelUsername && sentinel.settings.password == v.sentinelPassword)
        #expect(c.useTLS == v.tls)
        #expect((sentinel.settings.tls != nil) == v.sentinelTLS)
        #expect(sentinel.settings.watchFailovers)
        // `endpoint` is only a placeholder: the first sentinel.
        #expect(c.endpoint.description == v.sentinels[0])
    }

    @Test func optionsOfTheSentinels() throws {
        let c = try RESPConfiguration(url: "redis-sentinel://s1/m?sentinel_timeout_ms=250&watch_failovers=false&client_name=w")
        let s = try #require(c.sentinel)
        #expect(s.settings.timeout == .milliseconds(250))
        #expect(!s.settings.watchFailovers)
        #expect(c.clientName == "w")
        // A plain URL has no sentinel, and sentinel parameters are refused there.
        #expect(try RESPConfiguration(url: "redis://h:6379").sentinel == nil)
        #expect(throws: RESPConfigurationError.self) { try RESPConfiguration(url: "redis://h:6379?sentinel_password=x") }
    }

    @Test(arguments: [
        ("redis-sentinel://s1:26379", "names the master"),
        ("redis-sentinel://s1:26379/", "master name is missing"),
        ("redis-sentinel:///mymaster", "empty host"),
        ("redis-sentinel://s1,,s2/m", "empty host"),
        ("redis-sentinel://s1:0/m", "bad port"),
        ("redis-sentinel://s1:x/m", "bad port"),
        ("redis-sentinel://::1:26379/m", "brackets"),
        ("redis-sentinel://[::1/m", "unterminated"),
        ("redis-sentinel://s1/m/x", "database must be a number"),
        ("redis-sentinel://s1/m/1/2", "expected /master-name"),
        ("redis-sentinel://s1/m?sentinel_tls=maybe", "true or false"),
        ("redis-sentinel://s1/m?sentinel_timeout_ms=0", "sentinel_timeout_ms"),
        ("redis-sentinel://s1/m?nope=1", "unknown parameter nope"),
    ])
    func refuses(_ url: String, _ reason: String) {
        let error = #expect(throws: RESPConfigurationError.self) { try RESPConfiguration(url: url) }
        #expect(error?.description.contains(reason) == true, "\(error.map { "\($0)" } ?? "no error") should say \(reason)")
    }

    @Test func errorsNeverShowPasswords() {
        let error = #expect(throws: RESPConfigurationError.self) {
            try RESPConfiguration(url: "redis-sentinel://u:masterpw@s1/m?sentinel_password=sentinelpw&bogus=1")
        }
        let text = error?.description ?? ""
        #expect(!text.contains("masterpw") && !text.contains("sentinelpw"), "\(text)")
        #expect(text.contains("sentinel_password=***"))
    }
}
