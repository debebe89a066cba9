import Reactor
import RESP
import Testing
import TestSupport

@Suite struct TLSTests {
    /// `rediss://` verified against the test CA (full verification: chain and host name).
    @Test func redissWithTestCA() async throws {
        guard let url = try TestServices.require(TestServices.redisTLSURL, "VIDD_TEST_REDIS_TLS_URL"),
            let ca = try TestServices.require(TestServices.caFile, "VIDD_TEST_CA_FILE")
        else { return }
        var config = try RESPConfiguration(url: url)
        config.tls = .client(caFile: ca, verification: .full)
        let conn = try await RESPConnection.connect(config)
        defer { conn.close() }
        #expect(try await conn.ping() == "PONG")
        let key = TestServices.uniqueName("resp:tls:")
        let big = [UInt8](repeating: 0x5a, count: 200_000)   // spans many TLS records
        try await conn.set(key, big)
        #expect(try await conn.get(key) == big)
        try await conn.del(key)
    }

    @Test func redissRejectsUnknownCA() async throws {
        guard let url = try TestServices.require(TestServices.redisTLSURL, "VIDD_TEST_REDIS_TLS_URL") else { return }
        var config = try RESPConfiguration(url: url)
        config.tls = .client(caFile: nil, verification: .full)   // system bundle: does not know the test CA
        await #expect(throws: RESPClientError.self) { _ = try await RESPConnection.connect(config) }
    }
}
