/// Everything that can go wrong talking to PostgreSQL, with what a caller needs to act on it.
public enum PGError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server answered with an ErrorResponse (the connection stays usable unless FATAL).
    case server(PGServerError)
    /// The server sent bytes that break the protocol; the connection is closed.
    case protocolViolation(String)
    /// A message longer than the configured maximum (guards against a hostile or broken server).
    case messageTooLong(tag: UInt8, length: Int, maximum: Int)
    /// Authentication could not proceed (unsupported method, bad server proof, channel binding).
    case authentication(String)
    /// TLS negotiation or policy failure (sslmode/sslrootcert).
    case tls(String)
    /// The connection is closed (by us, the server, or the network).
    case connectionClosed(String)
    /// The query did not finish within its timeout; it was cancelled on the server.
    case queryTimeout
    /// The task was cancelled; the query was cancelled on the server.
    case cancelled
    /// A value could not be decoded into the requested Swift type.
    case decoding(column: String, type: PGOID, reason: String)
    /// A value could not be encoded as a parameter.
    case encoding(String)
    /// The connection URL or options are invalid.
    case invalidConfiguration(String)
    /// The pool could not provide a connection in time.
    case poolTimeout
    /// The pool is shut down.
    case poolClosed
    /// A network error from the reactor, kept as text.
    case network(String)
    /// The API was misused (e.g. a query while a COPY is in progress).
    case misuse(String)
    /// None of the listed hosts could be reached or was the kind `target_session_attrs` asks for;
    /// says why for each host.
    case noUsableServer(String)

    /// The server error, if this is one.
    public var serverError: PGServerError? {
        if case .server(let e) = self { return e }
        return nil
    }

    public var description: String {
        switch self {
        case .server(let e): return e.description
        case .protocolViolation(let s): return "PostgreSQL protocol violation: \(s)"
        case .messageTooLong(let tag, let length, let maximum):
            return "PostgreSQL message '\(Character(Unicode.Scalar(tag)))' of \(length) bytes exceeds the maximum of \(maximum)"
        case .authentication(let s): return "PostgreSQL authentication failed: \(s)"
        case .tls(let s): return "PostgreSQL TLS: \(s)"
        case .connectionClosed(let s): return "PostgreSQL connection closed: \(s)"
        case .queryTimeout: return "PostgreSQL query timed out (cancelled on the server)"
        case .cancelled: return "PostgreSQL query cancelled"
        case .decoding(let column, let type, let reason):
            return "cannot decode column \"\(column)\" of type \(type): \(reason)"
        case .encoding(let s): return "cannot encode parameter: \(s)"
        case .invalidConfiguration(let s): return "invalid PostgreSQL configuration: \(s)"
        case .poolTimeout: return "timed out waiting for a PostgreSQL connection from the pool"
        case .poolClosed: return "the PostgreSQL pool is shut down"
        case .network(let s): return "PostgreSQL network error: \(s)"
        case .misuse(let s): return "PostgreSQL client misuse: \(s)"
        case .noUsableServer(let s): return "no usable PostgreSQL server: \(s)"
        }
    }
}
