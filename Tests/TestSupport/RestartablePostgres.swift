import Foundation

/// A PostgreSQL 15 server of a test's own (initdb in a fresh directory, SCRAM-SHA-256, loopback
/// only) that the test may stop and start again on the same port and data — a restart or an
/// outage as operators cause them — without disturbing the shared server other tests use.
/// Server programs run as the `postgres` user when the tests run as root (initdb refuses root).
public final class RestartablePostgres: @unchecked Sendable {
    public let port: Int
    public let password: String
    public let directory: String
    public var dataDirectory: String { directory + "/data" }
    /// The superuser `app` on database `postgres`.
    public var url: String { "postgres://app:\(password)@127.0.0.1:\(port)/postgres" }
    private let binaries: String

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// initdb + start, about a second and a half.
    public static func start(name: String) async throws -> RestartablePostgres {
        // Under /tmp: the socket path must fit in sockaddr_un and `postgres` must reach it.
        let directory = "/tmp/vidd-pg-" + name.suffix(40)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        let pg = RestartablePostgres(port: try FreePorts.one(), password: UUID().uuidString.replacing("-", with: ""),
                                     directory: directory,
                                     binaries: TestServices.env("VIDD_TEST_PG_BIN_DIR") ?? "/usr/lib/postgresql/15/bin")
        do {
            try await pg.initialise()
            try await pg.start()
        } catch {
            await pg.destroy()
            throw error
        }
        return pg
    }

    private init(port: Int, password: String, directory: String, binaries: String) {
        self.port = port
        self.password = password
        self.directory = directory
        self.binaries = binaries
    }

    private static var asRoot: Bool { geteuid() == 0 }

    /// Runs a server program, as `postgres` when we are root.
    private func run(_ arguments: [String]) async throws -> TestProcess.Result {
        try await TestProcess.run(Self.asRoot ? ["runuser", "-u", "postgres", "--"] + arguments : arguments)
    }

    private func initialise() async throws {
        let passwordFile = directory + "/pwfile"
        try (password + "\n").write(toFile: passwordFile, atomically: true, encoding: .utf8)
        if Self.asRoot, let user = getpwnam("postgres") {
            chown(directory, user.pointee.pw_uid, user.pointee.pw_gid)
            chown(passwordFile, user.pointee.pw_uid, user.pointee.pw_gid)
        }
        let r = try await run([binaries + "/initdb", "-D", dataDirectory, "-U", "app", "--auth=scram-sha-256",
                               "--pwfile=" + passwordFile, "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"])
        try? FileManager.default.removeItem(atPath: passwordFile)
        guard r.status == 0 else { throw Failure(description: "initdb failed: \(r.text)\(String(decoding: r.errorOutput, as: UTF8.self))") }
        let settings = """

            # RestartablePostgres: a throw-away server of one test
            listen_addresses = '127.0.0.1'
            port = \(port)
            unix_socket_directories = '\(directory)'
            max_connections = 100
            fsync = off
            synchronous_commit = off
            full_page_writes = off
            log_min_messages = warning

            """
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dataDirectory + "/postgresql.conf"))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(settings.utf8))
    }

    /// Starts the server and waits until it accepts connections.
    public func start() async throws {
        let r = try await run([binaries + "/pg_ctl", "-D", dataDirectory, "-l", directory + "/server.log", "-w", "-t", "30", "-s", "start"])
        guard r.status == 0 else { throw Failure(description: "pg_ctl start failed (\(r.status)):\n\(log)") }
    }

    /// Stops the server: `fast` (sessions are ended, as a restart does) or `immediate` (a crash).
    public func stop(mode: String = "fast") async throws {
        let r = try await run([binaries + "/pg_ctl", "-D", dataDirectory, "-m", mode, "-w", "-t", "30", "-s", "stop"])
        guard r.status == 0 else { throw Failure(description: "pg_ctl stop -m \(mode) failed (\(r.status)):\n\(log)") }
    }

    /// `pg_ctl restart -m fast`: what an operator does to apply a setting.
    public func restart() async throws {
        let r = try await run([binaries + "/pg_ctl", "-D", dataDirectory, "-l", directory + "/server.log", "-m", "fast", "-w", "-t", "30", "-s", "restart"])
        guard r.status == 0 else { throw Failure(description: "pg_ctl restart failed (\(r.status)):\n\(log)") }
    }

    /// Stops it (as a crash) and deletes its files.
    public func destroy() async {
        if FileManager.default.fileExists(atPath: dataDirectory + "/postmaster.pid") { try? await stop(mode: "immediate") }
        try? FileManager.default.removeItem(atPath: directory)
    }

    public var log: String { (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? "" }
}
