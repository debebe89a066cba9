/// A sans-I/O `multipart/form-data` parser (RFC 7578 / RFC 2046) for streamed uploads.
///
/// Feed the body as it arrives, pull events: a part's headers, then its content as chunks, then
/// its end. Memory stays bounded by the chunk fed plus the delimiter length: a body byte is handed
/// out as soon as it cannot be the start of the next boundary, so a `file` part of any size streams
/// straight through to storage.
public struct MultipartParser: Sendable {
    public struct PartHeaders: Sendable, Equatable {
        /// `name` of Content-Disposition: the form field.
        public var name: String
        public var filename: String?
        public var contentType: String?
        public var fields: [String: String]
    }

    public enum Event: Sendable, Equatable {
        case partBegin(PartHeaders)
        case bodyChunk([UInt8])
        case partEnd
        /// The closing boundary was read; anything after it (the epilogue) is ignored.
        case end
    }

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var reason: String
        public var description: String { "malformed multipart body: \(reason)" }
    }

    private enum State { case preamble, afterDelimiter, headers, body, done }

    public var maximumHeaderBytes = 16 * 1024
    public var maximumParts = 64
    /// Spaces and tabs allowed between a boundary and its CRLF (RFC 2046 sets no limit; memory does).
    public static let maximumPaddingBytes = 256

    private let delimiter: [UInt8]  // CRLF "--" boundary
    private var buffer: [UInt8]
    private var start = 0
    private var state = State.preamble
    private var parts = 0

    /// RFC 2046: 1–70 characters from a restricted set, not ending in a space.
    public static func isValidBoundary(_ b: String) -> Bool {
        let allowed = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ")
        return (1...70).contains(b.count) && b.allSatisfy(allowed.contains) && b.last != " "
    }

    public init(boundary: String) {
        delimiter = Array("\r\n--\(boundary)".utf8)
        // A virtual CRLF lets the first boundary (at the very start of the body) match the delimiter.
        buffer = [0x0D, 0x0A]
    }

    public var isFinished: Bool { state == .done }

    public mutating func feed(_ bytes: some Collection<UInt8>) {
        guard state != .done else { return }
        if start > 0 && (start >= 65_536 || start * 2 >= buffer.count) {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next event, or nil when more input is needed.
    public mutating func next() throws(ParseError) -> Event? {
        while true {
            switch state {
            case .done:
                return nil
            case .preamble:
                if let at = find(delimiter) {
                    start = at + delimiter.count
                    state = .afterDelimiter
                } else {
                    start = max(start, buffer.count - (delimiter.count - 1))
                    return nil
                }
            case .afterDelimiter:
                guard buffer.count - start >= 2 else { return nil }
                if buffer[start] == UInt8(ascii: "-") && buffer[start + 1] == UInt8(ascii: "-") {
                    state = .done
                    buffer = []
                    start = 0
                    return .end
                }
                // Transport padding (spaces/tabs) may precede the CRLF that ends the boundary line.
                // It is judged on the bytes that have arrived, the same way whether or not the CRLF
                // came with them, so that the verdict does not depend on how the body was split.
                var end = start
                while end < buffer.count && (buffer[end] == 0x20 || buffer[end] == 0x09) { end += 1 }
                guard end - start <= Self.maximumPaddingBytes else {
                    throw ParseError(reason: "more than \(Self.maximumPaddingBytes) bytes of padding after a boundary")
                }
                guard end + 1 < buffer.count else {
                    if end < buffer.count && buffer[end] != 0x0D { throw ParseError(reason: "unexpected bytes after a boundary") }
                    return nil
                }
                guard buffer[end] == 0x0D && buffer[end + 1] == 0x0A else {
                    throw ParseError(reason: "unexpected bytes after a boundary")
                }
                start = end + 2
                state = .headers
            case .headers:
                let headerEnd: Int
                let blockLength: Int
                if buffer.count - start >= 2 && buffer[start] == 0x0D && buffer[start + 1] == 0x0A {
                    headerEnd = start
                    blockLength = 2
                } else if let at = find([0x0D, 0x0A, 0x0D, 0x0A]) {
                    headerEnd = at
                    blockLength = 4
                } else {
                    // Refuse early only once even a terminator arriving next could not end the block
                    // within the limit: up to 3 of the bytes held may be the start of its CRLFCRLF.
                    if buffer.count - start > maximumHeaderBytes + 3 { throw ParseError(reason: "part headers longer than \(maximumHeaderBytes) bytes") }
                    return nil
                }
                guard headerEnd - start <= maximumHeaderBytes else { throw ParseError(reason: "part headers longer than \(maximumHeaderBytes) bytes") }
                let headers = try Self.parseHeaders(buffer[start..<headerEnd])
                parts += 1
                guard parts <= maximumParts else { throw ParseError(reason: "more than \(maximumParts) parts") }
                start = headerEnd + blockLength
                state = .body
                return .partBegin(headers)
            case .body:
                if let at = find(delimiter) {
                    if at > start {
                        let chunk = Array(buffer[start..<at])
                        start = at
                        return .bodyChunk(chunk)
                    }
                    start = at + delimiter.count
                    state = .afterDelimiter
                    return .partEnd
                }
                // Keep only what could still be the beginning of a delimiter.
                let safeEnd = buffer.count - (delimiter.count - 1)
                guard safeEnd > start else { return nil }
                let chunk = Array(buffer[start..<safeEnd])
                start = safeEnd
                return .bodyChunk(chunk)
            }
        }
    }

    /// Call at the end of the request body: an error unless the closing boundary was seen.
    public func finish() throws(ParseError) {
        guard state == .done else { throw ParseError(reason: "body ended before the closing boundary") }
    }

    private func find(_ needle: [UInt8]) -> Int? {
        guard buffer.count - start >= needle.count else { return nil }
        let first = needle[0]
        var i = start
        let last = buffer.count - needle.count
        return buffer.withUnsafeBufferPointer { buf -> Int? in
            while i <= last {
                if buf[i] == first {
                    var j = 1
                    while j < needle.count && buf[i + j] == needle[j] { j += 1 }
                    if j == needle.count { return i }
                }
                i += 1
            }
            return nil
        }
    }

    static func parseHeaders(_ bytes: ArraySlice<UInt8>) throws(ParseError) -> PartHeaders {
        var fields: [String: String] = [:]
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(separator: "\r\n", omittingEmptySubsequences: true) {
            guard let colon = line.firstIndex(of: ":") else { throw ParseError(reason: "part header line without a colon") }
            fields[HeaderParameters.trimmed(line[..<colon]).lowercased()] = HeaderParameters.trimmed(line[line.index(after: colon)...])
        }
        guard let disposition = fields["content-disposition"],
              disposition.split(separator: ";").first.map({ HeaderParameters.trimmed($0).lowercased() }) == "form-data" else {
            throw ParseError(reason: "part without Content-Disposition: form-data")
        }
        let params = HeaderParameters.parse(disposition)
        guard let name = params["name"] else { throw ParseError(reason: "part without a name") }
        return PartHeaders(name: name, filename: params["filename"], contentType: fields["content-type"], fields: fields)
    }
}
