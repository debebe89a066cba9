#if canImport(Glibc)
import Glibc
#endif

/// Incremental RESP2/RESP3 decoder, in the spirit of hiredis `read.c`: bytes in, replies out.
///
/// The caller owns the receive buffer and hands the decoder its unread bytes; the decoder reports how
/// many it consumed. Bytes of finished elements are consumed at once and partially filled aggregates
/// live on an explicit stack inside the decoder, so a large reply arriving over many reads is parsed
/// exactly once (valkey-swift rescans an incomplete aggregate from its start on every read). A bulk
/// whose header arrived but whose payload did not is remembered by length, and a line without its
/// CRLF yet is remembered by how far it was scanned.
///
/// After a thrown error the stream is unusable; close the connection.
public struct RESPDecoder: Sendable {
    public var limits: RESPDecoderLimits

    private var stack: [Frame] = []
    private var pending: Pending?
    /// Bytes of the current (unterminated) line already searched for CR.
    private var scannedLineBytes = 0
    /// Total bytes consumed so far: error offsets are stream offsets.
    private var streamOffset = 0

    public init(limits: RESPDecoderLimits = .default) {
        self.limits = limits
    }

    /// True when no element is partially decoded (nothing is held between calls).
    public var isIdle: Bool { stack.isEmpty && pending == nil && scannedLineBytes == 0 }

    /// Bytes the decoder needs before it can make progress, when it knows (a bulk payload whose header
    /// was read); lets a reader size its next read. Nil when unknown.
    public var bytesNeededHint: Int? {
        switch pending {
        case .bulk(_, let length), .chunk(let length): return length + 2
        case nil: return nil
        }
    }

    /// Decodes at most one complete top-level value from the front of `input`.
    ///
    /// Returns the value (nil when more bytes are needed) and how many bytes of `input` were
    /// consumed; the caller must drop those and pass the rest, followed by newly received bytes, on
    /// the next call. Consumed bytes are never needed again.
    public mutating func decode(_ input: UnsafeRawBufferPointer) throws(RESPDecodingError) -> (value: RESPValue?, consumed: Int) {
        let count = input.count
        guard count > 0, let base = input.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return (nil, 0) }
        var pos = 0

