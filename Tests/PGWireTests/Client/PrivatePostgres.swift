import Testing
import TestSupport
import Reactor
#if canImport(Glibc)
import Glibc
#endif

/// A throw-away PostgreSQL cluster of a test's own, for tests that restart the server (the
/// shared one must keep serving the other tests running in parallel).
final class PrivatePostgres: Sendable {
    let dir: String
    let port: Int
    static let bin = "/usr/lib/postgresql/15/bin"

    /// nil (skipped loudly) when PostgreSQL binaries are not installed here.
    static func start() async throws -> PrivatePostgres? {
        guard access("\(bin)/initdb", X_OK) == 0 else {
            _ = try TestServices.require(nil, "PostgreSQL 15 binaries in \(bin)")
            return nil
        }
        let listener = try await Listener.bind(host: "127.0.0.1", port: 0)
        let port = listener.port
        listener.close()
        let dir = "/tmp/\(TestServices.uniqueName("pgwire-private-"))"
        let p = PrivatePostgres(dir: dir, port: port)
        try p.sh("mkdir -p \(dir) && chmod 755 \(dir) && \(p.asPostgres)true")
        if geteuid() == 0 { try p.sh("chown postgres: \(dir)") }
        try p.sh("\(p.asPostgres)\(bin)/initdb -D \(dir)/data -U app -A trust --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null")
        try p.sh("\(p.asPostgres)\(bin)/pg_ctl -D \(dir)/data -l \(dir)/log -w -t 30 -o '-p \(port) -c listen_addresses=127.0.0.1 -c unix_socket_directories=\(dir) -c fsync=off' start >/dev/null")
        return p
    }

    private init(dir: String, port: Int) { self.dir = dir; self.port = port }

    var asPostgres: String { geteuid() == 0 ? "runuser -u postgres -- " : "" }
    var url: String { "postgres://app@127.0.0.1:\(port)/postgres?sslmode=disable" }

    func restart() throws {
        try sh("\(asPostgres)\(Self.bin)/pg_ctl -D \(dir)/data -l \(dir)/log -w -t 30 -m fast restart >/dev/null")
    }

    func stopAndRemove() {
        try? sh("\(asPostgres)\(Self.bin)/pg_ctl -D \(dir)/data -w -t 30 -m immediate stop >/dev/null 2>&1")
        try? sh("rm -rf \(dir)")
    }

    func sh(_ command: String) throws {
        let status = system(command)
        guard status == 0 else { throw ShellFailure(command: command, status: status) }
    }

    struct ShellFailure: Error, CustomStringConvertible {
        let command: String
        let status: Int32
        var description: String { "`\(command)` exited with \(status)" }
    }
}
