extension RESPCommandExecutor {
    /// XADD: appends an entry and returns its ID (nil only with `noMakeStream` when the stream is missing).
    @discardableResult
    public func xadd(_ stream: some RESPArgument, id: String = "*", fields: [(String, any RESPArgument)],
                     trim: RESPStreamTrim? = nil, trimLimit: Int? = nil, noMakeStream: Bool = false) async throws -> String? {
        var cmd = RESPCommand("XADD", stream)
        if noMakeStream { cmd.append("NOMKSTREAM") }
        trim?.append(to: &cmd, limit: trimLimit)
        cmd.append(id)
        for (name, value) in fields {
            cmd.append(name)
            value.appendRESPArgument(to: &cmd)
        }
        return try await execute(cmd, timeout: .default).expectOptionalString("XADD")
    }

    /// XREADGROUP GROUP g c [COUNT n] [BLOCK ms] [NOACK] STREAMS s… id…
    ///
    /// `block`: nil = do not block; `.zero` = block forever; otherwise the server waits that long and the
    /// client waits that long plus the configured margin. A timed-out client wait closes the
    /// connection so the late reply can never reach another command. Returns [] when nothing arrived.
    public func xreadgroup(group: String, consumer: String, streams: [(stream: String, id: String)],
                           count: Int? = nil, block: Duration? = nil, noAck: Bool = false) async throws -> [RESPStreamRead] {
        var cmd = RESPCommand("XREADGROUP", "GROUP", group, consumer)
        if let count { cmd.append("COUNT"); cmd.append(count) }
        if let block { cmd.append("BLOCK"); cmd.append(Self.milliseconds(block)) }
        if noAck { cmd.append("NOACK") }
        cmd.append("STREAMS")
        for s in streams { cmd.append(s.stream) }
        for s in streams { cmd.append(s.id) }
        let timeout: RESPTimeout = block.map { .blocking(server: $0 == .zero ? nil : $0) } ?? .default
        return try Self.decodeStreamReads(try await execute(cmd, timeout: timeout), command: "XREADGROUP")
    }

    /// XREAD [COUNT n] [BLOCK ms] STREAMS s… id…
    public func xread(streams: [(stream: String, id: String)], count: Int? = nil, block: Duration? = nil) async throws -> [RESPStreamRead] {
        var cmd = RESPCommand("XREAD")
        if let count { cmd.append("COUNT"); cmd.append(count) }
        if let block { cmd.append("BLOCK"); cmd.append(Self.milliseconds(block)) }
        cmd.append("STREAMS")
        for s in streams { cmd.append(s.stream) }
        for s in streams { cmd.append(s.id) }
        let timeout: RESPTimeout = block.map { .blocking(server: $0 == .zero ? nil : $0) } ?? .default
        return try Self.decodeStreamReads(try await execute(cmd, timeout: timeout), command: "XREAD")
    }

    /// RESP3 sends `{stream: [entries]}`, RESP2 `[[stream, [entries]], …]`; null when nothing arrived.
    static func decodeStreamReads(_ reply: RESPValue, command: String) throws(RESPClientError) -> [RESPStreamRead] {
        if reply.isNull { return [] }
        var pairs: [(RESPValue, RESPValue)] = []
        switch reply.withoutAttributes {
        case .map(let p): pairs = p.map { ($0.key, $0.value) }
        case .array(let a):
            for item in a {
                guard let kv = item.elements, kv.count == 2 else { throw .unexpectedReply(command: command, reply: reply) }
                pairs.append((kv[0], kv[1]))
            }
        default: throw .unexpectedReply(command: command, reply: reply)
        }
        var result: [RESPStreamRead] = []
        for (k, v) in pairs {
            guard let name = k.string, let entries = v.elements else { throw .unexpectedReply(command: command, reply: reply) }
            var decoded: [RESPStreamEntry] = []
            decoded.reserveCapacity(entries.count)
            for e in entries { decoded.append(try RESPStreamEntry(reply: e, command: command)) }
            result.append(RESPStreamRead(stream: name, entries: decoded))
        }
        return result
    }

    /// XACK: how many IDs were acknowledged.
    @discardableResult
    public func xack(_ stream: some RESPArgument, group: String, ids: [String]) async throws -> Int {
        var cmd = RESPCommand("XACK", stream, group)
        for id in ids { cmd.append(id) }
        return Int(try await execute(cmd, timeout: .default).expectInt("XACK"))
    }

