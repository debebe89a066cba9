/// Incremental HTTP/1.1 response parser for a client (sans-I/O).
///
/// Feed bytes as they arrive, pull parts with `next()`. Handles Content-Length, chunked and
/// close-delimited bodies, bodiless responses (HEAD, 1xx, 204, 304) and interim `100 Continue`
/// heads. The head is scanned once (never rescanned across reads) and bounded by `maxHeadBytes`.
public struct HTTPResponseParser: Sendable {
    public struct Limits: Sendable {
        public var maxHeadBytes: Int = 64 * 1024
        public var maxHeaderCount: Int = 256
        public init() {}
    }

    enum State: Sendable, Hashable {
        /// No request outstanding.
        case idle
        /// Looking for the end of a head; bytes before `scanned` hold no CRLFCRLF.
        case head(scanned: Int)
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilClose
    }

    public let limits: Limits
    private var buffer: [UInt8] = []
    private var readIndex = 0
    private(set) var state: State = .idle
    private var requestIsHEAD = false
    private var reusable = true
    private var bodyReceived = 0
    /// Whether any byte arrived since `expectResponse`.
    public private(set) var responseStarted = false

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// Whether no response is in progress.
    public var isIdle: Bool { state == .idle }
    /// Bytes received but not yet parsed.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// Call before the response to a request with this method is parsed.
    public mutating func expectResponse(toMethod method: String) {
        precondition(state == .idle, "a response is already in progress")
        requestIsHEAD = method == "HEAD"
        reusable = true
        bodyReceived = 0
        responseStarted = readIndex < buffer.count
        state = .head(scanned: readIndex)
    }

    public mutating func feed(_ bytes: some Collection<UInt8>) {
        if readIndex > 0 && (readIndex == buffer.count || readIndex >= 64 * 1024) {
            buffer.removeSubrange(0..<readIndex)
            if case .head(let scanned) = state { state = .head(scanned: scanned - readIndex) }
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
        if state != .idle && !bytes.isEmpty { responseStarted = true }
    }

    /// The next part, or nil when more bytes are needed.
    public mutating func next() throws(HTTPMessageError) -> HTTPResponsePart? {
        switch state {
        case .idle:
            if readIndex < buffer.count { throw .unexpectedData }
            return nil

        case .head(let scanned):
            guard let end = findHeadEnd(from: max(scanned, readIndex)) else {
                let pending = buffer.count - readIndex
                if pending > limits.maxHeadBytes { throw .headTooLarge(limit: limits.maxHeadBytes) }
                state = .head(scanned: max(readIndex, buffer.count - 3))
                return nil
            }
            if end - readIndex > limits.maxHeadBytes { throw .headTooLarge(limit: limits.maxHeadBytes) }
            let head = try parseHead(buffer[readIndex..<end])
            readIndex = end + 4
            if head.isInformational && head.status != 101 {
                state = .head(scanned: readIndex)
                return .head(head)
            }
            // Both framings at once is how responses are smuggled: use Transfer-Encoding, as
            // RFC 9112 §6.3 says, and never trust this connection with another response.
            reusable = head.keepAlive && !(head.headers.contains("Transfer-Encoding") && head.headers.contains("Content-Length"))
            state = try bodyState(for: head)
            return .head(head)

        case .fixedBody(let remaining):
            if remaining == 0 { return finish() }
            let available = buffer.count - readIndex
            if available == 0 { return nil }
            let n = min(available, remaining)
            let chunk = Array(buffer[readIndex..<readIndex + n])
            readIndex += n
            bodyReceived += n
            state = .fixedBody(remaining: remaining - n)
            return .body(chunk)

        case .chunkSize:
            guard let lineEnd = findCRLF(from: readIndex) else {
                if buffer.count - readIndex > 1024 { throw .invalidChunk("chunk size line too long") }
                return nil
            }
            let size = try parseChunkSize(buffer[readIndex..<lineEnd])
            readIndex = lineEnd + 2
            state = size == 0 ? .trailers : .chunkData(remaining: size)
            return try next()

        case .chunkData(let remaining):
            let available = buffer.count - readIndex
            if available == 0 { return nil }
            let n = min(available, remaining)
            let chunk = Array(buffer[readIndex..<readIndex + n])
            readIndex += n
            bodyReceived += n
            state = n == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - n)
            return .body(chunk)

        case .chunkDataEnd:
            if buffer.count - readIndex < 2 { return nil }
            guard buffer[readIndex] == 0x0d, buffer[readIndex + 1] == 0x0a else {
                throw .invalidChunk("missing CRLF after chunk data")
            }
            readIndex += 2
            state = .chunkSize
            return try next()

        case .trailers:
            // Trailer fields are read and dropped; an empty line ends the message.
            while true {
                guard let lineEnd = findCRLF(from: readIndex) else {
                    if buffer.count - readIndex > limits.maxHeadBytes { throw .headTooLarge(limit: limits.maxHeadBytes) }
                    return nil
                }
                let empty = lineEnd == readIndex
                readIndex = lineEnd + 2
                if empty { return finish() }
            }

        case .untilClose:
            let available = buffer.count - readIndex
            if available == 0 { return nil }
            let chunk = Array(buffer[readIndex...])
            readIndex = buffer.count
            bodyReceived += chunk.count
            return .body(chunk)
        }
    }

    /// The peer closed its side: ends a close-delimited body, otherwise reports truncation.
    public mutating func endOfInput() throws(HTTPMessageError) -> HTTPResponsePart? {
        switch state {
        case .idle: return nil
        case .untilClose:
            if readIndex < buffer.count { return try next() }
            reusable = false
            return finish()
        case .fixedBody(let remaining):
            throw .truncated(expected: bodyReceived + remaining, received: bodyReceived)
        default:
            throw .truncated(expected: nil, received: bodyReceived)
        }
    }

