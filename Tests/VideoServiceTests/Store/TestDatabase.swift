import PGWire
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

/// A fresh schema on the test PostgreSQL, reached through PGWire with `search_path` set to it, so
/// every test has its own tables. `drop()` removes the schema.
struct TestDatabase: Sendable {
    let url: String
    let schema: String
    let pool: PGPool

    static func fresh(url: String, prefix: String) async throws -> TestDatabase {
        let schema = prefix.lowercased().filter { $0.isLetter || $0.isNumber || $0 == "_" }
        let admin = try await PGConnection.connect(url: url)
        _ = try await admin.simpleQuery("CREATE SCHEMA \(schema)") as [[String?]]
        await admin.close()
        return TestDatabase(url: url, schema: schema, pool: PGPool(configuration: try configuration(url: url, schema: schema)))
    }

    static func configuration(url: String, schema: String) throws -> PGConfiguration {
        var c = try PGConfiguration(url: url)
        c.runtimeParameters.append(("search_path", schema))
        return c
    }

    /// One session (connection) in this schema, for work that needs a session: advisory locks.
    func session() async throws -> PGConnection {
        try await PGConnection.connect(Self.configuration(url: url, schema: schema))
    }

    func drop() async {
        await pool.close()
        if let admin = try? await PGConnection.connect(url: url) {
            _ = try? await admin.simpleQuery("DROP SCHEMA IF EXISTS \(schema) CASCADE") as [[String?]]
            await admin.close()
        }
    }
}
