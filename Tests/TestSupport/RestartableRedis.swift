import Foundation

/// A redis-server of a test's own, with an append-only file (`--appendonly yes --appendfsync
/// everysec`), that the test may crash (SIGKILL) and start again on the same port and data:
/// what survives is what the AOF kept, as in production. The shared server of
/// `scripts/services.sh` keeps nothing and is used by every other test, so it cannot be restarted.
public final class RestartableRedis: @unchecked Sendable {
    public let port: Int
    public let password: String
    public let directory: String
    public var url: String { "redis://:\(password)@127.0.0.1:\(port)" }
    private let lock = NSLock()
    private var process: ChildProcess?
    private var starts = 0

    /// Starts it in a fresh directory; `stop()` ends it and deletes the directory.
    public static func start(name: String) async throws -> RestartableRedis {
        let directory = NSTemporaryDirectory() + "vidd-redis-" + name
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let redis = RestartableRedis(port: try FreePorts.one(), password: UUID().uuidString.replacing("-", with: ""),
                                     directory: directory)
        try await redis.start()
        return redis
    }

    private init(port: Int, password: String, directory: String) {
        self.port = port
        self.password = password
        self.directory = directory
    }

    /// Starts the server (again) and waits until it answers PING — after loading its AOF.
    public func start() async throws {
        let log = lock.withLock { () -> String in
            starts += 1
            return directory + "/redis-\(starts).log"
        }
        let server = try await RedisServerProcess.launch(
            RedisServerProcess.arguments(port: port, password: password, directory: directory) + ["--appendonly", "yes", "--appendfsync", "everysec"],
            port: port, password: password, logPath: log)
        lock.withLock { process = server }
    }

    /// True when the server answers PONG (not LOADING, not refused).
    public func ping() async throws -> Bool {
        try await RedisServerProcess.answersPing(port: port, password: password)
    }

    /// SIGKILL, as a crash: no shutdown save, only what the AOF already holds survives.
    public func crash() async {
        guard let server = lock.withLock({ process }) else { return }
        await server.kill9()
    }

    /// Ends the server and deletes its files.
    public func stop() async {
        await crash()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Every log file of every start, for failure messages.
    public var logs: String {
        (1...max(1, lock.withLock { starts })).map { i in
            (try? String(contentsOfFile: directory + "/redis-\(i).log", encoding: .utf8)) ?? ""
        }.joined(separator: "\n")
    }
}
