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

/// A private redis-server on a free loopback port, for tests that restart the server or need
/// settings the shared one does not have (DEBUG enabled, a Unix socket).
final class PrivateRedis: Sendable {
    let port: Int
    let directory: String
    let password = "private-pw"
    let extraArguments: String

    var url: String { "redis://:\(password)@127.0.0.1:\(port)" }
    var socketPath: String { "\(directory)/redis.sock" }

    static func start(extraArguments: String = "") async throws -> PrivateRedis? {
        guard shell("command -v redis-server >/dev/null") == 0 else {
            _ = try TestServices.require(nil, "redis-server binary")
            return nil
        }
        let listener = try await Listener.bind(host: "127.0.0.1", port: 0)
        let port = listener.port
        listener.close()
        let server = PrivateRedis(port: port, extraArguments: extraArguments)
        try await server.launch()
        return server
    }

    private init(port: Int, extraArguments: String) {
        self.port = port
        self.extraArguments = extraArguments
        self.directory = "/tmp/vidd-resp-test-\(getpid())-\(port)"
    }

    func launch() async throws {
        _ = Self.shell("mkdir -p \(directory)")
        let rc = Self.shell("""
            redis-server --port \(port) --bind 127.0.0.1 --save '' --appendonly no --requirepass \(password) \
            --dir \(directory) --logfile \(directory)/redis.log --pidfile \(directory)/redis.pid \
            --unixsocket \(socketPath) --unixsocketperm 700 --daemonize yes \(extraArguments)
            """)
        guard rc == 0 else { throw PrivateRedisError(message: "redis-server exited with \(rc)") }
        // Ready when it answers PING.
        for _ in 0..<200 {
            if let c = try? await RESPConnection.connect(RESPConfiguration(url: url)) {
                c.close()
                return
            }
            try await EventLoop.shared.sleep(for: .milliseconds(10))
        }
        throw PrivateRedisError(message: "redis-server on port \(port) did not come up")
    }

    /// Stops the server (SIGTERM via its pid file) and waits until the port is closed.
    func stop() async throws {
        _ = Self.shell("kill $(cat \(directory)/redis.pid) 2>/dev/null")
        for _ in 0..<300 {
            if Self.shell("kill -0 $(cat \(directory)/redis.pid 2>/dev/null) 2>/dev/null") != 0 { return }
            try await EventLoop.shared.sleep(for: .milliseconds(10))
        }
    }

    /// Stops the server and deletes its directory; synchronous so a `defer` can call it.
    func destroy() {
        _ = Self.shell("kill $(cat \(directory)/redis.pid 2>/dev/null) 2>/dev/null; "
            + "for i in $(seq 100); do kill -0 $(cat \(directory)/redis.pid 2>/dev/null) 2>/dev/null || break; sleep 0.02; done; "
            + "rm -rf \(directory)")
    }

    @discardableResult
    static func shell(_ command: String) -> Int32 {
        let status = system(command)
        return status == -1 ? -1 : (status >> 8) & 0xff
    }
}

struct PrivateRedisError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
