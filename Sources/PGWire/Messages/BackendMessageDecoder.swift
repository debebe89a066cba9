/// Splits the server's byte stream into messages and decodes each one.
///
/// Framing only looks at the 5-byte header until the whole frame has arrived, so feeding the
/// stream in any number of pieces never re-parses a body. The declared length is checked against
/// `maxMessageLength` before anything waits for or allocates that many bytes.
public struct BackendMessageDecoder: Sendable {
    /// Largest frame accepted (length field, including itself). DataRow and CopyData can be big;
    /// 1 GiB is PostgreSQL's own limit on a field, so the default stays well below memory limits.
    public var maxMessageLength: Int

    public init(maxMessageLength: Int = 256 << 20) {
        self.maxMessageLength = maxMessageLength
    }

    /// Result of looking at the front of the buffer.
    public enum Frame: Equatable {
        /// Not enough bytes yet; at least `needed` bytes in total must be present.
        case incomplete(needed: Int)
        /// A whole message of `length` bytes (tag included) starts at offset 0.
        case complete(tag: UInt8, length: Int)
    }

    /// Checks the header at the front of `bytes`.
    @inlinable
    public func frame(_ bytes: UnsafeRawBufferPointer) throws(PGError) -> Frame {
        guard bytes.count >= 5 else { return .incomplete(needed: 5) }
        let tag = bytes[0]
        let len = Int(Int32(bitPattern: UInt32(bytes[1]) << 24 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 8 | UInt32(bytes[4])))
        guard len >= 4 else { throw PGError.protocolViolation("message '\(printable(tag))' declares length \(len)") }
        guard len <= maxMessageLength else { throw PGError.messageTooLong(tag: tag, length: len, maximum: maxMessageLength) }
        guard bytes.count >= len + 1 else { return .incomplete(needed: len + 1) }
        return .complete(tag: tag, length: len + 1)
    }

    /// Decodes one message from the front of `bytes`: the message and the bytes it used, or nil
    /// when the frame is not complete yet.
    public func decode(_ bytes: UnsafeRawBufferPointer) throws(PGError) -> (BackendMessage, Int)? {
        guard case .complete(let tag, let length) = try frame(bytes) else { return nil }
        let body = UnsafeRawBufferPointer(rebasing: bytes[5..<length])
        return (try Self.decodeBody(tag: tag, body), length)
    }

    /// Decodes a message body (after tag and length).
    public static func decodeBody(tag: UInt8, _ body: UnsafeRawBufferPointer) throws(PGError) -> BackendMessage {
        var r = MessageReader(body, tag: tag)
        let message: BackendMessage
        switch tag {
        case UInt8(ascii: "R"): message = .authentication(try decodeAuthentication(&r))
        case UInt8(ascii: "K"):
            message = .backendKeyData(BackendKeyData(processID: try r.int32(), secretKey: try r.int32()))
        case UInt8(ascii: "2"): message = .bindComplete
        case UInt8(ascii: "3"): message = .closeComplete
        case UInt8(ascii: "C"): message = .commandComplete(try r.cString())
        case UInt8(ascii: "d"): message = .copyData(r.rest())
        case UInt8(ascii: "c"): message = .copyDone
        case UInt8(ascii: "G"): message = .copyInResponse(try decodeCopyResponse(&r))
        case UInt8(ascii: "H"): message = .copyOutResponse(try decodeCopyResponse(&r))
        case UInt8(ascii: "W"): message = .copyBothResponse(try decodeCopyResponse(&r))
        case UInt8(ascii: "D"): message = .dataRow(try decodeDataRow(&r))
        case UInt8(ascii: "I"): message = .emptyQueryResponse
        case UInt8(ascii: "E"): message = .errorResponse(try decodeFields(&r))
        case UInt8(ascii: "N"): message = .noticeResponse(try decodeFields(&r))
        case UInt8(ascii: "v"):
            let minor = try r.int32()
            let n = try r.int32()
            guard n >= 0, Int(n) <= r.remaining else { throw r.malformed("option count \(n)") }
            var options = [String]()
            for _ in 0..<n { options.append(try r.cString()) }
            message = .negotiateProtocolVersion(newestMinor: minor, unrecognizedOptions: options)
        case UInt8(ascii: "n"): message = .noData
        case UInt8(ascii: "A"):
            message = .notificationResponse(PGNotification(processID: try r.int32(), channel: try r.cString(), payload: try r.cString()))
        case UInt8(ascii: "t"):
            let n = Int(try r.int16())
            guard n >= 0, n * 4 <= r.remaining else { throw r.malformed("parameter count \(n)") }
            var oids = [PGOID]()
            oids.reserveCapacity(n)
            for _ in 0..<n { oids.append(PGOID(rawValue: UInt32(bitPattern: try r.int32()))) }
            message = .parameterDescription(oids)
        case UInt8(ascii: "S"): message = .parameterStatus(name: try r.cString(), value: try r.cString())
        case UInt8(ascii: "1"): message = .parseComplete
        case UInt8(ascii: "s"): message = .portalSuspended
        case UInt8(ascii: "Z"):
            guard let status = TransactionStatus(rawValue: try r.byte()) else { throw r.malformed("unknown transaction status") }
            message = .readyForQuery(status)
        case UInt8(ascii: "T"): message = .rowDescription(try decodeRowDescription(&r))
        default:
            throw PGError.protocolViolation("unknown message type '\(printable(tag))' (0x\(String(tag, radix: 16)))")
        }
        try r.expectEnd()
        return message
    }

