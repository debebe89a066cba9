/// An incremental, strict HTTP/1.1 request parser (RFC 9112), with no I/O.
///
/// Feed it the bytes received so far that it has not consumed yet; each call returns how many bytes
/// it consumed and at most one event. Body bytes are never copied: a `.body` event names a range of
/// the input you passed. A partial line is kept in *your* buffer, and the parser remembers how far it
/// already scanned it, so no byte is scanned twice however the input is split.
///
///     var offset = 0
///     while true {
///         let step = try parser.parse(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
///         defer { offset += step.consumed }
///         guard let event = step.event else { break }   // needs more bytes
///         ...
///     }
///
/// Any framing ambiguity is an error (HTTPParseError, carrying the status to answer); after one, the
/// parser stays failed: the connection must be closed.
public struct HTTPRequestParser: Sendable {
    public enum Event: Sendable, Equatable {
        case head(HTTPRequestHead)
        /// Body bytes: a range of the input passed to the call that returned this event.
        case body(Range<Int>)
        /// The request is complete; trailer fields of a chunked body, if any.
        case end(trailers: HTTPFields)
    }

    public struct Step: Sendable, Equatable {
        public var consumed: Int
        /// nil: every byte that could be used was consumed; call again with more input.
        public var event: Event?
        public init(consumed: Int, event: Event?) {
            self.consumed = consumed
            self.event = event
        }
    }

    enum State: Sendable {
        case requestLine
        case headerLines
        case bodyPending
        case contentBody(remaining: Int)
        case chunkSizeLine
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailerLines
        case endPending
        case failed(HTTPParseError)
    }

    public let limits: HTTPParserLimits
    var state: State = .requestLine
    /// Bytes of the current incomplete line already scanned without finding its end.
    var lineScanned = 0
    /// Bytes of the current header or trailer section consumed so far.
    var sectionBytes = 0
    /// Bytes consumed since the connection started, for error offsets.
    var streamOffset = 0
    var bodyLimitKind: HTTPBodyLimitKind = .collected
    var bodyBytesAnnounced = 0
    var message = PartialMessage()

    /// What the header section said so far about the request being parsed.
    struct PartialMessage: Sendable {
        var method = HTTPMethod.get
        var target = ""
        var version = HTTPVersion.http1_1
        var fields = HTTPFields()
        var trailers = HTTPFields()
        var contentLength: Int?
        var hasTransferEncoding = false
        var chunkedIsLast = false
        var otherCoding: String?
        var hostCount = 0
        var connectionClose = false
        var connectionKeepAlive = false
        var expectsContinue = false
        var unsupportedExpectation: String?
    }

    /// No registered method is longer than 17 bytes; a longer token is noise, not a method.
    static let maxMethodLength = 64

    public init(limits: HTTPParserLimits = HTTPParserLimits()) {
        self.limits = limits
    }

    /// Picks the body limit for the request whose head was just returned (default: collected).
    /// Call it after `.head` and before the next `parse`.
    public mutating func setBodyLimit(_ kind: HTTPBodyLimitKind) {
        bodyLimitKind = kind
    }

    /// True between two requests with no byte of the next one consumed: the only point where an
    /// idle keep-alive connection may be closed without cutting a request in half.
    public var isIdle: Bool {
        if case .requestLine = state, lineScanned == 0, sectionBytes == 0 { return true }
        return false
    }

    /// True while the head of a request is being read (header timeout applies).
    public var isReadingHead: Bool {
        switch state {
        case .requestLine: return lineScanned > 0 || sectionBytes > 0
        case .headerLines: return true
        default: return false
        }
    }

    public mutating func parse(_ input: UnsafeRawBufferPointer) throws(HTTPParseError) -> Step {
        if case .failed(let error) = state { throw error }
        do throws(HTTPParseError) {
            let step = try advance(input)
            streamOffset += step.consumed
            return step
        } catch {
            state = .failed(error)
            throw error
        }
    }

    /// Convenience for arrays (tests, fuzzing).
    public mutating func parse(_ input: [UInt8]) throws(HTTPParseError) -> Step {
        let result = input.withUnsafeBytes { p in Result { () throws(HTTPParseError) -> Step in try parse(p) } }
        return try result.get()
    }