        parsing: while true {
            var element: RESPValue

            if let p = pending {
                let length: Int
                switch p {
                case .bulk(_, let l), .chunk(let l): length = l
                }
                if count - pos < length + 2 {
                    streamOffset += pos
                    return (nil, pos)
                }
                guard base[pos + length] == Self.cr, base[pos + length + 1] == Self.lf else {
                    throw RESPDecodingError(.missingCRLF, offset: streamOffset + pos + length)
                }
                let payload = UnsafeBufferPointer(start: base + pos, count: length)
                pending = nil
                let payloadStart = pos
                pos += length + 2
                switch p {
                case .bulk(let type, _):
                    element = try Self.makeBulk(type: type, payload, offset: streamOffset + payloadStart)
                case .chunk:
                    stack[stack.count - 1].bytes.append(contentsOf: Self.copy(payload))
                    continue parsing
                }
            } else {
                // Find the line's CR, resuming where the previous call stopped.
                let searchFrom = pos + scannedLineBytes
                let found = searchFrom < count ? memchr(base + searchFrom, Int32(Self.cr), count - searchFrom) : nil
                guard let found else {
                    scannedLineBytes = count - pos
                    if scannedLineBytes > limits.maxLineLength + 1 {
                        throw RESPDecodingError(.lineTooLong(limit: limits.maxLineLength), offset: streamOffset + pos)
                    }
                    streamOffset += pos
                    return (nil, pos)
                }
                let crIndex = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
                if crIndex - pos - 1 > limits.maxLineLength {
                    throw RESPDecodingError(.lineTooLong(limit: limits.maxLineLength), offset: streamOffset + pos)
                }
                if crIndex + 1 >= count {
                    scannedLineBytes = crIndex - pos  // rescan only the CR once its LF arrives
                    streamOffset += pos
                    return (nil, pos)
                }
                guard base[crIndex + 1] == Self.lf else {
                    throw RESPDecodingError(.missingCRLF, offset: streamOffset + crIndex)
                }
                scannedLineBytes = 0
                let type = base[pos]
                // A line starting with CR has no type byte: it is rejected below as unknown type 0x0d.
                let line = UnsafeBufferPointer(start: base + pos + 1, count: Swift.max(0, crIndex - pos - 1))
                let elementOffset = streamOffset + pos
                pos = crIndex + 2

                if let top = stack.last, top.kind == .streamedString, type != UInt8(ascii: ";") {
                    throw RESPDecodingError(.expectedStreamedStringChunk(type), offset: elementOffset)
                }

                switch type {
                case UInt8(ascii: "+"):
                    element = .simpleString(String(decoding: line, as: UTF8.self))
                case UInt8(ascii: "-"):
                    element = .error(RESPServerError(line: String(decoding: line, as: UTF8.self)))
                case UInt8(ascii: ":"):
                    guard let i = Self.parseInteger(line) else {
                        throw RESPDecodingError(.invalidInteger, offset: elementOffset)
                    }
                    element = .integer(i)
                case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
                    let isPlainBulk = type == UInt8(ascii: "$")
                    switch Self.parseLength(line, allowNull: isPlainBulk, allowStreamed: isPlainBulk) {
                    case .null:
                        element = .null
                    case .streamed:
                        try pushFrame(Frame(kind: .streamedString, remaining: -1), offset: elementOffset)
                        continue parsing
                    case .count(let length):
                        guard length <= limits.maxBulkLength else {
                            throw RESPDecodingError(.bulkTooLong(length: length, limit: limits.maxBulkLength), offset: elementOffset)
                        }
                        pending = .bulk(type: type, length: length)
                        continue parsing
                    case .invalid:
                        throw RESPDecodingError(.invalidLength, offset: elementOffset)
                    }
                case UInt8(ascii: ";"):
                    guard let top = stack.last, top.kind == .streamedString else {
                        throw RESPDecodingError(.unexpectedStreamMarker(type), offset: elementOffset)
                    }
                    guard case .count(let length) = Self.parseLength(line, allowNull: false, allowStreamed: false) else {
                        throw RESPDecodingError(.invalidLength, offset: elementOffset)
                    }
                    if length == 0 {
                        element = .bulkString(stack.removeLast().bytes)
                    } else {
                        let total = top.bytes.count.addingReportingOverflow(length)
                        guard !total.overflow, total.partialValue <= limits.maxBulkLength else {
                            throw RESPDecodingError(.bulkTooLong(length: total.overflow ? Int.max : total.partialValue,
                                                                 limit: limits.maxBulkLength), offset: elementOffset)
                        }
                        pending = .chunk(length: length)
                        continue parsing
                    }
                case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"), UInt8(ascii: "|"):
                    let kind = Frame.Kind(type)
                    switch Self.parseLength(line, allowNull: type == UInt8(ascii: "*"), allowStreamed: type != UInt8(ascii: ">")) {
                    case .null:
                        element = .null
                    case .streamed:
                        try pushFrame(Frame(kind: kind, remaining: -1), offset: elementOffset)
                        continue parsing
                    case .count(let n):
                        guard n <= limits.maxElementCount else {
                            throw RESPDecodingError(.tooManyElements(count: n, limit: limits.maxElementCount), offset: elementOffset)
                        }
                        let elements = kind.isPaired ? n * 2 : n
                        if elements == 0 {
                            if kind == .attribute {
                                // Empty attribute: it still annotates the next value.
                                try pushFrame(Frame(kind: .attributeTarget, remaining: 1), offset: elementOffset)
                                continue parsing
                            }
                            element = Frame(kind: kind, remaining: 0).finish()
                        } else {
                            var frame = Frame(kind: kind, remaining: elements)
                            // Reserve only what the bytes at hand could hold (3 bytes is the smallest
                            // element, `_\r\n`), never what the header claims.
                            frame.elements.reserveCapacity(Swift.min(elements, (count - pos) / 3))
                            try pushFrame(frame, offset: elementOffset)
                            continue parsing
                        }
                    case .invalid:
                        throw RESPDecodingError(.invalidLength, offset: elementOffset)
                    }
                case UInt8(ascii: "."):
                    guard let top = stack.last, top.remaining == -1, top.kind != .streamedString, line.isEmpty else {
                        throw RESPDecodingError(.unexpectedStreamMarker(type), offset: elementOffset)
                    }
                    if top.kind.isPaired, top.elements.count % 2 != 0 {
                        throw RESPDecodingError(.oddStreamedMap, offset: elementOffset)
                    }
                    let frame = stack.removeLast()
                    if frame.kind == .attribute {
                        try pushFrame(Frame(kind: .attributeTarget, remaining: 1, attributes: frame.pairs()), offset: elementOffset)
                        continue parsing
                    }
                    element = frame.finish()
                case UInt8(ascii: "_"):
                    guard line.isEmpty else { throw RESPDecodingError(.invalidNull, offset: elementOffset) }
                    element = .null
                case UInt8(ascii: "#"):
                    guard line.count == 1, line[0] == UInt8(ascii: "t") || line[0] == UInt8(ascii: "f") else {
                        throw RESPDecodingError(.invalidBoolean, offset: elementOffset)
                    }
                    element = .boolean(line[0] == UInt8(ascii: "t"))
                case UInt8(ascii: ","):
                    guard let d = Self.parseDouble(line) else {
                        throw RESPDecodingError(.invalidDouble, offset: elementOffset)
                    }
                    element = .double(d)
                case UInt8(ascii: "("):
                    guard Self.isBigNumber(line) else {
                        throw RESPDecodingError(.invalidBigNumber, offset: elementOffset)
                    }
                    element = .bigNumber(String(decoding: line, as: UTF8.self))
                default:
                    throw RESPDecodingError(.unknownType(type), offset: elementOffset)
                }
            }

            // Hand the element to the innermost open aggregate; close every aggregate it completes.
            while true {
                guard !stack.isEmpty else {
                    streamOffset += pos
                    return (element, pos)
                }
                let top = stack.count - 1
                stack[top].elements.append(element)
                if stack[top].remaining > 0 { stack[top].remaining -= 1 }
                guard stack[top].remaining == 0 else { continue parsing }
                let frame = stack.removeLast()
                if frame.kind == .attribute {
                    // The attribute map is complete; the value it annotates comes next.
                    stack.append(Frame(kind: .attributeTarget, remaining: 1, attributes: frame.pairs()))
                    continue parsing
                }
                element = frame.finish()
            }
        }
    }

    private mutating func pushFrame(_ frame: Frame, offset: Int) throws(RESPDecodingError) {
        guard stack.count < limits.maxDepth else {
            throw RESPDecodingError(.tooDeep(limit: limits.maxDepth), offset: offset)
        }
        stack.append(frame)
    }

    // MARK: - Element helpers

    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")

    private static func makeBulk(type: UInt8, _ payload: UnsafeBufferPointer<UInt8>, offset: Int) throws(RESPDecodingError) -> RESPValue {
        switch type {
        case UInt8(ascii: "!"):
            return .error(RESPServerError(line: String(decoding: payload, as: UTF8.self), isBulk: true))
        case UInt8(ascii: "="):
            guard payload.count >= 4, payload[3] == UInt8(ascii: ":") else {
                throw RESPDecodingError(.invalidVerbatimString, offset: offset)
            }
            return .verbatimString(format: String(decoding: payload[0..<3], as: UTF8.self),
                                   text: copy(UnsafeBufferPointer(rebasing: payload[4...])))
        default:
            return .bulkString(copy(payload))
        }
    }

    /// A memcpy into a new array (`Array(payload)` iterates element by element in debug builds).
    static func copy(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: bytes.count) { out, n in
            if let src = bytes.baseAddress, bytes.count > 0 { out.baseAddress!.update(from: src, count: bytes.count) }
            n = bytes.count
        }
    }

    enum Length: Equatable {
        case count(Int), null, streamed, invalid
    }

    /// A non-negative decimal; `-1` (RESP2 null) and `?` (RESP3 streamed) where the type allows.
    static func parseLength(_ line: UnsafeBufferPointer<UInt8>, allowNull: Bool, allowStreamed: Bool) -> Length {
        if line.count == 1, line[0] == UInt8(ascii: "?") { return allowStreamed ? .streamed : .invalid }
        if line.count == 2, line[0] == UInt8(ascii: "-"), line[1] == UInt8(ascii: "1") { return allowNull ? .null : .invalid }
        guard !line.isEmpty, line.count <= 19 else { return .invalid }
        var value = 0
        for byte in line {
            let digit = byte &- UInt8(ascii: "0")
            guard digit <= 9 else { return .invalid }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int(digit))
            guard !o1, !o2 else { return .invalid }
            value = s
        }
        return .count(value)
    }

    /// `[+|-]digits` within Int64.
    static func parseInteger(_ line: UnsafeBufferPointer<UInt8>) -> Int64? {
        var index = 0
        var negative = false
        if let first = line.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            index = 1
        }
        guard index < line.count else { return nil }
        var value: Int64 = 0
        while index < line.count {
            let digit = line[index] &- UInt8(ascii: "0")
            guard digit <= 9 else { return nil }
            // Accumulate negatively so Int64.min parses.
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.subtractingReportingOverflow(Int64(digit))
            guard !o1, !o2 else { return nil }
            value = s
            index += 1
        }
        if negative { return value }
        guard value != Int64.min else { return nil }
        return -value
    }

    /// `[sign]digits[.digits][(e|E)[sign]digits]`, or `inf`, `-inf`, `nan` exactly as RESP3 spells them.
    static func parseDouble(_ line: UnsafeBufferPointer<UInt8>) -> Double? {
        if line.elementsEqual("inf".utf8) || line.elementsEqual("+inf".utf8) { return .infinity }
        if line.elementsEqual("-inf".utf8) { return -.infinity }
        if line.elementsEqual("nan".utf8) || line.elementsEqual("-nan".utf8) { return .nan }
        var i = 0
        let n = line.count
        func digits() -> Int {
            let start = i
            while i < n, line[i] &- UInt8(ascii: "0") <= 9 { i += 1 }
            return i - start
        }
        if i < n, line[i] == UInt8(ascii: "-") || line[i] == UInt8(ascii: "+") { i += 1 }
        guard digits() > 0 else { return nil }
        if i < n, line[i] == UInt8(ascii: ".") {
            i += 1
            guard digits() > 0 else { return nil }
        }
        if i < n, line[i] == UInt8(ascii: "e") || line[i] == UInt8(ascii: "E") {
            i += 1
            if i < n, line[i] == UInt8(ascii: "-") || line[i] == UInt8(ascii: "+") { i += 1 }
            guard digits() > 0 else { return nil }
        }
        guard i == n else { return nil }
        return Double(String(decoding: line, as: UTF8.self))
    }

    static func isBigNumber(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        var digits = line[...]
        if let first = digits.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") { digits = digits.dropFirst() }
        return !digits.isEmpty && digits.allSatisfy { $0 &- UInt8(ascii: "0") <= 9 }
    }
}

