#if canImport(Glibc)
import Glibc
#endif
import Reactor
import RESP
import TestSupport

/// The shared test Redis (from the harness), as a configuration.
enum TestRedis {
    static func configuration(_ tweak: (inout RESPConfiguration) -> Void = { _ in }) throws -> RESPConfiguration? {
        guard let url = try TestServices.require(TestServices.redisURL, "VIDD_TEST_REDIS_URL") else { return nil }
        var c = try RESPConfiguration(url: url)
        c.commandTimeout = .seconds(10)
        tweak(&c)
        return c
    }

    static func connect(_ tweak: (inout RESPConfiguration) -> Void = { _ in }) async throws -> RESPConnection? {
        guard let c = try configuration(tweak) else { return nil }
        return try await RESPConnection.connect(c)
    }
}
