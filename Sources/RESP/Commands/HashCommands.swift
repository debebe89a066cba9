extension RESPCommandExecutor {
    /// HSET: how many fields were added (not updated).
    @discardableResult
    public func hset(_ key: some RESPArgument, _ fields: [(String, any RESPArgument)]) async throws -> Int {
        var cmd = RESPCommand("HSET", key)
        for (name, value) in fields {
            cmd.append(name)
            value.appendRESPArgument(to: &cmd)
        }
        return Int(try await execute(cmd, timeout: .default).expectInt("HSET"))
    }

    public func hget(_ key: some RESPArgument, _ field: some RESPArgument) async throws -> [UInt8]? {
        try await execute(RESPCommand("HGET", key, field), timeout: .default).expectOptionalBytes("HGET")
    }

    public func hmget(_ key: some RESPArgument, _ fields: [String]) async throws -> [[UInt8]?] {
        var cmd = RESPCommand("HMGET", key)
        for f in fields { cmd.append(f) }
        return try await execute(cmd, timeout: .default).expectArray("HMGET").map { v throws(RESPClientError) in
            try v.expectOptionalBytes("HMGET")
        }
    }

    /// HGETALL as a dictionary (RESP3 map or RESP2 flat array).
    public func hgetall(_ key: some RESPArgument) async throws -> [String: [UInt8]] {
        let reply = try await execute(RESPCommand("HGETALL", key), timeout: .default)
        guard let pairs = reply.pairs else { throw RESPClientError.unexpectedReply(command: "HGETALL", reply: reply) }
        var result: [String: [UInt8]] = [:]
        result.reserveCapacity(pairs.count)
        for p in pairs {
            guard let k = p.key.string, let v = p.value.bytes else {
                throw RESPClientError.unexpectedReply(command: "HGETALL", reply: reply)
            }
            result[k] = v
        }
        return result
    }

    @discardableResult
    public func hdel(_ key: some RESPArgument, _ fields: [String]) async throws -> Int {
        var cmd = RESPCommand("HDEL", key)
        for f in fields { cmd.append(f) }
        return Int(try await execute(cmd, timeout: .default).expectInt("HDEL"))
    }

    @discardableResult
    public func hincrby(_ key: some RESPArgument, _ field: some RESPArgument, _ increment: Int64) async throws -> Int64 {
        try await execute(RESPCommand("HINCRBY", key, field, increment), timeout: .default).expectInt("HINCRBY")
    }

    public func hexists(_ key: some RESPArgument, _ field: some RESPArgument) async throws -> Bool {
        try await execute(RESPCommand("HEXISTS", key, field), timeout: .default).expectBool("HEXISTS")
    }

    public func hlen(_ key: some RESPArgument) async throws -> Int {
        Int(try await execute(RESPCommand("HLEN", key), timeout: .default).expectInt("HLEN"))
    }
}
