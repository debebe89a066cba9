import Foundation

/// Servers of a test's own, for tests that stop, restart or freeze a server: the shared ones of
/// `scripts/services.sh` must keep serving the other tests running in parallel.
public enum PrivateServers {
    /// Runs a shell command; its exit status.
    @discardableResult
    public static func shell(_ command: String) -> Int32 {
        let status = system(command)
        return status == -1 ? -1 : (status >> 8) & 0xff
    }
}

/// A private redis-server on a free loopback port, for tests that restart or freeze the server or
/// need settings the shared one does not have (DEBUG enabled, a Unix socket).
public final class PrivateRedis: Sendable {
    public let port: Int
    public let directory: String
    public let password = "private-pw"
    public let extraArguments: String

    public var url: String { "redis://:\(password)@127.0.0.1:\(port)" }
    public var socketPath: String { "\(directory)/redis.sock" }

    /// nil (and a loud skip; a failure in CI) when redis-server is not installed.
    public static func start(extraArguments: String = "") async throws -> PrivateRedis? {
        guard shell("command -v redis-server >/dev/null") == 0 else {
            _ = try TestServices.require(nil, "redis-server binary")
            return nil
        }
        let server = PrivateRedis(port: try FreePorts.one(), extraArguments: extraArguments)
        try await server.launch()
        return server
    }

    private init(port: Int, extraArguments: String) {
        self.port = port
        self.extraArguments = extraArguments
        self.directory = "/tmp/vidd-resp-test-\(getpid())-\(port)"
    }

    public func launch() async throws {
        _ = Self.shell("mkdir -p \(directory)")
        let rc = Self.shell("""
            redis-server --port \(port) --bind 127.0.0.1 --save '' --appendonly no --requirepass \(password) \
            --dir \(directory) --logfile \(directory)/redis.log --pidfile \(directory)/redis.pid \
            --unixsocket \(socketPath) --unixsocketperm 700 --daemonize yes \(extraArguments)
            """)
        guard rc == 0 else { throw PrivateRedisError(message: "redis-server exited with \(rc)") }
        // Ready when it answers PING.
        for _ in 0..<200 {
            let r = try await TestProcess.run(["redis-cli", "-p", String(port), "-a", password, "--no-auth-warning", "ping"])
            if r.text.contains("PONG") { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw PrivateRedisError(message: "redis-server on port \(port) did not come up")
    }

    /// Stops the server (SIGTERM via its pid file) and waits until the process is gone.
    public func stop() async throws {
        _ = Self.shell("kill $(cat \(directory)/redis.pid) 2>/dev/null")
        for _ in 0..<300 {
            if Self.shell("kill -0 $(cat \(directory)/redis.pid 2>/dev/null) 2>/dev/null") != 0 { return }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// SIGSTOP / SIGCONT: a server that accepts connections (the kernel does) but never answers.
    public func freeze() { _ = Self.shell("kill -STOP $(cat \(directory)/redis.pid)") }
    public func thaw() { _ = Self.shell("kill -CONT $(cat \(directory)/redis.pid)") }

    /// Stops the server and deletes its directory; synchronous so a `defer` can call it.
    public func destroy() {
        _ = Self.shell("kill -CONT $(cat \(directory)/redis.pid 2>/dev/null) 2>/dev/null; "
            + "kill $(cat \(directory)/redis.pid 2>/dev/null) 2>/dev/null; "
            + "for i in $(seq 100); do kill -0 $(cat \(directory)/redis.pid 2>/dev/null) 2>/dev/null || break; sleep 0.02; done; "
            + "rm -rf \(directory)")
    }

    @discardableResult
    public static func shell(_ command: String) -> Int32 { PrivateServers.shell(command) }
}

public struct PrivateRedisError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// A throw-away PostgreSQL 15 cluster of a test's own (trust authentication for `app`), for tests
/// that restart or stop the server.
public final class PrivatePostgres: Sendable {
    public let dir: String
    public let port: Int
    public static let bin = "/usr/lib/postgresql/15/bin"

    /// nil (skipped loudly; a failure in CI) when PostgreSQL binaries are not installed here.
    public static func start() async throws -> PrivatePostgres? {
        guard access("\(bin)/initdb", X_OK) == 0 else {
            _ = try TestServices.require(nil, "PostgreSQL 15 binaries in \(bin)")
            return nil
        }
        let dir = "/tmp/\(TestServices.uniqueName("pgwire-private-"))"
        let p = PrivatePostgres(dir: dir, port: try FreePorts.one())
        try p.sh("mkdir -p \(dir) && chmod 755 \(dir) && \(p.asPostgres)true")
        if geteuid() == 0 { try p.sh("chown postgres: \(dir)") }
        try p.sh("\(p.asPostgres)\(bin)/initdb -D \(dir)/data -U app -A trust --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null")
        try p.sh("\(p.asPostgres)\(bin)/pg_ctl -D \(dir)/data -l \(dir)/log -w -t 30 -o '-p \(p.port) -c listen_addresses=127.0.0.1 -c unix_socket_directories=\(dir) -c fsync=off' start >/dev/null")
        return p
    }

    private init(dir: String, port: Int) { self.dir = dir; self.port = port }

    public var asPostgres: String { geteuid() == 0 ? "runuser -u postgres -- " : "" }
    public var url: String { "postgres://app@127.0.0.1:\(port)/postgres?sslmode=disable" }

    public func restart() throws {
        try sh("\(asPostgres)\(Self.bin)/pg_ctl -D \(dir)/data -l \(dir)/log -w -t 30 -m fast restart >/dev/null")
    }

    /// `pg_ctl stop -m smart` without waiting: the server refuses new sessions (57P03, "the
    /// database system is shutting down") until the sessions already open end.
    public func beginSmartShutdown() throws {
        try sh("\(asPostgres)\(Self.bin)/pg_ctl -D \(dir)/data -m smart -W stop >/dev/null")
    }

    public func stopAndRemove() {
        try? sh("\(asPostgres)\(Self.bin)/pg_ctl -D \(dir)/data -w -t 30 -m immediate stop >/dev/null 2>&1")
        try? sh("rm -rf \(dir)")
    }

    public func sh(_ command: String) throws {
        let status = system(command)
        guard status == 0 else { throw ShellFailure(command: command, status: status) }
    }

    public struct ShellFailure: Error, CustomStringConvertible {
        public let command: String
        public let status: Int32
        public var description: String { "`\(command)` exited with \(status)" }
    }
}
