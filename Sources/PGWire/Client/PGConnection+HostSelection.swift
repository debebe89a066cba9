extension PGConnection {
    /// Tries the configuration's hosts in order until one accepts the connection and is the kind
    /// of server `targetSessionAttributes` asks for (`PGHostSelection` decides; this does the I/O).
    /// The connection's own configuration names the host it reached, so a cancel goes there.
    static func connectSelectingHost(_ configuration: PGConfiguration) async throws -> PGConnection {
        let target = configuration.targetSessionAttributes
        var selection = PGHostSelection(
            endpoints: configuration.loadBalanceHosts ? configuration.endpoints.shuffled() : configuration.endpoints,
            target: target)
        while let (endpoint, pass) = selection.next() {
            var single = configuration
            single.endpoints = [endpoint]
            let connection: PGConnection
            do {
                connection = try await connectToEndpoint(single)
            } catch {
                let e = map(error)
                if selection.connectFailed(endpoint, e) == .stop { throw e }
                continue
            }
            switch await connection.checkTarget(target, pass: pass) {
            case .accept:
                return connection
            case .reject(let reason), .ask(let reason):
                await connection.close()
                selection.rejected(endpoint, pass: pass, reason)
            }
        }
        throw selection.failure
    }

    /// Whether this session is the kind `target` asks for: from the parameters the server
    /// reported (PostgreSQL 14+), else by asking it. A failed query rejects the session.
    nonisolated(nonsending) func checkTarget(_ target: PGTargetSessionAttributes, pass: Int = 1) async -> PGTargetSessionAttributes.Check {
        let check = target.check(parameters: parameters, pass: pass)
        guard case .ask(let sql) = check else { return check }
        do {
            let results: [PGSimpleResult] = try await simpleQuery(sql)
            let answer = try results.first?.rows.first.flatMap { try $0.decode(String?.self, at: 0) }
            return target.check(answer: answer, to: sql, pass: pass)
        } catch {
            return .reject("\(sql) failed: \(error)")
        }
    }
}
