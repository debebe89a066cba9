/// Why the byte stream is not valid RESP (or breaks a configured limit). After any of these the
/// stream cannot be resynchronised: the connection must be closed.
public struct RESPDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The first byte of an element is not a RESP2/RESP3 type marker.
        case unknownType(UInt8)
        /// A line contains CR not followed by LF (or a bulk payload is not followed by CRLF).
        case missingCRLF
        /// A length or count is not a valid non-negative decimal (or `-1`/`?` where allowed).
        case invalidLength
        case invalidInteger
        case invalidDouble
        case invalidBoolean
        case invalidBigNumber
        /// `_` with anything between it and CRLF.
        case invalidNull
        /// `=` payload shorter than `xxx:` or without the colon.
        case invalidVerbatimString
        /// A `;` chunk outside a streamed string, or `.` outside a streamed aggregate.
        case unexpectedStreamMarker(UInt8)
        /// Inside a streamed string (`$?`) something other than a `;` chunk arrived.
        case expectedStreamedStringChunk(UInt8)
        /// A streamed map/attribute ended after a key without its value.
        case oddStreamedMap
        /// A bulk, verbatim or bulk-error length above `limits.maxBulkLength`.
        case bulkTooLong(length: Int, limit: Int)
        /// An aggregate count above `limits.maxElementCount`.
        case tooManyElements(count: Int, limit: Int)
        /// Aggregates nested deeper than `limits.maxDepth`.
        case tooDeep(limit: Int)
        /// A line (simple string, error, number) longer than `limits.maxLineLength` without CRLF.
        case lineTooLong(limit: Int)
    }

    public var kind: Kind
    /// Stream offset (bytes consumed by this decoder before the bad element), for logs.
    public var offset: Int

    public init(_ kind: Kind, offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    public var description: String {
        let what: String
        switch kind {
        case .unknownType(let b): what = "unknown RESP type byte 0x\(String(b, radix: 16))"
        case .missingCRLF: what = "missing CRLF terminator"
        case .invalidLength: what = "invalid length or count"
        case .invalidInteger: what = "invalid integer"
        case .invalidDouble: what = "invalid double"
        case .invalidBoolean: what = "invalid boolean (expected t or f)"
        case .invalidBigNumber: what = "invalid big number"
        case .invalidNull: what = "invalid null"
        case .invalidVerbatimString: what = "invalid verbatim string (expected 3-byte format and ':')"
        case .unexpectedStreamMarker(let b): what = "unexpected streaming marker '\(Character(Unicode.Scalar(b)))'"
        case .expectedStreamedStringChunk(let b): what = "expected ';' chunk in streamed string, got 0x\(String(b, radix: 16))"
        case .oddStreamedMap: what = "streamed map ended between a key and its value"
        case .bulkTooLong(let l, let limit): what = "bulk length \(l) exceeds limit \(limit)"
        case .tooManyElements(let c, let limit): what = "aggregate count \(c) exceeds limit \(limit)"
        case .tooDeep(let limit): what = "aggregates nested deeper than \(limit)"
        case .lineTooLong(let limit): what = "line longer than \(limit) bytes"
        }
        return "RESP protocol error at byte \(offset): \(what)"
    }
}
