import Foundation

/// How a test's own PostgreSQL servers (`PrivatePostgres`, `RestartablePostgres`) are made and run:
/// the server programs of `VIDD_TEST_PG_BIN_DIR` (Debian's PostgreSQL 15 by default), run as
/// `postgres` when the tests run as root (initdb refuses root), a cluster for the superuser `app`
/// in a directory of its own, listening on loopback only, with its socket in that directory.
enum PostgresPrograms {
    static let binaries = TestServices.env("VIDD_TEST_PG_BIN_DIR") ?? "/usr/lib/postgresql/15/bin"

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// False (a loud skip; a failure in CI) when the binaries are not installed.
    static func installed() throws -> Bool {
        guard access(binaries + "/initdb", X_OK) == 0 else {
            _ = try TestServices.require(nil, "PostgreSQL 15 binaries in \(binaries)")
            return false
        }
        return true
    }

    /// `program` of `binaries` with `arguments`, behind `runuser -u postgres --` when we are root.
    static func command(_ program: String, _ arguments: [String]) -> [String] {
        (geteuid() == 0 ? ["runuser", "-u", "postgres", "--"] : []) + [binaries + "/" + program] + arguments
    }

    /// Runs it off the cooperative pool; a failure carries its output (and `context`, a log say).
    static func run(_ program: String, _ arguments: [String], context: @autoclosure () -> String = "") async throws {
        try check(try await TestProcess.run(command(program, arguments)), program, arguments, context())
    }

    /// The same on the calling thread, for the synchronous API of `PrivatePostgres`.
    static func runSync(_ program: String, _ arguments: [String], context: @autoclosure () -> String = "") throws {
        try check(try TestProcess.runSync(command(program, arguments)), program, arguments, context())
    }

    private static func check(_ r: TestProcess.Result, _ program: String, _ arguments: [String], _ context: String) throws {
        guard r.status != 0 else { return }
        throw Failure(description: "\(program) \(arguments.joined(separator: " ")) exited with \(r.status): "
                      + r.text + String(decoding: r.errorOutput, as: UTF8.self) + (context.isEmpty ? "" : "\n\(context)"))
    }

    /// A cluster's directory, readable by `postgres` (and its own when we are root). Under /tmp:
    /// the socket path must fit in sockaddr_un.
    static func makeDirectory(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        if geteuid() == 0, let user = getpwnam("postgres") { chown(path, user.pointee.pw_uid, user.pointee.pw_gid) }
    }

    /// initdb of `directory/data` for the superuser `app` (`authentication`: initdb's options for
    /// it), then the settings every such server has, in its postgresql.conf.
    static func initialise(directory: String, port: Int, authentication: [String]) async throws {
        try await run("initdb", ["-D", directory + "/data", "-U", "app"] + authentication
                      + ["-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"])
        let settings = """

            # A throw-away server of one test (TestSupport)
            listen_addresses = '127.0.0.1'
            port = \(port)
            unix_socket_directories = '\(directory)'
            max_connections = 100
            fsync = off
            synchronous_commit = off
            full_page_writes = off
            log_min_messages = warning

            """
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/data/postgresql.conf"))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(settings.utf8))
    }
}
