import Testing
import TestSupport
import Reactor
@testable import PGWire

/// The real PostgreSQL the suite runs against (scripts/services.sh or the VIDD_TEST_PG_* variables).
struct PGTestEnvironment {
    let url: String
    let host: String
    let port: Int
    let password: String

    /// nil (test skipped loudly) when no server is configured locally; a failure in CI.
    static func get() throws -> PGTestEnvironment? {
        guard let url = try TestServices.require(TestServices.postgresURL, "VIDD_TEST_PG_URL") else { return nil }
        let config = try PGConfiguration(url: url)
        guard case .tcp(let host, let port) = config.endpoint else { return nil }
        return PGTestEnvironment(url: url, host: TestServices.env("VIDD_TEST_PG_HOST") ?? host,
                                 port: TestServices.env("VIDD_TEST_PG_PORT").flatMap { Int($0) } ?? port,
                                 password: TestServices.env("VIDD_TEST_PG_PASSWORD") ?? config.password ?? "")
    }

    var sslEnabled: Bool { TestServices.env("VIDD_TEST_PG_SSL") == "1" }
    var socketDir: String? { TestServices.env("VIDD_TEST_PG_SOCKET_DIR") }
    var dataDir: String? { TestServices.env("VIDD_TEST_PG_DATA") }

    /// A configuration for `user` (the harness's roles share one password).
    func config(user: String = "app", sslMode: PGConfiguration.SSLMode = .disable, host: String? = nil) -> PGConfiguration {
        var c = PGConfiguration(host: host ?? self.host, port: port, user: user, password: password, database: "postgres")
        c.sslMode = sslMode
        if sslMode != .disable { c.sslRootCert = TestServices.caFile }
        c.connectTimeout = .seconds(5)
        return c
    }

    func connect(user: String = "app", sslMode: PGConfiguration.SSLMode = .disable) async throws -> PGConnection {
        try await PGConnection.connect(config(user: user, sslMode: sslMode))
    }
}

/// Runs `body` on the event loop, as an application embedding PGWire should.
func onLoop<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
    try await withTaskExecutorPreference(EventLoop.shared) { try await body() }
}
