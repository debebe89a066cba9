/// One stream entry: its ID and field/value pairs in the order they were added.
public struct RESPStreamEntry: Sendable, Hashable {
    public var id: String
    public var fields: [RESPStreamField]
    /// True when XREADGROUP/XCLAIM reported the ID but the entry was deleted (fields are nil on the wire).
    public var isDeleted: Bool

    public init(id: String, fields: [RESPStreamField], isDeleted: Bool = false) {
        self.id = id
        self.fields = fields
        self.isDeleted = isDeleted
    }

    /// The first value of the field, as bytes.
    public subscript(field: String) -> [UInt8]? {
        fields.first { $0.name == field }?.value
    }

    /// The first value of the field, as UTF-8 text.
    public func string(_ field: String) -> String? {
        self[field].map { String(decoding: $0, as: UTF8.self) }
    }

    /// `[id, [field, value, …]]` (or `[id, nil]` for a deleted entry).
    init(reply: RESPValue, command: String) throws(RESPClientError) {
        guard let parts = reply.elements, parts.count == 2, let id = parts[0].string else {
            throw .unexpectedReply(command: command, reply: reply)
        }
        self.id = id
        if parts[1].isNull {
            fields = []
            isDeleted = true
            return
        }
        guard let flat = parts[1].elements, flat.count % 2 == 0 else {
            throw .unexpectedReply(command: command, reply: reply)
        }
        var fields: [RESPStreamField] = []
        fields.reserveCapacity(flat.count / 2)
        var i = 0
        while i < flat.count {
            guard let name = flat[i].string, let value = flat[i + 1].bytes else {
                throw .unexpectedReply(command: command, reply: reply)
            }
            fields.append(RESPStreamField(name: name, value: value))
            i += 2
        }
        self.fields = fields
        isDeleted = false
    }
}

public struct RESPStreamField: Sendable, Hashable {
    public var name: String
    public var value: [UInt8]
    public init(name: String, value: [UInt8]) {
        self.name = name
        self.value = value
    }
}

/// Entries read from one stream by XREADGROUP / XREAD.
public struct RESPStreamRead: Sendable, Hashable {
    public var stream: String
    public var entries: [RESPStreamEntry]
}

/// XADD / XTRIM trimming strategy.
public enum RESPStreamTrim: Sendable, Hashable {
    /// MAXLEN [~] n — `approximate` lets Redis trim whole radix nodes (much cheaper).
    case maxLength(Int, approximate: Bool = true)
    /// MINID [~] id — drop entries older than the ID.
    case minID(String, approximate: Bool = true)

    func append(to cmd: inout RESPCommand, limit: Int?) {
        switch self {
        case .maxLength(let n, let approx):
            cmd.append("MAXLEN")
            if approx { cmd.append("~") }
            cmd.append(n)
            if approx, let limit { cmd.append("LIMIT"); cmd.append(limit) }
        case .minID(let id, let approx):
            cmd.append("MINID")
            if approx { cmd.append("~") }
            cmd.append(id)
            if approx, let limit { cmd.append("LIMIT"); cmd.append(limit) }
        }
    }
}

/// XPENDING summary form.
public struct RESPPendingSummary: Sendable, Hashable {
    public var count: Int
    public var smallestID: String?
    public var largestID: String?
    /// Pending count per consumer.
    public var consumers: [String: Int]
}

/// One XPENDING extended-form row.
public struct RESPPendingEntry: Sendable, Hashable {
    public var id: String
    public var consumer: String
    public var idle: Duration
    public var deliveryCount: Int
}

/// XAUTOCLAIM's reply.
public struct RESPAutoClaimResult: Sendable, Hashable {
    /// Cursor for the next call; "0-0" when the scan is complete.
    public var nextStart: String
    public var entries: [RESPStreamEntry]
    /// IDs that were pending but no longer exist in the stream (Redis 7 removes them from the PEL).
    public var deletedIDs: [String]
}

/// XINFO STREAM (summary form).
public struct RESPStreamInfo: Sendable, Hashable {
    public var length: Int
    public var groups: Int
    public var lastGeneratedID: String
    public var firstEntry: RESPStreamEntry?
    public var lastEntry: RESPStreamEntry?
    /// Every field as sent, for those not mapped above (radix-tree-keys, max-deleted-entry-id, …).
    public var fields: [RESPPair]
}

/// One row of XINFO GROUPS.
public struct RESPStreamGroupInfo: Sendable, Hashable {
    public var name: String
    public var consumers: Int
    public var pending: Int
    public var lastDeliveredID: String
    /// Redis ≥ 7: entries not yet delivered to the group (nil when unknown).
    public var lag: Int?
}

/// One row of XINFO CONSUMERS.
public struct RESPStreamConsumerInfo: Sendable, Hashable {
    public var name: String
    public var pending: Int
    public var idle: Duration
}