    // MARK: - The machine

    private mutating func advance(_ input: UnsafeRawBufferPointer) throws(HTTPParseError) -> Step {
        var consumed = 0
        while true {
            switch state {
            case .failed(let error):
                throw error

            case .requestLine:
                let rest = UnsafeRawBufferPointer(rebasing: input[consumed...])
                guard let (end, next) = try scanLine(rest, at: consumed) else {
                    try checkIncompleteRequestLine(rest, at: consumed)
                    return Step(consumed: consumed, event: nil)
                }
                if end == 0 {
                    // RFC 9112 §2.2: empty lines before a request line are ignored (bounded by the
                    // header limit so a stream of CRLFs cannot keep us busy forever).
                    sectionBytes += 2
                    if sectionBytes > limits.maxHeaderBytes {
                        throw HTTPParseError(.headerSectionTooLarge, offset: streamOffset + consumed)
                    }
                    consumed += next
                    continue
                }
                sectionBytes = next
                if sectionBytes > limits.maxHeaderBytes {
                    throw HTTPParseError(.headerSectionTooLarge, offset: streamOffset + consumed)
                }
                try parseRequestLine(UnsafeRawBufferPointer(rebasing: rest[..<end]), at: streamOffset + consumed)
                consumed += next
                state = .headerLines

            case .headerLines:
                let rest = UnsafeRawBufferPointer(rebasing: input[consumed...])
                guard let (end, next) = try scanLine(rest, at: consumed) else {
                    if sectionBytes + rest.count > limits.maxHeaderBytes {
                        throw HTTPParseError(.headerSectionTooLarge, offset: streamOffset + consumed)
                    }
                    return Step(consumed: consumed, event: nil)
                }
                sectionBytes += next
                if sectionBytes > limits.maxHeaderBytes {
                    throw HTTPParseError(.headerSectionTooLarge, offset: streamOffset + consumed)
                }
                if end == 0 {
                    consumed += next
                    let head = try finishHead(at: streamOffset + consumed)
                    state = .bodyPending
                    return Step(consumed: consumed, event: .head(head))
                }
                let field = try parseFieldLine(UnsafeRawBufferPointer(rebasing: rest[..<end]), at: streamOffset + consumed)
                if message.fields.count >= limits.maxHeaderCount {
                    throw HTTPParseError(.tooManyFields, offset: streamOffset + consumed)
                }
                try noteHeader(name: field.name, value: field.value, at: streamOffset + consumed)
                message.fields.append(
                    name: String(decoding: field.name, as: UTF8.self),
                    value: String(decoding: field.value, as: UTF8.self))
                consumed += next

            case .bodyPending:
                let limit = bodyLimitKind == .collected ? limits.maxCollectedBodyBytes : limits.maxStreamedBodyBytes
                if let length = message.contentLength, length > 0 {
                    if length > limit {
                        throw HTTPParseError(
                            .bodyTooLarge, offset: streamOffset + consumed,
                            detail: "Content-Length \(length) exceeds the limit of \(limit) bytes")
                    }
                    state = .contentBody(remaining: length)
                } else if message.hasTransferEncoding {
                    state = .chunkSizeLine
                } else {
                    state = .endPending
                }

            case .contentBody(let remaining):
                let available = input.count - consumed
                guard available > 0 else { return Step(consumed: consumed, event: nil) }
                let take = min(remaining, available)
                state = take == remaining ? .endPending : .contentBody(remaining: remaining - take)
                return Step(consumed: consumed + take, event: .body(consumed..<consumed + take))

            case .chunkSizeLine:
                let rest = UnsafeRawBufferPointer(rebasing: input[consumed...])
                guard let (end, next) = try scanLine(rest, at: consumed) else {
                    if rest.count > limits.maxChunkLineLength + 1 {
                        throw HTTPParseError(.chunkLineTooLong, offset: streamOffset + consumed)
                    }
                    return Step(consumed: consumed, event: nil)
                }
                if end > limits.maxChunkLineLength {
                    throw HTTPParseError(.chunkLineTooLong, offset: streamOffset + consumed)
                }
                let size = try parseChunkSizeLine(UnsafeRawBufferPointer(rebasing: rest[..<end]), at: streamOffset + consumed)
                consumed += next
                if size == 0 {
                    sectionBytes = 0
                    state = .trailerLines
                } else {
                    let limit = bodyLimitKind == .collected ? limits.maxCollectedBodyBytes : limits.maxStreamedBodyBytes
                    let (total, overflow) = bodyBytesAnnounced.addingReportingOverflow(size)
                    if overflow || total > limit {
                        throw HTTPParseError(
                            .bodyTooLarge, offset: streamOffset + consumed,
                            detail: "chunked body exceeds the limit of \(limit) bytes")
                    }
                    bodyBytesAnnounced = total
                    state = .chunkData(remaining: size)
                }

            case .chunkData(let remaining):
                let available = input.count - consumed
                guard available > 0 else { return Step(consumed: consumed, event: nil) }
                let take = min(remaining, available)
                state = take == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - take)
                return Step(consumed: consumed + take, event: .body(consumed..<consumed + take))

            case .chunkDataEnd:
                let available = input.count - consumed
                guard available > 0 else { return Step(consumed: consumed, event: nil) }
                guard input[consumed] == CR else {
                    throw HTTPParseError(.missingChunkTerminator, offset: streamOffset + consumed)
                }
                guard available > 1 else { return Step(consumed: consumed, event: nil) }
                guard input[consumed + 1] == LF else {
                    throw HTTPParseError(.missingChunkTerminator, offset: streamOffset + consumed + 1)
                }
                consumed += 2
                state = .chunkSizeLine

            case .trailerLines:
                let rest = UnsafeRawBufferPointer(rebasing: input[consumed...])
                guard let (end, next) = try scanLine(rest, at: consumed) else {
                    if sectionBytes + rest.count > limits.maxHeaderBytes {
                        throw HTTPParseError(.headerSectionTooLarge, offset: streamOffset + consumed)
                    }
                    return Step(consumed: consumed, event: nil)
                }
                sectionBytes += next
                if sectionBytes > limits.maxHeaderBytes {
                    throw HTTPParseError(.headerSectionTooLarge, offset: streamOffset + consumed)
                }
                consumed += next
                if end == 0 {
                    state = .endPending
                    continue
                }
                let field = try parseFieldLine(UnsafeRawBufferPointer(rebasing: rest[..<end]), at: streamOffset + consumed - next)
                if message.trailers.count >= limits.maxHeaderCount {
                    throw HTTPParseError(.tooManyFields, offset: streamOffset + consumed - next)
                }
                message.trailers.append(
                    name: String(decoding: field.name, as: UTF8.self),
                    value: String(decoding: field.value, as: UTF8.self))

            case .endPending:
                let trailers = message.trailers
                message = PartialMessage()
                sectionBytes = 0
                bodyBytesAnnounced = 0
                bodyLimitKind = .collected
                state = .requestLine
                return Step(consumed: consumed, event: .end(trailers: trailers))
            }
        }
    }

    /// Finds the end of the line starting at `input[0]`: returns (length without CRLF, length with
    /// CRLF) or nil when the line is incomplete. Only CRLF ends a line: a bare LF, or a CR followed by
    /// anything but LF, is refused (RFC 9112 §2.2 allows refusing them; accepting them is how request
    /// smuggling between lenient and strict parsers starts).
    private mutating func scanLine(_ input: UnsafeRawBufferPointer, at base: Int) throws(HTTPParseError) -> (Int, Int)? {
        var i = lineScanned
        let n = input.count
        while i < n {
            let c = input[i]
            if c == CR {
                guard i + 1 < n else {
                    lineScanned = i
                    return nil
                }
                guard input[i + 1] == LF else {
                    throw HTTPParseError(.bareCR, offset: streamOffset + base + i)
                }
                lineScanned = 0
                return (i, i + 2)
            }
            if c == LF {
                throw HTTPParseError(.bareLF, offset: streamOffset + base + i)
            }
            i += 1
        }
        lineScanned = n
        return nil
    }

    /// An incomplete request line longer than any acceptable one is refused now rather than buffered.
    private func checkIncompleteRequestLine(_ rest: UnsafeRawBufferPointer, at base: Int) throws(HTTPParseError) {
        // method (tokens beyond 64 bytes are not methods) + SP + target + SP + "HTTP/1.1"
        // The +1 allows for a final CR whose LF has not arrived: only a line certain to be refused
        // once complete is refused early, so the verdict never depends on how the bytes were split.
        let maxLine = HTTPRequestParser.maxMethodLength + 1 + limits.maxRequestTargetLength + 1 + 8
        guard rest.count > min(maxLine + 1, limits.maxHeaderBytes) else { return }
        if rest.count > limits.maxHeaderBytes {
            throw HTTPParseError(.headerSectionTooLarge, offset: streamOffset + base)
        }
        if let space = rest.prefix(HTTPRequestParser.maxMethodLength + 1).firstIndex(of: SP), space > 0 {
            throw HTTPParseError(.requestTargetTooLong, offset: streamOffset + base + space + 1)
        }
        throw HTTPParseError(.invalidMethod, offset: streamOffset + base, detail: "no method token in the first \(HTTPRequestParser.maxMethodLength) bytes")
    }

    private mutating func parseRequestLine(_ line: UnsafeRawBufferPointer, at offset: Int) throws(HTTPParseError) {
        let n = line.count
        var i = 0
        while i < n, isTokenChar(line[i]) { i += 1 }
        guard i > 0, i < n, line[i] == SP, i <= HTTPRequestParser.maxMethodLength else {
            throw HTTPParseError(i == n ? .invalidRequestLine : .invalidMethod, offset: offset + i)
        }
        let method = HTTPMethod(String(decoding: UnsafeRawBufferPointer(rebasing: line[..<i]), as: UTF8.self))
        let targetStart = i + 1
        var j = targetStart
        while j < n, line[j] != SP {
            guard isTargetChar(line[j]) else {
                throw HTTPParseError(.invalidRequestTarget, offset: offset + j)
            }
            j += 1
        }
        guard j > targetStart else { throw HTTPParseError(.invalidRequestTarget, offset: offset + j) }
        if j - targetStart > limits.maxRequestTargetLength {
            throw HTTPParseError(.requestTargetTooLong, offset: offset + targetStart)
        }
        guard j < n else { throw HTTPParseError(.invalidRequestLine, offset: offset + j, detail: "no HTTP version") }
        let v = UnsafeRawBufferPointer(rebasing: line[(j + 1)...])
        guard v.count == 8, v[0] == 0x48, v[1] == 0x54, v[2] == 0x54, v[3] == 0x50, v[4] == 0x2F,
            v[5] &- 0x30 < 10, v[6] == 0x2E, v[7] &- 0x30 < 10
        else {
            throw HTTPParseError(.invalidRequestLine, offset: offset + j + 1, detail: "malformed HTTP version")
        }
        let major = Int(v[5] - 0x30), minor = Int(v[7] - 0x30)
        guard major == 1 else {
            throw HTTPParseError(.unsupportedVersion, offset: offset + j + 1, detail: "HTTP/\(major).\(minor)")
        }
        let target = String(decoding: UnsafeRawBufferPointer(rebasing: line[targetStart..<j]), as: UTF8.self)
        // RFC 9112 §3.2: each request-target form is only valid with its methods.
        let first = line[targetStart]
        if method == .connect {
            if first == 0x2F || target.contains("/") {
                throw HTTPParseError(.invalidRequestTarget, offset: offset + targetStart, detail: "CONNECT needs authority-form")
            }
        } else if target == "*" {
            if method != .options {
                throw HTTPParseError(.invalidRequestTarget, offset: offset + targetStart, detail: "* is only valid for OPTIONS")
            }
        } else if first != 0x2F {
            // absolute-form: scheme "://" ... (RFC 9112 §3.2.2); anything else is not a target.
            guard let colon = target.utf8.firstIndex(of: 0x3A), target.utf8[colon...].starts(with: "://".utf8),
                colon != target.utf8.startIndex,
                target.utf8[..<colon].allSatisfy({ asciiLower($0) &- 0x61 < 26 || $0 &- 0x30 < 10 || $0 == 0x2B || $0 == 0x2D || $0 == 0x2E })
            else {
                throw HTTPParseError(.invalidRequestTarget, offset: offset + targetStart)
            }
        }
        message.method = method
        message.target = target
        // RFC 9110 §2.5: a higher minor version is answered as the highest we implement.
        message.version = minor == 0 ? .http1_0 : .http1_1
    }

    private func parseFieldLine(_ line: UnsafeRawBufferPointer, at offset: Int) throws(HTTPParseError) -> (name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        let n = line.count
        if line[0] == SP || line[0] == HTAB {
            // obs-fold (RFC 9112 §5.2): a continuation line. A server may reject it; we must, since
            // a proxy in front may have unfolded it differently.
            throw HTTPParseError(.obsFold, offset: offset)
        }
        var i = 0
        while i < n, isTokenChar(line[i]) { i += 1 }
        guard i < n else { throw HTTPParseError(.missingColon, offset: offset + i) }
        let c = line[i]
        if c != 0x3A {
            if c == SP || c == HTAB {
                throw HTTPParseError(.whitespaceBeforeColon, offset: offset + i)
            }
            throw HTTPParseError(.invalidFieldName, offset: offset + i)
        }
        guard i > 0 else { throw HTTPParseError(.invalidFieldName, offset: offset, detail: "empty field name") }
        var start = i + 1
        var end = n
        while start < end, line[start] == SP || line[start] == HTAB { start += 1 }
        while end > start, line[end - 1] == SP || line[end - 1] == HTAB { end -= 1 }
        for k in start..<end where !isFieldValueChar(line[k]) {
            throw HTTPParseError(.invalidFieldValue, offset: offset + k)
        }
        return (UnsafeRawBufferPointer(rebasing: line[..<i]), UnsafeRawBufferPointer(rebasing: line[start..<end]))
    }

    /// Records what the framing and connection fields say, without allocating for the common case.
    private mutating func noteHeader(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, at offset: Int) throws(HTTPParseError) {
        switch name.count {
        case 4 where bytesEqualLowercase(name, "host"):
            message.hostCount += 1
        case 6 where bytesEqualLowercase(name, "expect"):
            if bytesEqualLowercase(value, "100-continue") {
                message.expectsContinue = true
            } else {
                message.unsupportedExpectation = String(decoding: value, as: UTF8.self)
            }
        case 10 where bytesEqualLowercase(name, "connection"):
            forEachListElement(value) { token in
                if bytesEqualLowercase(token, "close") { message.connectionClose = true }
                else if bytesEqualLowercase(token, "keep-alive") { message.connectionKeepAlive = true }
            }
        case 14 where bytesEqualLowercase(name, "content-length"):
            // RFC 9112 §6.3: several or list-valued Content-Length may be merged when equal; we refuse
            // them all, as llhttp does, because they only ever come from broken or hostile senders.
            guard message.contentLength == nil else {
                throw HTTPParseError(.duplicateContentLength, offset: offset)
            }
            guard !value.isEmpty, value.count <= 18 else {
                throw HTTPParseError(.invalidContentLength, offset: offset, detail: "\(value.count) characters")
            }
            var length = 0
            for c in value {
                guard c &- 0x30 < 10 else { throw HTTPParseError(.invalidContentLength, offset: offset) }
                length = length * 10 + Int(c - 0x30)
            }
            message.contentLength = length
        case 17 where bytesEqualLowercase(name, "transfer-encoding"):
            message.hasTransferEncoding = true
            var failure: HTTPParseError?
            forEachListElement(value) { coding in
                guard failure == nil else { return }
                if message.chunkedIsLast {
                    failure = HTTPParseError(.chunkedNotFinal, offset: offset, detail: "a coding follows chunked")
                } else if bytesEqualLowercase(coding, "chunked") {
                    message.chunkedIsLast = true
                } else if message.otherCoding == nil {
                    message.otherCoding = String(decoding: coding, as: UTF8.self)
                }
            }
            if let failure { throw failure }
        default:
            break
        }
    }

    private func forEachListElement(_ value: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        var start = 0
        let n = value.count
        while start <= n {
            var end = start
            while end < n, value[end] != 0x2C { end += 1 }
            var a = start, b = end
            while a < b, value[a] == SP || value[a] == HTAB { a += 1 }
            while b > a, value[b - 1] == SP || value[b - 1] == HTAB { b -= 1 }
            if b > a { body(UnsafeRawBufferPointer(rebasing: value[a..<b])) }
            start = end + 1
        }
    }

    private mutating func finishHead(at offset: Int) throws(HTTPParseError) -> HTTPRequestHead {
        let m = message
        let isHTTP11 = m.version == .http1_1
        if m.hasTransferEncoding {
            if !isHTTP11 {
                throw HTTPParseError(.transferEncodingInHTTP10, offset: offset)
            }
            if m.contentLength != nil {
                // RFC 9112 §6.1: a server MAY reject it; the classic smuggling vector, so we do.
                throw HTTPParseError(.contentLengthWithTransferEncoding, offset: offset)
            }
            if !m.chunkedIsLast {
                throw HTTPParseError(.chunkedNotFinal, offset: offset, detail: "the final transfer coding must be chunked")
            }
            if let other = m.otherCoding {
                throw HTTPParseError(.unsupportedTransferCoding, offset: offset, detail: other)
            }
        }
        if isHTTP11 && m.hostCount == 0 {
            throw HTTPParseError(.missingHost, offset: offset)
        }
        if m.hostCount > 1 {
            throw HTTPParseError(.duplicateHost, offset: offset)
        }
        if let expectation = m.unsupportedExpectation {
            throw HTTPParseError(.unsupportedExpectation, offset: offset, detail: expectation)
        }
        let framing: HTTPBodyFraming = m.hasTransferEncoding ? .chunked : m.contentLength.map { .contentLength($0) } ?? .none
        return HTTPRequestHead(
            method: m.method, target: m.target, version: m.version, headers: m.fields, framing: framing,
            keepAlive: isHTTP11 ? !m.connectionClose : (m.connectionKeepAlive && !m.connectionClose),
            // RFC 9110 §10.1.1: ignore 100-continue from HTTP/1.0 clients.
            expectsContinue: isHTTP11 && m.expectsContinue)
    }

    /// chunk = chunk-size [ chunk-ext ] CRLF; chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] )
    private func parseChunkSizeLine(_ line: UnsafeRawBufferPointer, at offset: Int) throws(HTTPParseError) -> Int {
        let n = line.count
        var i = 0
        var size = 0
        while i < n, let digit = hexValue(line[i]) {
            let (shifted, overflow) = size.multipliedReportingOverflow(by: 16)
            guard !overflow else { throw HTTPParseError(.chunkSizeOverflow, offset: offset + i) }
            size = shifted | digit
            i += 1
        }
        guard i > 0 else { throw HTTPParseError(.invalidChunkSize, offset: offset) }
        while i < n {
            while i < n, line[i] == SP || line[i] == HTAB { i += 1 }
            guard i < n, line[i] == 0x3B else {
                throw HTTPParseError(.invalidChunkSize, offset: offset + i, detail: "junk after the chunk size")
            }
            i += 1
            while i < n, line[i] == SP || line[i] == HTAB { i += 1 }
            let nameStart = i
            while i < n, isTokenChar(line[i]) { i += 1 }
            guard i > nameStart else { throw HTTPParseError(.invalidChunkExtension, offset: offset + i) }
            var j = i
            while j < n, line[j] == SP || line[j] == HTAB { j += 1 }
            guard j < n, line[j] == 0x3D else { continue }
            i = j + 1
            while i < n, line[i] == SP || line[i] == HTAB { i += 1 }
            guard i < n else { throw HTTPParseError(.invalidChunkExtension, offset: offset + i) }
            if line[i] == 0x22 {
                i += 1
                var closed = false
                while i < n {
                    let c = line[i]
                    if c == 0x22 { closed = true; i += 1; break }
                    if c == 0x5C {
                        guard i + 1 < n, isFieldValueChar(line[i + 1]) else {
                            throw HTTPParseError(.invalidChunkExtension, offset: offset + i)
                        }
                        i += 2
                        continue
                    }
                    guard isFieldValueChar(c) else { throw HTTPParseError(.invalidChunkExtension, offset: offset + i) }
                    i += 1
                }
                guard closed else { throw HTTPParseError(.invalidChunkExtension, offset: offset + i) }
            } else {
                let valueStart = i
                while i < n, isTokenChar(line[i]) { i += 1 }
                guard i > valueStart else { throw HTTPParseError(.invalidChunkExtension, offset: offset + i) }
            }
        }
        return size
    }
}
