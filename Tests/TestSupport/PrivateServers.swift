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
/// need settings the shared one does not have (DEBUG enabled, a Unix socket). A `ChildProcess`
/// (`RedisServerProcess`): it dies with the test process.
public final class PrivateRedis: @unchecked Sendable {
    public let port: Int
    public let directory: String
    public let password = "private-pw"
    /// More redis-server options, separated by spaces (`--timeout 2`).
    public let extraArguments: String
    private let lock = NSLock()
    private var process: ChildProcess?

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

    /// Starts the server (again, after `stop`) and waits until it answers PING.
    public func launch() async throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let arguments = RedisServerProcess.arguments(port: port, password: password, directory: directory)
            + ["--appendonly", "no", "--unixsocket", socketPath, "--unixsocketperm", "700"]
            + extraArguments.split(separator: " ").map(String.init)
        let server = try await RedisServerProcess.launch(arguments, port: port, password: password, logPath: directory + "/redis.log")
        lock.withLock { process = server }
    }

    /// Stops the server (SIGTERM) and waits until the process is gone.
    public func stop() async throws {
        guard let server = lock.withLock({ process }) else { return }
        server.signal(SIGTERM)
        _ = await server.waitForExit(timeout: .seconds(3))
    }

    /// SIGSTOP / SIGCONT: a server that accepts connections (the kernel does) but never answers.
    public func freeze() { lock.withLock { process }?.signal(SIGSTOP) }
    public func thaw() { lock.withLock { process }?.signal(SIGCONT) }

    /// Stops the server and deletes its directory; synchronous so a `defer` can call it.
    public func destroy() {
        if let server = lock.withLock({ process }) {
            server.signal(SIGCONT)
            server.signal(SIGTERM)
            for _ in 0..<100 where server.isRunning { usleep(20_000) }
            if server.isRunning { server.signal(SIGKILL) }
            for _ in 0..<100 where server.isRunning { usleep(20_000) }
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    @discardableResult
    public static func shell(_ command: String) -> Int32 { PrivateServers.shell(command) }
}

/// A throw-away PostgreSQL 15 cluster of a test's own (trust authentication for `app`), for tests
/// that restart or stop the server; made and run as `PostgresPrograms` says. Synchronous, so a
/// `defer` can remove it.
public final class PrivatePostgres: Sendable {
    public let dir: String
    public let port: Int
    public static let bin = PostgresPrograms.binaries
    var dataDirectory: String { dir + "/data" }

    /// nil (skipped loudly; a failure in CI) when PostgreSQL binaries are not installed here.
    public static func start() async throws -> PrivatePostgres? {
        guard try PostgresPrograms.installed() else { return nil }
        let p = PrivatePostgres(dir: "/tmp/\(TestServices.uniqueName("pgwire-private-"))", port: try FreePorts.one())
        do {
            try PostgresPrograms.makeDirectory(p.dir)
            try await PostgresPrograms.initialise(directory: p.dir, port: p.port, authentication: ["-A", "trust"])
            try await PostgresPrograms.run("pg_ctl", ["-D", p.dataDirectory, "-l", p.logPath, "-w", "-t", "30", "-s", "start"], context: p.log)
        } catch {
            p.stopAndRemove()
            throw error
        }
        return p
    }

    private init(dir: String, port: Int) { self.dir = dir; self.port = port }

    public var url: String { "postgres://app@127.0.0.1:\(port)/postgres?sslmode=disable" }
    var logPath: String { dir + "/log" }
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    public func restart() throws {
        try PostgresPrograms.runSync("pg_ctl", ["-D", dataDirectory, "-l", logPath, "-w", "-t", "30", "-m", "fast", "-s", "restart"], context: log)
    }

    /// `pg_ctl stop -m smart` without waiting: the server refuses new sessions (57P03, "the
    /// database system is shutting down") until the sessions already open end.
    public func beginSmartShutdown() throws {
        try PostgresPrograms.runSync("pg_ctl", ["-D", dataDirectory, "-m", "smart", "-W", "-s", "stop"], context: log)
    }

    public func stopAndRemove() {
        if FileManager.default.fileExists(atPath: dataDirectory + "/postmaster.pid") {
            try? PostgresPrograms.runSync("pg_ctl", ["-D", dataDirectory, "-w", "-t", "30", "-m", "immediate", "-s", "stop"])
        }
        try? FileManager.default.removeItem(atPath: dir)
    }
}
