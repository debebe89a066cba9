/// The one thing the store needs from a PostgreSQL client: run SQL text (simple query protocol,
/// several statements allowed) and return the rows of the last statement as text or NULL.
/// PGWire's connection conforms in one extension (see docs/service.md, "Wiring").
public protocol SQLExecutor: Sendable {
    func simpleQuery(_ sql: String) async throws -> [[String?]]
}

/// Parameterised statements (`$1…`) go through the extended protocol; this is the shape of that call.
public protocol SQLParameterisedExecutor: SQLExecutor {
    func query(_ sql: String, _ parameters: [String?]) async throws -> [[String?]]
}

/// Statements that must run together, in one transaction on one session.
public protocol SQLTransactionalExecutor: SQLParameterisedExecutor {
    /// Runs `body` between BEGIN and COMMIT (ROLLBACK when it throws; the error is rethrown).
    func inTransaction<T: Sendable>(_ body: (any SQLParameterisedExecutor) async throws -> T) async throws -> T
}
