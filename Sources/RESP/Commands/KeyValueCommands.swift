/// SET's expiry option.
public enum RESPExpiration: Sendable, Hashable {
    case seconds(Int)
    case milliseconds(Int)
    case atUnixSeconds(Int)
    case atUnixMilliseconds(Int)
    /// Keep the key's current TTL (SET … KEEPTTL).
    case keepTTL
}

/// SET's condition option.
public enum RESPSetCondition: Sendable, Hashable {
    /// Only set if the key does not exist (NX).
    case ifNotExists
    /// Only set if the key exists (XX).
    case ifExists
}

extension RESPCommandExecutor {
    public func ping() async throws -> String {
        try await execute(RESPCommand("PING"), timeout: .default).expectString("PING")
    }

    /// GET: the value's bytes, or nil when the key does not exist.
    public func get(_ key: some RESPArgument) async throws -> [UInt8]? {
        try await execute(RESPCommand("GET", key), timeout: .default).expectOptionalBytes("GET")
    }

    /// GET decoded as UTF-8.
    public func getString(_ key: some RESPArgument) async throws -> String? {
        try await get(key).map { String(decoding: $0, as: UTF8.self) }
    }

    /// SET with optional expiry and condition. Returns false when the condition prevented the write.
    @discardableResult
    public func set(_ key: some RESPArgument, _ value: some RESPArgument, expiration: RESPExpiration? = nil,
                    condition: RESPSetCondition? = nil) async throws -> Bool {
        var cmd = RESPCommand("SET", key, value)
        switch expiration {
        case .seconds(let s): cmd.append("EX"); cmd.append(s)
        case .milliseconds(let ms): cmd.append("PX"); cmd.append(ms)
        case .atUnixSeconds(let s): cmd.append("EXAT"); cmd.append(s)
        case .atUnixMilliseconds(let ms): cmd.append("PXAT"); cmd.append(ms)
        case .keepTTL: cmd.append("KEEPTTL")
        case nil: break
        }
        switch condition {
        case .ifNotExists: cmd.append("NX")
        case .ifExists: cmd.append("XX")
        case nil: break
        }
        return try await execute(cmd, timeout: .default).expectOKOrNull("SET")
    }

    public func mget(_ keys: [String]) async throws -> [[UInt8]?] {
        var cmd = RESPCommand("MGET")
        for k in keys { cmd.append(k) }
        return try await execute(cmd, timeout: .default).expectArray("MGET").map { v throws(RESPClientError) in
            try v.expectOptionalBytes("MGET")
        }
    }

    /// DEL: how many of the keys existed.
    @discardableResult
    public func del(_ keys: String...) async throws -> Int {
        try await del(keys)
    }

    @discardableResult
    public func del(_ keys: [String]) async throws -> Int {
        var cmd = RESPCommand("DEL")
        for k in keys { cmd.append(k) }
        return Int(try await execute(cmd, timeout: .default).expectInt("DEL"))
    }

    public func exists(_ keys: String...) async throws -> Int {
        var cmd = RESPCommand("EXISTS")
        for k in keys { cmd.append(k) }
        return Int(try await execute(cmd, timeout: .default).expectInt("EXISTS"))
    }

    /// EXPIRE in seconds; false when the key does not exist.
    @discardableResult
    public func expire(_ key: some RESPArgument, seconds: Int) async throws -> Bool {
        try await execute(RESPCommand("EXPIRE", key, seconds), timeout: .default).expectBool("EXPIRE")
    }

    @discardableResult
    public func pexpire(_ key: some RESPArgument, milliseconds: Int) async throws -> Bool {
        try await execute(RESPCommand("PEXPIRE", key, milliseconds), timeout: .default).expectBool("PEXPIRE")
    }

    /// TTL in seconds: -1 when the key has no expiry, -2 when it does not exist (Redis's convention).
    public func ttl(_ key: some RESPArgument) async throws -> Int {
        Int(try await execute(RESPCommand("TTL", key), timeout: .default).expectInt("TTL"))
    }

    public func pttl(_ key: some RESPArgument) async throws -> Int {
        Int(try await execute(RESPCommand("PTTL", key), timeout: .default).expectInt("PTTL"))
    }

    @discardableResult
    public func incr(_ key: some RESPArgument) async throws -> Int64 {
        try await execute(RESPCommand("INCR", key), timeout: .default).expectInt("INCR")
    }

    @discardableResult
    public func incrBy(_ key: some RESPArgument, _ increment: Int64) async throws -> Int64 {
        try await execute(RESPCommand("INCRBY", key, increment), timeout: .default).expectInt("INCRBY")
    }

    @discardableResult
    public func decr(_ key: some RESPArgument) async throws -> Int64 {
        try await execute(RESPCommand("DECR", key), timeout: .default).expectInt("DECR")
    }

    /// PUBLISH: how many subscribers received the message.
    @discardableResult
    public func publish(_ channel: some RESPArgument, _ message: some RESPArgument) async throws -> Int {
        Int(try await execute(RESPCommand("PUBLISH", channel, message), timeout: .default).expectInt("PUBLISH"))
    }

    // MARK: Lists (queues, and the blocking-command path)

    @discardableResult
    public func lpush(_ key: some RESPArgument, _ values: [any RESPArgument]) async throws -> Int {
        var cmd = RESPCommand("LPUSH", key)
        for v in values { v.appendRESPArgument(to: &cmd) }
        return Int(try await execute(cmd, timeout: .default).expectInt("LPUSH"))
    }

    @discardableResult
    public func rpush(_ key: some RESPArgument, _ values: [any RESPArgument]) async throws -> Int {
        var cmd = RESPCommand("RPUSH", key)
        for v in values { v.appendRESPArgument(to: &cmd) }
        return Int(try await execute(cmd, timeout: .default).expectInt("RPUSH"))
    }

    public func lrange(_ key: some RESPArgument, _ start: Int, _ stop: Int) async throws -> [[UInt8]] {
        try await execute(RESPCommand("LRANGE", key, start, stop), timeout: .default).expectArray("LRANGE").map {
            v throws(RESPClientError) in
            guard let b = v.bytes else { throw .unexpectedReply(command: "LRANGE", reply: v) }
            return b
        }
    }

    /// BLPOP: waits up to `timeout` (nil = forever) for an element of one of the lists. Returns the
    /// list's name and the element, or nil on timeout. The client-side deadline is the server's
    /// timeout plus the configured blocking margin.
    public func blpop(_ keys: [String], timeout: Duration?) async throws -> (key: String, value: [UInt8])? {
        var cmd = RESPCommand("BLPOP")
        for k in keys { cmd.append(k) }
        cmd.append(timeout.map(Self.seconds) ?? 0)
        let reply = try await execute(cmd, timeout: .blocking(server: timeout))
        if reply.isNull { return nil }
        let pair = try reply.expectArray("BLPOP")
        guard pair.count == 2, let key = pair[0].string, let value = pair[1].bytes else {
            throw RESPClientError.unexpectedReply(command: "BLPOP", reply: reply)
        }
        return (key, value)
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    static func milliseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }
}