    static func decodeAuthentication(_ r: inout MessageReader) throws(PGError) -> AuthenticationRequest {
        let code = try r.int32()
        switch code {
        case 0: return .ok
        case 3: return .cleartextPassword
        case 5: return .md5Password(salt: try r.bytes(4))
        case 10:
            var mechanisms = [String]()
            while true {
                let m = try r.cString()
                if m.isEmpty { break }
                mechanisms.append(m)
            }
            return .sasl(mechanisms: mechanisms)
        case 11: return .saslContinue(r.rest())
        case 12: return .saslFinal(r.rest())
        default:
            _ = r.rest()  // GSS/SSPI payloads are not ours to read
            return .unsupported(code: code)
        }
    }

    static func decodeCopyResponse(_ r: inout MessageReader) throws(PGError) -> CopyResponse {
        guard let format = PGFormat(rawValue: Int16(try r.byte())) else { throw r.malformed("copy format") }
        let n = Int(try r.int16())
        guard n >= 0, n * 2 <= r.remaining else { throw r.malformed("column count \(n)") }
        var formats = [PGFormat]()
        formats.reserveCapacity(n)
        for _ in 0..<n {
            guard let f = PGFormat(rawValue: try r.int16()) else { throw r.malformed("column format") }
            formats.append(f)
        }
        return CopyResponse(format: format, columnFormats: formats)
    }

    static func decodeDataRow(_ r: inout MessageReader) throws(PGError) -> DataRow {
        let n = Int(try r.int16())
        // Each column needs at least its 4-byte length: bound the count by the bytes present.
        guard n >= 0, n * 4 <= r.remaining else { throw r.malformed("column count \(n) for \(r.remaining) bytes") }
        let start = r.offset
        for _ in 0..<n {
            let len = Int(try r.int32())
            if len >= 0 { try r.skip(len) } else if len != -1 { throw r.malformed("value length \(len)") }
        }
        return DataRow(columnCount: n, storage: r.slice(from: start))
    }

    static func decodeRowDescription(_ r: inout MessageReader) throws(PGError) -> RowDescription {
        let n = Int(try r.int16())
        // Each field is at least 19 bytes (empty name + NUL + 18 bytes of attributes).
        guard n >= 0, n * 19 <= r.remaining else { throw r.malformed("field count \(n) for \(r.remaining) bytes") }
        var columns = [RowDescription.Column]()
        columns.reserveCapacity(n)
        for _ in 0..<n {
            let name = try r.cString()
            let table = UInt32(bitPattern: try r.int32())
            let attr = try r.int16()
            let type = PGOID(rawValue: UInt32(bitPattern: try r.int32()))
            let size = try r.int16()
            let mod = try r.int32()
            guard let format = PGFormat(rawValue: try r.int16()) else { throw r.malformed("format code") }
            columns.append(.init(name: name, tableOID: table, columnAttributeNumber: attr, dataType: type,
                                 dataTypeSize: size, typeModifier: mod, format: format))
        }
        return RowDescription(columns: columns)
    }

