import Foundation

/// A throw-away PostgreSQL 15 primary with a streaming standby (pg_basebackup -R) on free
/// loopback ports, for failover tests: stop the primary, promote the standby. Everything runs
/// as the `postgres` user when the tests run as root (initdb refuses root). `stop()` removes it.
///
/// Logins are `trust` for the `app` superuser over TCP on 127.0.0.1, replication included.
/// `synchronous` (on by default) starts the primary with `synchronous_standby_names='*'` on its
/// command line only, so a commit it acknowledged is on the standby too — the setting for a
/// failover that loses nothing — and the standby, once promoted, does not wait for a standby of
/// its own.
public final class PostgresStandbyPair: @unchecked Sendable {
    public static var bin: String { PostgresPrograms.binaries }

    public let directory: String
    public let primaryPort: Int
    public let standbyPort: Int
    public let synchronous: Bool

    private init(directory: String, primaryPort: Int, standbyPort: Int, synchronous: Bool) {
        self.directory = directory
        self.primaryPort = primaryPort
        self.standbyPort = standbyPort
        self.synchronous = synchronous
    }

    /// nil (a loud skip; a failure in CI) when the PostgreSQL binaries are not installed.
    public static func start(synchronous: Bool = true) async throws -> PostgresStandbyPair? {
        guard access("\(bin)/initdb", X_OK) == 0 else {
            _ = try TestServices.require(nil, "PostgreSQL 15 binaries in \(bin)")
            return nil
        }
        let ports = try FreePorts.take(2)
        let pair = PostgresStandbyPair(directory: "/tmp/" + TestServices.uniqueName("vidd-pgpair-"),
                                       primaryPort: ports[0], standbyPort: ports[1], synchronous: synchronous)
        do {
            try await pair.launch()
        } catch {
            await pair.stop()
            throw error
        }
        return pair
    }


    /// `postgres://app@host:port,…/database` with the given hosts in order (default: primary, standby).
    public func url(database: String = "postgres", ports: [Int]? = nil, parameters: [String] = []) -> String {
        let hosts = (ports ?? [primaryPort, standbyPort]).map { "127.0.0.1:\($0)" }.joined(separator: ",")
        return "postgres://app@\(hosts)/\(database)?" + (["sslmode=disable"] + parameters).joined(separator: "&")
    }

    private func launch() async throws {
        try await TestProcess.check(["mkdir", "-p", directory])
        try await TestProcess.check(["chmod", "755", directory])
        if geteuid() == 0 { try await TestProcess.check(["chown", "postgres:", directory]) }
        try await TestProcess.check(PostgresPrograms.command("initdb", ["-D", "\(directory)/primary", "-U", "app", "-A", "trust", "--no-sync",
                                      "-E", "UTF8", "--locale=C.UTF-8"]))
        // Replication connections from loopback (initdb's default pg_hba has them for trust too,
        // but only on the local socket and localhost: be explicit).
        try await TestProcess.check(["sh", "-c", "echo 'host replication all 127.0.0.1/32 trust' >> \(directory)/primary/pg_hba.conf"])
        try await pgctl(["-D", "\(directory)/primary", "-l", "\(directory)/primary.log", "-o", serverOptions(port: primaryPort, primary: true), "start"])
        try await TestProcess.check(PostgresPrograms.command("pg_basebackup", ["-h", "127.0.0.1", "-p", String(primaryPort), "-U", "app",
                                      "-D", "\(directory)/standby", "-R", "-X", "stream", "--no-sync"]))
        try await pgctl(["-D", "\(directory)/standby", "-l", "\(directory)/standby.log", "-o", serverOptions(port: standbyPort, primary: false), "start"])
        try await TestSupport.waitUntil("the standby streams from the primary", timeout: .seconds(30), context: { self.logs }) {
            try await self.psql(port: self.primaryPort, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") == "1"
        }
    }

    private func serverOptions(port: Int, primary: Bool) -> String {
        var o = "-p \(port) -c listen_addresses=127.0.0.1 -c unix_socket_directories=\(directory) -c fsync=off -c wal_level=replica -c hot_standby=on -c wal_keep_size=64MB"
        if primary && synchronous { o += " -c synchronous_standby_names=*" }
        return o
    }

    private func pgctl(_ arguments: [String]) async throws {
        try await TestProcess.check(PostgresPrograms.command("pg_ctl", ["-w", "-t", "60"] + arguments))
    }

    /// `pg_ctl stop -m immediate` on the primary: like a crash (no shutdown checkpoint).
    public func crashPrimary() async throws {
        try await pgctl(["-D", "\(directory)/primary", "-m", "immediate", "stop"])
    }

    /// `pg_ctl promote` on the standby; returns once it accepts writes.
    public func promoteStandby() async throws {
        try await pgctl(["-D", "\(directory)/standby", "promote"])
        try await TestSupport.waitUntil("the promoted standby leaves recovery", timeout: .seconds(30), context: { self.logs }) {
            try await self.psql(port: self.standbyPort, "SELECT pg_is_in_recovery()") == "f"
        }
    }

    /// Turns a server read-only for new transactions (a fenced primary): `ALTER SYSTEM SET
    /// default_transaction_read_only = on` and a reload.
    /// Returns once a new session sees it: the postmaster has reloaded, and it signals its
    /// children in the same step, so every existing session applies it at its next command.
    public func fence(port: Int) async throws {
        _ = try await psql(port: port, "ALTER SYSTEM SET default_transaction_read_only = on")
        _ = try await psql(port: port, "SELECT pg_reload_conf()")
        try await TestSupport.waitUntil("the server reloaded its configuration", timeout: .seconds(10), context: { self.logs }) {
            try await self.psql(port: port, "SHOW default_transaction_read_only") == "on"
        }
    }

    /// One value from psql (`-Atc`).
    @discardableResult
    public func psql(port: Int, _ sql: String, database: String = "postgres") async throws -> String {
        let r = try await TestProcess.run(["\(Self.bin)/psql", "-h", "127.0.0.1", "-p", String(port), "-U", "app", "-d", database, "-Atc", sql])
        guard r.status == 0 else { throw ThrowawayServerError("psql on \(port): \(sql): \(String(decoding: r.errorOutput, as: UTF8.self))") }
        return r.text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func stop() async {
        for name in ["primary", "standby"] where FileManager.default.fileExists(atPath: "\(directory)/\(name)/postmaster.pid") {
            _ = try? await TestProcess.run(PostgresPrograms.command("pg_ctl", ["-D", "\(directory)/\(name)", "-w", "-t", "30", "-m", "immediate", "stop"]))
        }
        _ = try? await TestProcess.run(["rm", "-rf", directory])
    }

    public var logs: String { serverLogs(in: directory, ["primary.log", "standby.log"]) }
}
