import Foundation

/// A PostgreSQL 15 server of a test's own (initdb in a fresh directory, SCRAM-SHA-256, loopback
/// only) that the test may stop and start again on the same port and data — a restart or an
/// outage as operators cause them — without disturbing the shared server other tests use.
/// Made and run as `PostgresPrograms` says (as `postgres` when the tests run as root).
public final class RestartablePostgres: @unchecked Sendable {
    public let port: Int
    public let password: String
    public let directory: String
    public var dataDirectory: String { directory + "/data" }
    /// The superuser `app` on database `postgres`.
    public var url: String { "postgres://app:\(password)@127.0.0.1:\(port)/postgres" }

    /// initdb + start, about a second and a half.
    public static func start(name: String) async throws -> RestartablePostgres {
        let pg = RestartablePostgres(port: try FreePorts.one(), password: UUID().uuidString.replacing("-", with: ""),
                                     directory: "/tmp/vidd-pg-" + name.suffix(40))
        do {
            try PostgresPrograms.makeDirectory(pg.directory)
            try await pg.initialise()
            try await pg.start()
        } catch {
            await pg.destroy()
            throw error
        }
        return pg
    }

    private init(port: Int, password: String, directory: String) {
        self.port = port
        self.password = password
        self.directory = directory
    }

    private func initialise() async throws {
        let passwordFile = directory + "/pwfile"
        try (password + "\n").write(toFile: passwordFile, atomically: true, encoding: .utf8)
        if geteuid() == 0, let user = getpwnam("postgres") { chown(passwordFile, user.pointee.pw_uid, user.pointee.pw_gid) }
        defer { try? FileManager.default.removeItem(atPath: passwordFile) }
        try await PostgresPrograms.initialise(directory: directory, port: port, authentication: ["--auth=scram-sha-256", "--pwfile=" + passwordFile])
    }

    /// Starts the server and waits until it accepts connections.
    public func start() async throws {
        try await PostgresPrograms.run("pg_ctl", ["-D", dataDirectory, "-l", directory + "/server.log", "-w", "-t", "30", "-s", "start"], context: log)
    }

    /// Stops the server: `fast` (sessions are ended, as a restart does) or `immediate` (a crash).
    public func stop(mode: String = "fast") async throws {
        try await PostgresPrograms.run("pg_ctl", ["-D", dataDirectory, "-m", mode, "-w", "-t", "30", "-s", "stop"], context: log)
    }

    /// `pg_ctl restart -m fast`: what an operator does to apply a setting.
    public func restart() async throws {
        try await PostgresPrograms.run("pg_ctl", ["-D", dataDirectory, "-l", directory + "/server.log", "-m", "fast", "-w", "-t", "30", "-s", "restart"],
                                       context: log)
    }

    /// Stops it (as a crash) and deletes its files.
    public func destroy() async {
        if FileManager.default.fileExists(atPath: dataDirectory + "/postmaster.pid") { try? await stop(mode: "immediate") }
        try? FileManager.default.removeItem(atPath: directory)
    }

    public var log: String { (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? "" }
}