    static func decodeFields(_ r: inout MessageReader) throws(PGError) -> PGServerError {
        var fields = [UInt8: String]()
        while true {
            let code = try r.byte()
            if code == 0 { break }
            fields[code] = try r.cString()
        }
        return PGServerError(fields: fields)
    }
}

@usableFromInline
func printable(_ tag: UInt8) -> String {
    (0x20..<0x7f).contains(tag) ? String(Character(Unicode.Scalar(tag))) : "\\x" + String(tag, radix: 16)
}

/// A bounds-checked cursor over one message body.
struct MessageReader {
    let base: UnsafeRawBufferPointer
    let tag: UInt8
    var offset = 0

    init(_ base: UnsafeRawBufferPointer, tag: UInt8) { self.base = base; self.tag = tag }

    var remaining: Int { base.count - offset }

    func malformed(_ what: String) -> PGError {
        .protocolViolation("malformed '\(printable(tag))' message: \(what)")
    }

    mutating func byte() throws(PGError) -> UInt8 {
        guard remaining >= 1 else { throw malformed("truncated") }
        defer { offset += 1 }
        return base[offset]
    }

    mutating func int16() throws(PGError) -> Int16 {
        guard remaining >= 2 else { throw malformed("truncated") }
        defer { offset += 2 }
        return Int16(bitPattern: UInt16(base[offset]) << 8 | UInt16(base[offset + 1]))
    }

    mutating func int32() throws(PGError) -> Int32 {
        guard remaining >= 4 else { throw malformed("truncated") }
        defer { offset += 4 }
        return Int32(bitPattern: UInt32(base[offset]) << 24 | UInt32(base[offset + 1]) << 16
            | UInt32(base[offset + 2]) << 8 | UInt32(base[offset + 3]))
    }

    mutating func cString() throws(PGError) -> String {
        var end = offset
        while end < base.count && base[end] != 0 { end += 1 }
        guard end < base.count else { throw malformed("unterminated string") }
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: base[offset..<end]), as: UTF8.self)
        offset = end + 1
        return s
    }

    mutating func bytes(_ n: Int) throws(PGError) -> [UInt8] {
        guard n >= 0, remaining >= n else { throw malformed("truncated") }
        defer { offset += n }
        return Array(UnsafeRawBufferPointer(rebasing: base[offset..<(offset + n)]))
    }

    mutating func skip(_ n: Int) throws(PGError) {
        guard n >= 0, remaining >= n else { throw malformed("value runs past the end") }
        offset += n
    }

    mutating func rest() -> [UInt8] {
        defer { offset = base.count }
        return Array(UnsafeRawBufferPointer(rebasing: base[offset...]))
    }

    func slice(from start: Int) -> [UInt8] {
        Array(UnsafeRawBufferPointer(rebasing: base[start..<offset]))
    }

    func expectEnd() throws(PGError) {
        guard remaining == 0 else { throw malformed("\(remaining) trailing bytes") }
    }
}

/// A decoder with its own buffer: feed bytes in any pieces, pull whole messages.
/// Used by tests and the fuzzer; the connection decodes straight from its receive buffer.
public struct BackendMessageStream: Sendable {
    public var decoder: BackendMessageDecoder
    private var buffer: [UInt8] = []
    private var readIndex = 0

    public init(decoder: BackendMessageDecoder = .init()) { self.decoder = decoder }

    public mutating func feed<C: Collection<UInt8>>(_ bytes: C) {
        if readIndex > 0 && readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true); readIndex = 0
        } else if readIndex > 4096 && readIndex * 2 > buffer.count {
            buffer.removeFirst(readIndex); readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete message, or nil when more bytes are needed.
    public mutating func next() throws(PGError) -> BackendMessage? {
        let start = readIndex
        let decoder = self.decoder
        let result: Result<(BackendMessage, Int)?, PGError> = buffer.withUnsafeBytes { raw in
            let view = UnsafeRawBufferPointer(rebasing: raw[start...])
            do throws(PGError) { return .success(try decoder.decode(view)) } catch { return .failure(error) }
        }
        guard let (message, used) = try result.get() else { return nil }
        readIndex += used
        return message
    }

    public var bufferedBytes: Int { buffer.count - readIndex }
}