    private mutating func finish() -> HTTPResponsePart {
        state = .idle
        // Bytes after a response we did not ask for mean the framing cannot be trusted.
        let ok = reusable && readIndex == buffer.count
        return .end(reusable: ok)
    }

    private func bodyState(for head: HTTPResponseHead) throws(HTTPMessageError) -> State {
        if requestIsHEAD || head.status == 204 || head.status == 304 || head.isInformational {
            return .fixedBody(remaining: 0)
        }
        let te = head.headers.values("Transfer-Encoding")
        if !te.isEmpty {
            let codings = te.flatMap { $0.split(separator: ",") }.map { $0.trimmingSpaces.lowercased() }
            guard codings == ["chunked"] else { throw .unsupportedTransferEncoding(te.joined(separator: ", ")) }
            return .chunkSize
        }
        let lengths = head.headers.values("Content-Length")
        if !lengths.isEmpty {
            var value: Int?
            for raw in lengths.flatMap({ $0.split(separator: ",", omittingEmptySubsequences: false) }) {
                let text = raw.trimmingSpaces
                guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                      let n = Int(text) else { throw .invalidContentLength(lengths.joined(separator: ", ")) }
                if let v = value, v != n { throw .invalidContentLength(lengths.joined(separator: ", ")) }
                value = n
            }
            return .fixedBody(remaining: value!)
        }
        return .untilClose
    }

    private func parseHead(_ bytes: ArraySlice<UInt8>) throws(HTTPMessageError) -> HTTPResponseHead {
        var lines = bytes.split(separator: 0x0a, omittingEmptySubsequences: false).makeIterator()
        guard let statusLine = lines.next().map(Self.dropCR) else { throw .invalidStatusLine("") }
        let s = statusLine
        // "HTTP/1.x SSS[ reason]"
        guard s.count >= 12, s.starts(with: "HTTP/1.".utf8), s[s.startIndex + 8] == 0x20,
              let minor = Self.digit(s[s.startIndex + 7]),
              let d1 = Self.digit(s[s.startIndex + 9]), let d2 = Self.digit(s[s.startIndex + 10]),
              let d3 = Self.digit(s[s.startIndex + 11]), d1 >= 1,
              s.count == 12 || s[s.startIndex + 12] == 0x20
        else { throw .invalidStatusLine(String(decoding: s, as: UTF8.self)) }
        let status = d1 * 100 + d2 * 10 + d3
        let reason = s.count > 13 ? String(decoding: s[(s.startIndex + 13)...], as: UTF8.self) : ""
        var headers = HTTPHeaders()
        while let raw = lines.next() {
            let line = Self.dropCR(raw)
            if line.isEmpty { continue }
            guard headers.count < limits.maxHeaderCount else { throw .invalidHeader("more than \(limits.maxHeaderCount) fields") }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
                  line[line.startIndex..<colon].allSatisfy(Self.isTokenByte)
            else { throw .invalidHeader(String(decoding: line, as: UTF8.self)) }
            var v = line[(colon + 1)...]
            while let f = v.first, f == 0x20 || f == 0x09 { v = v.dropFirst() }
            while let l = v.last, l == 0x20 || l == 0x09 { v = v.dropLast() }
            guard !v.contains(where: { $0 == 0 || $0 == 0x0d }) else { throw .invalidHeader(String(decoding: line, as: UTF8.self)) }
            headers.add(String(decoding: line[line.startIndex..<colon], as: UTF8.self), String(decoding: v, as: UTF8.self))
        }
        let connection = headers.values("Connection").flatMap { $0.split(separator: ",") }.map { $0.trimmingSpaces.lowercased() }
        let keepAlive = minor >= 1 ? !connection.contains("close") : connection.contains("keep-alive")
        return HTTPResponseHead(status: status, reason: reason, minorVersion: minor, headers: headers, keepAlive: keepAlive)
    }

    private func parseChunkSize(_ line: ArraySlice<UInt8>) throws(HTTPMessageError) -> Int {
        var size = 0
        var digits = 0
        for b in line {
            if b == UInt8(ascii: ";") || b == 0x20 || b == 0x09 { break }  // chunk extensions are ignored
            guard let v = Self.hexValue(b) else { throw .invalidChunk("bad size \(String(decoding: line, as: UTF8.self))") }
            digits += 1
            guard digits <= 15 else { throw .invalidChunk("size too large") }
            size = size << 4 | v
        }
        guard digits > 0 else { throw .invalidChunk("empty size line") }
        return size
    }

    private func findHeadEnd(from start: Int) -> Int? {
        var i = start
        let end = buffer.count - 3
        while i < end {
            if buffer[i] == 0x0d && buffer[i + 1] == 0x0a && buffer[i + 2] == 0x0d && buffer[i + 3] == 0x0a { return i }
            i += 1
        }
        return nil
    }

    private func findCRLF(from start: Int) -> Int? {
        var i = start
        while i + 1 < buffer.count {
            if buffer[i] == 0x0d && buffer[i + 1] == 0x0a { return i }
            i += 1
        }
        return nil
    }

    private static func dropCR(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        line.last == 0x0d ? line.dropLast() : line
    }

    private static func digit(_ b: UInt8) -> Int? { b >= 48 && b <= 57 ? Int(b - 48) : nil }

    private static func hexValue(_ b: UInt8) -> Int? {
        switch b {
        case 48...57: return Int(b - 48)
        case 97...102: return Int(b - 87)
        case 65...70: return Int(b - 55)
        default: return nil
        }
    }

    /// RFC 9110 tchar.
    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5a, 0x61...0x7a: return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default: return false
        }
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
