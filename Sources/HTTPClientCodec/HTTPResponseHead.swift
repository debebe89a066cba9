/// The status line and headers of a response.
public struct HTTPResponseHead: Sendable, Hashable {
    public var status: Int
    public var reason: String
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    public var minorVersion: Int
    public var headers: HTTPHeaders
    /// Whether the connection may carry another request after this response (before body
    /// framing is considered: a close-delimited body also ends the connection).
    public var keepAlive: Bool

    public var isInformational: Bool { status >= 100 && status < 200 }
}

/// One parsed piece of a response.
public enum HTTPResponsePart: Sendable, Hashable {
    /// The head; informational (1xx) heads come before the final one.
    case head(HTTPResponseHead)
    case body([UInt8])
    /// The response is complete; `reusable` says whether the connection may be kept alive.
    case end(reusable: Bool)
}
