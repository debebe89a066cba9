extension PGConnection {
    /// Runs `body` in BEGIN … COMMIT; ROLLBACK if it throws (the error is rethrown).
    nonisolated(nonsending) public func transaction<T: Sendable>(
        _ begin: String = "BEGIN", _ body: (PGConnection) async throws -> T
    ) async throws -> T {
        try await simpleQuery(begin)
        let result: T
        do {
            result = try await body(self)
        } catch {
            if failure == nil { _ = try? await simpleQuery("ROLLBACK") }
            throw error
        }
        let commit = try await simpleQuery("COMMIT")
        // COMMIT of a failed transaction answers "ROLLBACK": surface that as an error.
        if commit.last?.command.tag == "ROLLBACK" { throw PGError.misuse("transaction was rolled back by the server (an earlier statement failed)") }
        return result
    }

    /// Runs `body` inside SAVEPOINT name … RELEASE; ROLLBACK TO on error (rethrown). Must be
    /// called inside a transaction.
    nonisolated(nonsending) public func savepoint<T: Sendable>(_ name: String = "pgwire_sp", _ body: (PGConnection) async throws -> T) async throws -> T {
        let quoted = quoteIdentifier(name)
        try await simpleQuery("SAVEPOINT \(quoted)")
        do {
            let r = try await body(self)
            try await simpleQuery("RELEASE SAVEPOINT \(quoted)")
            return r
        } catch {
            if failure == nil { _ = try? await simpleQuery("ROLLBACK TO SAVEPOINT \(quoted); RELEASE SAVEPOINT \(quoted)") }
            throw error
        }
    }

    /// Sends several statements with one Sync (one round trip after their statements are
    /// prepared). They run in one implicit transaction: if one fails, none takes effect and the
    /// error is thrown. Returns each statement's rows.
    nonisolated(nonsending) public func pipeline(_ statements: [(String, [any PGEncodable])], timeout: Duration? = nil) async throws -> [[PGRow]] {
        if statements.contains(where: { $0.0.containsNUL }) { throw PGError.encoding("SQL text contains a NUL byte") }
        let encoded = try statements.map { ($0.0, try PGBindings($0.1)) }
        let id = try await begin(timeout: timeout)
        do {
            var e = FrontendMessageEncoder()
            var presets = [RowDescription?]()
            for (sql, bindings) in encoded {
                if configuration.statementCache {
                    let s = try await prepared(sql, bindings.types, id: id)
                    e.bind(portal: "", statement: s.name, bindings: bindings, resultFormats: s.resultFormats)
                    presets.append(s.columns)
                } else {
                    e.parse(statement: "", query: sql, parameterTypes: bindings.types)
                    e.bind(portal: "", statement: "", bindings: bindings, resultFormats: [.text])
                    e.describe(.portal, name: "")
                    presets.append(nil)
                }
                e.execute(portal: "")
            }
            e.sync()
            active!.machine = QueryStateMachine(.extended(presets))
            try await send(e)
            var results = [[PGRow]]()
            var current = [PGRow]()
            var columns: RowDescription? = presets.first ?? nil
            while true {
                switch active!.machine.received(try await nextMessage(id)) {
                case .rowDescription(let d): columns = d
                case .row(let r): current.append(PGRow(columns: columns!, data: r))
                case .commandComplete:
                    results.append(current)
                    current = []
                    columns = results.count < presets.count ? presets[results.count] : nil
                case .done(let status):
                    _ = try finishRequest(at: status)
                    return results
                case .close(let e): throw fail(e)
                default: break
                }
            }
        } catch {
            throw abortRequest(id, error)
        }
    }

    /// Prepares `sql` now (cached for later queries on this connection) and returns its
    /// parameter count and result columns.
    nonisolated(nonsending) public func prepare(_ sql: String, parameterTypes: [PGOID] = []) async throws -> RowDescription? {
        let id = try await begin(timeout: nil)
        do {
            let columns = try await prepared(sql, parameterTypes, id: id).columns
            end()
            return columns
        } catch {
            throw abortRequest(id, error)
        }
    }
}

/// "name" with embedded quotes doubled (SQL identifier quoting).
public func quoteIdentifier(_ name: String) -> String {
    var out = "\""
    for c in name {
        if c == "\"" { out += "\"\"" } else { out.append(c) }
    }
    return out + "\""
}
