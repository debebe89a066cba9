/// Why an HTTP/1.1 message could not be encoded or parsed. The connection is unusable after a
/// parse error (the framing is lost).
public enum HTTPMessageError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidRequest(String)
    case invalidStatusLine(String)
    case invalidHeader(String)
    case headTooLarge(limit: Int)
    case invalidContentLength(String)
    case invalidChunk(String)
    case unsupportedTransferEncoding(String)
    /// The peer closed before the message ended (`received` body bytes of `expected`, if known).
    case truncated(expected: Int?, received: Int)
    case unexpectedData

    public var description: String {
        switch self {
        case .invalidRequest(let what): return "cannot encode HTTP request: invalid \(what)"
        case .invalidStatusLine(let line): return "invalid HTTP status line: \(line)"
        case .invalidHeader(let line): return "invalid HTTP header line: \(line)"
        case .headTooLarge(let limit): return "HTTP response head exceeds \(limit) bytes"
        case .invalidContentLength(let v): return "invalid Content-Length: \(v)"
        case .invalidChunk(let why): return "invalid chunked encoding: \(why)"
        case .unsupportedTransferEncoding(let v): return "unsupported Transfer-Encoding: \(v)"
        case .truncated(let expected, let received):
            return "connection closed mid-response after \(received) body bytes" + (expected.map { " of \($0)" } ?? "")
        case .unexpectedData: return "bytes received while no response was expected"
        }
    }
}