    /// XAUTOCLAIM stream group consumer min-idle start [COUNT n]: moves entries idle at least
    /// `minIdle` to `consumer`.
    public func xautoclaim(_ stream: some RESPArgument, group: String, consumer: String, minIdle: Duration,
                           start: String = "0-0", count: Int? = nil) async throws -> RESPAutoClaimResult {
        var cmd = RESPCommand("XAUTOCLAIM", stream, group, consumer, Self.milliseconds(minIdle), start)
        if let count { cmd.append("COUNT"); cmd.append(count) }
        let reply = try await execute(cmd, timeout: .default)
        guard let parts = reply.elements, parts.count >= 2, let next = parts[0].string, let entries = parts[1].elements else {
            throw RESPClientError.unexpectedReply(command: "XAUTOCLAIM", reply: reply)
        }
        var decoded: [RESPStreamEntry] = []
        for e in entries { decoded.append(try RESPStreamEntry(reply: e, command: "XAUTOCLAIM")) }
        let deleted = parts.count > 2 ? (parts[2].elements ?? []).compactMap(\.string) : []
        return RESPAutoClaimResult(nextStart: next, entries: decoded, deletedIDs: deleted)
    }

    /// XCLAIM stream group consumer min-idle id… : claims the given entries (those still idle at
    /// least `minIdle`) and returns them.
    public func xclaim(_ stream: some RESPArgument, group: String, consumer: String, minIdle: Duration,
                       ids: [String], force: Bool = false) async throws -> [RESPStreamEntry] {
        var cmd = RESPCommand("XCLAIM", stream, group, consumer, Self.milliseconds(minIdle))
        for id in ids { cmd.append(id) }
        if force { cmd.append("FORCE") }
        let reply = try await execute(cmd, timeout: .default)
        var decoded: [RESPStreamEntry] = []
        for e in try reply.expectArray("XCLAIM") { decoded.append(try RESPStreamEntry(reply: e, command: "XCLAIM")) }
        return decoded
    }

    /// XPENDING stream group (summary form).
    public func xpending(_ stream: some RESPArgument, group: String) async throws -> RESPPendingSummary {
        let reply = try await execute(RESPCommand("XPENDING", stream, group), timeout: .default)
        guard let parts = reply.elements, parts.count == 4, let count = parts[0].int else {
            throw RESPClientError.unexpectedReply(command: "XPENDING", reply: reply)
        }
        var consumers: [String: Int] = [:]
        for c in parts[3].elements ?? [] {
            guard let kv = c.elements, kv.count == 2, let name = kv[0].string, let n = kv[1].int else {
                throw RESPClientError.unexpectedReply(command: "XPENDING", reply: reply)
            }
            consumers[name] = Int(n)
        }
        return RESPPendingSummary(count: Int(count), smallestID: parts[1].string, largestID: parts[2].string,
                                  consumers: consumers)
    }

    /// XPENDING stream group [IDLE ms] start end count [consumer] (extended form).
    public func xpending(_ stream: some RESPArgument, group: String, start: String = "-", end: String = "+",
                         count: Int, consumer: String? = nil, minIdle: Duration? = nil) async throws -> [RESPPendingEntry] {
        var cmd = RESPCommand("XPENDING", stream, group)
        if let minIdle { cmd.append("IDLE"); cmd.append(Self.milliseconds(minIdle)) }
        cmd.append(start)
        cmd.append(end)
        cmd.append(count)
        if let consumer { cmd.append(consumer) }
        let reply = try await execute(cmd, timeout: .default)
        return try reply.expectArray("XPENDING").map { row throws(RESPClientError) in
            guard let f = row.elements, f.count == 4, let id = f[0].string, let c = f[1].string,
                let idle = f[2].int, let n = f[3].int
            else { throw .unexpectedReply(command: "XPENDING", reply: reply) }
            return RESPPendingEntry(id: id, consumer: c, idle: .milliseconds(idle), deliveryCount: Int(n))
        }
    }

    /// XGROUP CREATE stream group id [MKSTREAM]. Returns false when the group already exists
    /// (BUSYGROUP), so creating at startup is idempotent.
    @discardableResult
    public func xgroupCreate(_ stream: some RESPArgument, group: String, id: String = "$", makeStream: Bool = false) async throws -> Bool {
        var cmd = RESPCommand("XGROUP", "CREATE", stream, group, id)
        if makeStream { cmd.append("MKSTREAM") }
        do {
            _ = try await execute(cmd, timeout: .default)
            return true
        } catch let error as RESPServerError where error.code == "BUSYGROUP" {
            return false
        }
    }

    @discardableResult
    public func xgroupDestroy(_ stream: some RESPArgument, group: String) async throws -> Bool {
        try await execute(RESPCommand("XGROUP", "DESTROY", stream, group), timeout: .default).expectBool("XGROUP DESTROY")
    }

    @discardableResult
    public func xgroupCreateConsumer(_ stream: some RESPArgument, group: String, consumer: String) async throws -> Bool {
        try await execute(RESPCommand("XGROUP", "CREATECONSUMER", stream, group, consumer), timeout: .default)
            .expectBool("XGROUP CREATECONSUMER")
    }

