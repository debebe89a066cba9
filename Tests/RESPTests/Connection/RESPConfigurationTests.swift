import Testing
@testable import RESP

@Suite struct RESPConfigurationTests {
    @Test func fullTCPURL() throws {
        let c = try RESPConfiguration(url: "redis://alice:p%40ss:w@redis.example:6380/3?client_name=vidd-worker")
        #expect(c.endpoint == .tcp(host: "redis.example", port: 6380))
        #expect(c.username == "alice")
        #expect(c.password == "p@ss:w")
        #expect(c.database == 3)
        #expect(c.clientName == "vidd-worker")
        #expect(!c.useTLS)
    }

    @Test func passwordOnlyAndDefaults() throws {
        let c = try RESPConfiguration(url: "redis://:secret@127.0.0.1")
        #expect(c.endpoint == .tcp(host: "127.0.0.1", port: 6379))
        #expect(c.username == nil)
        #expect(c.password == "secret")
        #expect(c.database == 0)

        let lone = try RESPConfiguration(url: "redis://secret@localhost:7000")
        #expect(lone.password == "secret")
        #expect(lone.username == nil)

        let bare = try RESPConfiguration(url: "redis://")
        #expect(bare.endpoint == .tcp(host: "localhost", port: 6379))
    }

    @Test func passwordWithAtSign() throws {
        let c = try RESPConfiguration(url: "redis://u:a@b@host:1/0")
        #expect(c.username == "u")
        #expect(c.password == "a@b")
        #expect(c.endpoint == .tcp(host: "host", port: 1))
    }

    @Test func tlsURL() throws {
        let c = try RESPConfiguration(url: "rediss://:pw@localhost:6390?ca_file=/tmp/ca.pem&server_name=redis.local")
        #expect(c.useTLS)
        #expect(c.tls?.caFile == "/tmp/ca.pem")
        #expect(c.tls?.verification == .full)
        #expect(c.tlsServerName == "redis.local")
        #expect(c.endpoint == .tcp(host: "localhost", port: 6390))
    }

    @Test func ipv6Host() throws {
        let c = try RESPConfiguration(url: "redis://[::1]:6390/2")
        #expect(c.endpoint == .tcp(host: "::1", port: 6390))
        #expect(c.database == 2)
        #expect(c.endpoint.description == "[::1]:6390")
    }

    @Test func unixSocket() throws {
        let c = try RESPConfiguration(url: "unix://:pw@/run/redis/redis.sock?db=5")
        #expect(c.endpoint == .unix(path: "/run/redis/redis.sock"))
        #expect(c.password == "pw")
        #expect(c.database == 5)
        let plain = try RESPConfiguration(url: "redis+unix:///tmp/r.sock")
        #expect(plain.endpoint == .unix(path: "/tmp/r.sock"))
    }

    @Test(arguments: [
        "localhost:6379", "http://host", "redis://host:0", "redis://host:99999", "redis://host:abc",
        "redis://host/x", "redis://[::1", "unix://relative.sock", "redis://host?bogus=1", "redis://:%zz@host",
    ])
    func rejects(_ url: String) {
        #expect(throws: RESPConfigurationError.self) { try RESPConfiguration(url: url) }
    }

    @Test func errorNeverShowsPassword() {
        do {
            _ = try RESPConfiguration(url: "redis://user:hunter2@host:bad")
            Issue.record("accepted a bad port")
        } catch {
            #expect(!error.description.contains("hunter2"))
            #expect(error.description.contains("bad port"))
        }
    }
}
