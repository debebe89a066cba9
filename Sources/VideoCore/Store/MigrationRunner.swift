/// Applies pending `Migrations` under a PostgreSQL session advisory lock, so several vidd
/// processes starting at once apply each migration exactly once: the first holds the lock and
/// migrates, the others wait on `pg_advisory_lock`, then find nothing left to do.
///
/// Each migration runs in its own transaction together with its `schema_migrations` row, so a
/// failed migration leaves neither a half-applied schema nor a record claiming it was applied.
public struct MigrationRunner: Sendable {
    /// An arbitrary constant identifying "vidd schema migrations" among advisory locks ('vidd' in ASCII).
    public static let advisoryLockKey: Int64 = 0x7669_6464

    public var migrations: [Migration]

    public init(migrations: [Migration] = Migrations.all) {
        precondition(Set(migrations.map(\.version)).count == migrations.count, "duplicate migration version")
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var migration: String
        public var underlying: String
        public var description: String { "migration \(migration) failed: \(underlying)" }
    }

    public static let createMigrationsTable = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    integer PRIMARY KEY,
            name       text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """

    /// Returns the versions this call applied (empty when the schema was already current).
    /// The executor must be one session (one connection) for the advisory lock to mean anything.
    @discardableResult
    public func run(on db: some SQLExecutor) async throws -> [Int] {
        _ = try await db.simpleQuery("SELECT pg_advisory_lock(\(Self.advisoryLockKey))")
        do {
            let applied = try await applyPending(on: db)
            _ = try await db.simpleQuery("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))")
            return applied
        } catch {
            // Best effort: the lock also goes away with the session.
            _ = try? await db.simpleQuery("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))")
            throw error
        }
    }

    /// Versions present in `schema_migrations`.
    public static func appliedVersions(on db: some SQLExecutor) async throws -> Set<Int> {
        let rows = try await db.simpleQuery("SELECT version FROM schema_migrations")
        return Set(rows.compactMap { $0.first.flatMap { $0 }.flatMap { Int($0) } })
    }

    private func applyPending(on db: some SQLExecutor) async throws -> [Int] {
        _ = try await db.simpleQuery(Self.createMigrationsTable)
        let done = try await Self.appliedVersions(on: db)
        var applied: [Int] = []
        for m in migrations where !done.contains(m.version) {
            let record = "INSERT INTO schema_migrations (version, name) VALUES (\(m.version), \(SQL.literal(m.name)))"
            do {
                _ = try await db.simpleQuery("BEGIN;\n\(m.sql);\n\(record);\nCOMMIT")
            } catch {
                _ = try? await db.simpleQuery("ROLLBACK")
                throw Failure(migration: m.name, underlying: "\(error)")
            }
            applied.append(m.version)
        }
        return applied
    }
}