extension RESPDecoder {
    enum Pending: Sendable, Equatable {
        case bulk(type: UInt8, length: Int)
        case chunk(length: Int)
    }

    /// An aggregate whose header was read and whose elements are still arriving.
    struct Frame: Sendable {
        enum Kind: Sendable, Equatable {
            case array, set, push, map, attribute, attributeTarget, streamedString

            init(_ type: UInt8) {
                switch type {
                case UInt8(ascii: "~"): self = .set
                case UInt8(ascii: ">"): self = .push
                case UInt8(ascii: "%"): self = .map
                case UInt8(ascii: "|"): self = .attribute
                default: self = .array
                }
            }

            var isPaired: Bool { self == .map || self == .attribute }
        }

        var kind: Kind
        /// Elements still expected; -1 for a streamed aggregate (ends with `.`).
        var remaining: Int
        var elements: [RESPValue] = []
        var attributes: [RESPPair] = []
        var bytes: [UInt8] = []

        init(kind: Kind, remaining: Int, attributes: [RESPPair] = []) {
            self.kind = kind
            self.remaining = remaining
            self.attributes = attributes
        }

        func pairs() -> [RESPPair] {
            var result: [RESPPair] = []
            result.reserveCapacity(elements.count / 2)
            var i = 0
            while i + 1 < elements.count {
                result.append(RESPPair(elements[i], elements[i + 1]))
                i += 2
            }
            return result
        }

        func finish() -> RESPValue {
            switch kind {
            case .array: return .array(elements)
            case .set: return .set(elements)
            case .push: return .push(elements)
            case .map, .attribute: return .map(pairs())
            case .attributeTarget: return .attributed(attributes: attributes, value: elements[0])
            case .streamedString: return .bulkString(bytes)
            }
        }
    }
}