    @discardableResult
    public func xgroupDeleteConsumer(_ stream: some RESPArgument, group: String, consumer: String) async throws -> Int {
        Int(try await execute(RESPCommand("XGROUP", "DELCONSUMER", stream, group, consumer), timeout: .default)
            .expectInt("XGROUP DELCONSUMER"))
    }

    public func xinfoStream(_ stream: some RESPArgument) async throws -> RESPStreamInfo {
        let reply = try await execute(RESPCommand("XINFO", "STREAM", stream), timeout: .default)
        guard let pairs = reply.pairs else { throw RESPClientError.unexpectedReply(command: "XINFO STREAM", reply: reply) }
        func field(_ name: String) -> RESPValue? { pairs.first { $0.key.string == name }?.value }
        guard let length = field("length")?.int, let last = field("last-generated-id")?.string else {
            throw RESPClientError.unexpectedReply(command: "XINFO STREAM", reply: reply)
        }
        func entry(_ name: String) throws(RESPClientError) -> RESPStreamEntry? {
            guard let v = field(name), !v.isNull else { return nil }
            return try RESPStreamEntry(reply: v, command: "XINFO STREAM")
        }
        return RESPStreamInfo(length: Int(length), groups: Int(field("groups")?.int ?? 0), lastGeneratedID: last,
                              firstEntry: try entry("first-entry"), lastEntry: try entry("last-entry"), fields: pairs)
    }

    public func xinfoGroups(_ stream: some RESPArgument) async throws -> [RESPStreamGroupInfo] {
        let reply = try await execute(RESPCommand("XINFO", "GROUPS", stream), timeout: .default)
        return try reply.expectArray("XINFO GROUPS").map { row throws(RESPClientError) in
            guard let pairs = row.pairs else { throw .unexpectedReply(command: "XINFO GROUPS", reply: reply) }
            func field(_ name: String) -> RESPValue? { pairs.first { $0.key.string == name }?.value }
            guard let name = field("name")?.string, let consumers = field("consumers")?.int,
                let pending = field("pending")?.int, let last = field("last-delivered-id")?.string
            else { throw .unexpectedReply(command: "XINFO GROUPS", reply: reply) }
            return RESPStreamGroupInfo(name: name, consumers: Int(consumers), pending: Int(pending),
                                       lastDeliveredID: last, lag: field("lag")?.int.map { Int($0) })
        }
    }

    public func xinfoConsumers(_ stream: some RESPArgument, group: String) async throws -> [RESPStreamConsumerInfo] {
        let reply = try await execute(RESPCommand("XINFO", "CONSUMERS", stream, group), timeout: .default)
        return try reply.expectArray("XINFO CONSUMERS").map { row throws(RESPClientError) in
            guard let pairs = row.pairs else { throw .unexpectedReply(command: "XINFO CONSUMERS", reply: reply) }
            func field(_ name: String) -> RESPValue? { pairs.first { $0.key.string == name }?.value }
            guard let name = field("name")?.string, let pending = field("pending")?.int, let idle = field("idle")?.int else {
                throw .unexpectedReply(command: "XINFO CONSUMERS", reply: reply)
            }
            return RESPStreamConsumerInfo(name: name, pending: Int(pending), idle: .milliseconds(idle))
        }
    }

    public func xlen(_ stream: some RESPArgument) async throws -> Int {
        Int(try await execute(RESPCommand("XLEN", stream), timeout: .default).expectInt("XLEN"))
    }

    /// XTRIM: how many entries were removed.
    @discardableResult
    public func xtrim(_ stream: some RESPArgument, _ trim: RESPStreamTrim, limit: Int? = nil) async throws -> Int {
        var cmd = RESPCommand("XTRIM", stream)
        trim.append(to: &cmd, limit: limit)
        return Int(try await execute(cmd, timeout: .default).expectInt("XTRIM"))
    }

    @discardableResult
    public func xdel(_ stream: some RESPArgument, ids: [String]) async throws -> Int {
        var cmd = RESPCommand("XDEL", stream)
        for id in ids { cmd.append(id) }
        return Int(try await execute(cmd, timeout: .default).expectInt("XDEL"))
    }

    /// XRANGE stream start end [COUNT n].
    public func xrange(_ stream: some RESPArgument, start: String = "-", end: String = "+", count: Int? = nil) async throws -> [RESPStreamEntry] {
        var cmd = RESPCommand("XRANGE", stream, start, end)
        if let count { cmd.append("COUNT"); cmd.append(count) }
        let reply = try await execute(cmd, timeout: .default)
        var decoded: [RESPStreamEntry] = []
        for e in try reply.expectArray("XRANGE") { decoded.append(try RESPStreamEntry(reply: e, command: "XRANGE")) }
        return decoded
    }
}
