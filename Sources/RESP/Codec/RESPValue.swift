/// One decoded RESP2/RESP3 reply, owning its bytes (nothing points back into the receive buffer,
/// so a value outlives the read that produced it).
public enum RESPValue: Sendable, Hashable {
    /// `+OK` — short, line-delimited, never binary.
    case simpleString(String)
    /// `-ERR ...` (simple error) or `!<len>` (bulk error): the reply of a failed command.
    case error(RESPServerError)
    /// `:<int>`.
    case integer(Int64)
    /// `$<len>` — binary safe. Streamed strings (`$?` + `;` chunks) decode to this too.
    case bulkString([UInt8])
    /// RESP3 `_`, and RESP2's null bulk string `$-1` and null array `*-1`.
    case null
    /// RESP3 `#t` / `#f`.
    case boolean(Bool)
    /// RESP3 `,` — includes `inf`, `-inf` and `nan`.
    case double(Double)
    /// RESP3 `(` — an integer outside Int64, kept as its decimal digits (with optional `-`).
    case bigNumber(String)
    /// RESP3 `=<len>` — `format` is the 3-character type (`txt`, `mkd`).
    case verbatimString(format: String, text: [UInt8])
    /// `*<count>`.
    case array([RESPValue])
    /// RESP3 `%<count>` — pairs in wire order (Redis maps may repeat keys in theory and order matters
    /// for some replies, so this is not a Swift Dictionary).
    case map([RESPPair])
    /// RESP3 `~<count>`.
    case set([RESPValue])
    /// RESP3 `><count>` — out-of-band data (pub/sub messages, invalidations), never a command reply.
    case push([RESPValue])
    /// RESP3 `|<count>` attributes followed by the value they describe.
    indirect case attributed(attributes: [RESPPair], value: RESPValue)
}

/// One key/value entry of a RESP3 map or attribute.
public struct RESPPair: Sendable, Hashable {
    public var key: RESPValue
    public var value: RESPValue
    public init(_ key: RESPValue, _ value: RESPValue) {
        self.key = key
        self.value = value
    }
}

extension RESPValue {
    /// The value with any attribute wrapper removed (clients that do not understand attributes must
    /// ignore them, per the RESP3 specification).
    public var withoutAttributes: RESPValue {
        if case .attributed(_, let value) = self { return value.withoutAttributes }
        return self
    }

    /// True for `.null`.
    public var isNull: Bool {
        if case .null = withoutAttributes { return true }
        return false
    }

    /// The reply as text, for simple, bulk and verbatim strings (bulk bytes decoded as UTF-8,
    /// invalid sequences repaired) and numbers; nil for aggregates, null and errors.
    public var string: String? {
        switch withoutAttributes {
        case .simpleString(let s): return s
        case .bulkString(let b): return String(decoding: b, as: UTF8.self)
        case .verbatimString(_, let t): return String(decoding: t, as: UTF8.self)
        case .integer(let i): return String(i)
        case .double(let d): return String(d)
        case .bigNumber(let s): return s
        default: return nil
        }
    }

    /// The reply's raw bytes for strings; nil otherwise.
    public var bytes: [UInt8]? {
        switch withoutAttributes {
        case .bulkString(let b): return b
        case .simpleString(let s): return Array(s.utf8)
        case .verbatimString(_, let t): return t
        default: return nil
        }
    }

    /// Integers, and strings holding a decimal integer (RESP2 servers send many counts as bulk).
    public var int: Int64? {
        switch withoutAttributes {
        case .integer(let i): return i
        case .simpleString, .bulkString: return string.flatMap { Int64($0) }
        default: return nil
        }
    }

    /// Elements of arrays, sets and pushes; a map flattened to key, value, key, value (RESP2 shape).
    public var elements: [RESPValue]? {
        switch withoutAttributes {
        case .array(let a), .set(let a), .push(let a): return a
        case .map(let pairs): return pairs.flatMap { [$0.key, $0.value] }
        default: return nil
        }
    }

    /// Map pairs; a RESP2 flat array of even length read as key, value, ... pairs.
    public var pairs: [RESPPair]? {
        switch withoutAttributes {
        case .map(let p): return p
        case .array(let a) where a.count % 2 == 0:
            return stride(from: 0, to: a.count, by: 2).map { RESPPair(a[$0], a[$0 + 1]) }
        default: return nil
        }
    }
}
