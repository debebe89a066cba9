/// Failures of the client itself (as opposed to `RESPServerError`, an error reply from Redis).
public enum RESPClientError: Error, Sendable, CustomStringConvertible {
    /// The connection is closed (or was closed while the command waited); `reason` says why.
    /// The command may have reached the server.
    case connectionClosed(reason: String)
    /// The connection was closed before any byte of `command` was written (typically the server
    /// closed it while it sat idle), so the server never saw it: safe to send again elsewhere.
    /// `reason` says why the connection closed.
    case notSent(command: String, reason: String)
    /// The command did not complete in time; its connection was closed so the late reply can never
    /// be read as another command's answer.
    case timedOut(command: String, after: Duration)
    /// The reply has a shape the typed command does not expect.
    case unexpectedReply(command: String, reply: RESPValue)
    /// The server sent bytes that are not RESP; the connection was closed.
    case protocolError(RESPDecodingError)
    /// No connection became free within the pool's wait timeout.
    case poolTimeout(waited: Duration)
    /// Too many callers are already waiting for a connection.
    case poolExhausted(waiting: Int)
    /// The client or pool was shut down.
    case shutDown
    /// Could not connect (resolution, refusal, TLS, handshake); `underlying` is the cause.
    case connectFailed(endpoint: String, underlying: String)

    public var description: String {
        switch self {
        case .connectionClosed(let reason): return "Redis connection closed: \(reason)"
        case .notSent(let command, let reason): return "Redis command \(command) not sent, its connection was closed: \(reason)"
        case .timedOut(let command, let after): return "Redis command \(command) timed out after \(after); connection closed"
        case .unexpectedReply(let command, let reply): return "unexpected reply to \(command): \(reply)"
        case .protocolError(let e): return "\(e); connection closed"
        case .poolTimeout(let waited): return "no Redis connection free after waiting \(waited)"
        case .poolExhausted(let waiting): return "Redis pool wait queue full (\(waiting) waiting)"
        case .shutDown: return "Redis client shut down"
        case .connectFailed(let endpoint, let underlying): return "cannot connect to Redis at \(endpoint): \(underlying)"
        }
    }
}
