import PGWire

// PGWire speaks for the store: a pool for independent statements, one connection when a
// session matters (the migration runner's advisory lock). Rows come back as PostgreSQL's text
// spelling of each value; PGWire converts binary results of the known types to that text.

extension PGConnection: SQLParameterisedExecutor {
    public func simpleQuery(_ sql: String) async throws -> [[String?]] {
        let results: [PGSimpleResult] = try await simpleQuery(sql, timeout: nil)
        guard let last = results.last(where: { $0.columns != nil }) ?? results.last else { return [] }
        return try last.rows.map(PGRowText.strings)
    }

    public func query(_ sql: String, _ parameters: [String?]) async throws -> [[String?]] {
        try await collect(sql, parameters.map { $0 as any PGEncodable }).map(PGRowText.strings)
    }
}

extension PGPool: SQLParameterisedExecutor {
    public func simpleQuery(_ sql: String) async throws -> [[String?]] {
        try await withConnection { connection in try await connection.simpleQuery(sql) as [[String?]] }
    }

    public func query(_ sql: String, _ parameters: [String?]) async throws -> [[String?]] {
        try await collect(sql, parameters.map { $0 as any PGEncodable }).map(PGRowText.strings)
    }
}

extension PGPool: SQLTransactionalExecutor {
    public func inTransaction<T: Sendable>(_ body: (any SQLParameterisedExecutor) async throws -> T) async throws -> T {
        try await withConnection { connection in try await connection.transaction { try await body($0) } }
    }
}

enum PGRowText {
    @Sendable static func strings(_ row: PGRow) throws -> [String?] {
        try row.decodeAll(String?.self)
    }
}

extension MigrationRunner {
    /// Migrates over one connection of `pool`: the advisory lock belongs to a session, so the
    /// lock, the migrations and the unlock must all travel over the same connection.
    @discardableResult
    public func run(on pool: PGPool) async throws -> [Int] {
        try await pool.withConnection { connection in try await run(on: connection) }
    }
}
