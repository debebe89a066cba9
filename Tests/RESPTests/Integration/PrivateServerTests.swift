import Reactor
import RESP
import Testing
import TestSupport

/// Tests that need their own redis-server (DEBUG enabled, Unix socket, restarts).
@Suite struct PrivateServerTests {
    @Test func debugProtocolTypes() async throws {
        guard let server = try await PrivateRedis.start(extraArguments: "--enable-debug-command yes") else { return }
        defer { server.destroy() }
        let r = try await RESPConnection.connect(RESPConfiguration(url: server.url))
        defer { r.close() }
        #expect(try await r.send("DEBUG", "PROTOCOL", "null") == .null)
        #expect(try await r.send("DEBUG", "PROTOCOL", "true") == .boolean(true))
        #expect(try await r.send("DEBUG", "PROTOCOL", "false") == .boolean(false))
        #expect(try await r.send("DEBUG", "PROTOCOL", "double") == .double(3.141))
        #expect(try await r.send("DEBUG", "PROTOCOL", "bignum") == .bigNumber("1234567999999999999999999999999999999"))
        #expect(try await r.send("DEBUG", "PROTOCOL", "verbatim")
            == .verbatimString(format: "txt", text: Array("This is a verbatim\nstring".utf8)))
        guard case .map(let m) = try await r.send("DEBUG", "PROTOCOL", "map") else { Issue.record("not a map"); return }
        #expect(m.count == 3)
        guard case .set(let s) = try await r.send("DEBUG", "PROTOCOL", "set") else { Issue.record("not a set"); return }
        #expect(s.count == 3)
        let attrib = try await r.send("DEBUG", "PROTOCOL", "attrib")
        guard case .attributed(let attributes, let value) = attrib else { Issue.record("not attributed: \(attrib)"); return }
        #expect(attributes.first?.key.string == "key-popularity")
        #expect(value.string == "Some real reply following the attribute")
        #expect(try await r.ping() == "PONG")
    }

    @Test func unixSocketURL() async throws {
        guard let server = try await PrivateRedis.start() else { return }
        defer { server.destroy() }
        let r = try await RESPConnection.connect(RESPConfiguration(url: "unix://:\(server.password)@\(server.socketPath)?db=2"))
        defer { r.close() }
        #expect(try await r.ping() == "PONG")
        #expect((try await r.send("CLIENT", "INFO").string ?? "").contains(" db=2 "))
    }

    @Test func clientReconnectsAfterRestart() async throws {
        guard let server = try await PrivateRedis.start() else { return }
        defer { server.destroy() }
        let client = try RESPClient(url: server.url, options: RESPPoolOptions(
            maxConnections: 2, waitTimeout: .seconds(5),
            reconnectBackoff: RESPBackoff(initial: .milliseconds(20), maximum: .milliseconds(200))))
        try await client.set("k", "v")
        try await server.stop()
        // In flight or idle connections die with the server: the next command may fail once…
        _ = try? await client.ping()
        try await server.launch()
        // …and then the pool opens a fresh connection (retrying with backoff until the server is up).
        #expect(try await client.ping() == "PONG")
        #expect(try await client.get("k") == nil)   // a fresh server without persistence
        await client.shutdown()
        await #expect(throws: RESPClientError.self) { try await client.ping() }
    }
}
