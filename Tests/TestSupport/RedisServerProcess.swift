import Foundation

/// What a test's own redis-servers share (`PrivateRedis`, `RestartableRedis`): the command line of
/// a loopback server with a password and no RDB snapshots, run in the foreground as a
/// `ChildProcess` (so it dies with the test process), and ready once it answers PING.
enum RedisServerProcess {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func arguments(port: Int, password: String, directory: String) -> [String] {
        [TestProcess.path(of: "redis-server"), "--port", String(port), "--bind", "127.0.0.1", "--requirepass", password,
         "--save", "", "--dir", directory, "--daemonize", "no"]
    }

    /// Starts the server and waits until it answers PING (after loading its AOF, if it has one).
    static func launch(_ arguments: [String], port: Int, password: String, logPath: String) async throws -> ChildProcess {
        let server = try ChildProcess(arguments, environment: [:], logPath: logPath)
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if !server.isRunning { throw Failure(description: "redis-server on port \(port) exited:\n\(server.log)") }
            if try await answersPing(port: port, password: password) { return server }
            try await Task.sleep(for: .milliseconds(20))
        }
        await server.kill9()
        throw Failure(description: "redis-server on port \(port) did not answer PING within 20 s:\n\(server.log)")
    }

    /// True when the server answers PONG (not LOADING, not refused).
    static func answersPing(port: Int, password: String) async throws -> Bool {
        let r = try await TestProcess.run(["redis-cli", "-h", "127.0.0.1", "-p", String(port), "-a", password, "--no-auth-warning", "ping"])
        return r.text.trimmingCharacters(in: .whitespacesAndNewlines) == "PONG"
    }
}
