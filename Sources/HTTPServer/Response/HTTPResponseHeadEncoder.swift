/// How a response body is delimited on the wire (RFC 9112 §6.3).
public enum HTTPResponseFraming: Sendable, Equatable {
    /// No body may follow (1xx, 204, 304, or a HEAD response: framing fields still describe the GET).
    case noBody(contentLength: Int?)
    case contentLength(Int)
    case chunked
    /// HTTP/1.0 with unknown length: the end of the body is the end of the connection.
    case untilClose
}

/// Serializes a response head. Pure: the framing and connection fields are computed here from the
/// status, the request and the body, never taken from the handler's fields (which could contradict
/// the body actually sent).
public enum HTTPResponseHeadEncoder {
    /// Decides the framing for a response to `request` (nil: an error answered before a valid head).
    public static func framing(status: HTTPStatus, body: HTTPResponseBody, requestMethod: HTTPMethod?, requestVersion: HTTPVersion) -> HTTPResponseFraming {
        if status.code < 200 || status.code == 204 || status.code == 304 {
            return .noBody(contentLength: nil)
        }
        if requestMethod == .head {
            return .noBody(contentLength: body.knownLength)
        }
        if let length = body.knownLength { return .contentLength(length) }
        return requestVersion == .http1_1 ? .chunked : .untilClose
    }

    /// Appends the head to `out`. `keepAlive`: whether the connection persists after this response.
    public static func encode(
        status: HTTPStatus, headers: HTTPFields, framing: HTTPResponseFraming, version: HTTPVersion,
        keepAlive: Bool, date: [UInt8], into out: inout [UInt8]
    ) {
        out.append(contentsOf: version == .http1_0 ? "HTTP/1.0 ".utf8 : "HTTP/1.1 ".utf8)
        appendDecimal(status.code, to: &out)
        out.append(SP)
        appendSanitized(status.reason, to: &out)
        out.append(contentsOf: [CR, LF])
        for field in headers {
            let n = field.name
            if HTTPFields.namesEqual(n, "content-length") || HTTPFields.namesEqual(n, "transfer-encoding")
                || HTTPFields.namesEqual(n, "connection") || HTTPFields.namesEqual(n, "date")
            {
                continue
            }
            appendSanitized(n, to: &out)
            out.append(contentsOf: [0x3A, SP])
            appendSanitized(field.value, to: &out)
            out.append(contentsOf: [CR, LF])
        }
        switch framing {
        case .noBody(let length?), .contentLength(let length):
            out.append(contentsOf: "content-length: ".utf8)
            appendDecimal(length, to: &out)
            out.append(contentsOf: [CR, LF])
        case .chunked:
            out.append(contentsOf: "transfer-encoding: chunked\r\n".utf8)
        case .noBody(nil), .untilClose:
            break
        }
        if !keepAlive {
            out.append(contentsOf: "connection: close\r\n".utf8)
        } else if version == .http1_0 {
            out.append(contentsOf: "connection: keep-alive\r\n".utf8)
        }
        out.append(contentsOf: date)
        out.append(contentsOf: [CR, LF])
    }

    /// Chunk framing: size line, data, CRLF.
    public static func appendChunk(_ bytes: [UInt8], to out: inout [UInt8]) {
        out.append(contentsOf: String(bytes.count, radix: 16).utf8)
        out.append(contentsOf: [CR, LF])
        out.append(contentsOf: bytes)
        out.append(contentsOf: [CR, LF])
    }

    public static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)
    public static let continueResponse: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        if value < 10 {
            out.append(UInt8(0x30 + value))
            return
        }
        out.append(contentsOf: String(value).utf8)
    }

    /// A handler's field must not smuggle a line break into the head (response splitting): CR, LF
    /// and NUL become spaces.
    static func appendSanitized(_ s: String, to out: inout [UInt8]) {
        for c in s.utf8 {
            out.append(c == CR || c == LF || c == 0 ? SP : c)
        }
    }
}
