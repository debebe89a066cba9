#if canImport(Glibc)
import Glibc
#endif

/// Errors from sockets, name resolution and TLS. End of stream and a reset peer are distinct cases
/// so that protocol code can tell a clean close from a dropped connection.
public enum NetworkError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The peer closed its side cleanly (read returned 0 or TLS close_notify).
    case endOfStream
    /// The peer reset the connection (ECONNRESET / EPIPE).
    case connectionReset
    /// The connection was closed locally while the operation was pending.
    case closed
    /// The named operation ran past its deadline.
    case timedOut(String)
    /// Nothing listens at the address.
    case connectionRefused(String)
    case resolutionFailed(host: String, reason: String)
    /// A TLS failure, with OpenSSL's reason (e.g. a certificate verification failure).
    case tls(String)
    case system(operation: String, errno: Int32, message: String)

    public var description: String {
        switch self {
        case .endOfStream: return "connection closed by peer (end of stream)"
        case .connectionReset: return "connection reset by peer"
        case .closed: return "connection closed locally"
        case .timedOut(let op): return "\(op) timed out"
        case .connectionRefused(let addr): return "connection refused by \(addr)"
        case .resolutionFailed(let host, let reason): return "cannot resolve \(host): \(reason)"
        case .tls(let reason): return "TLS error: \(reason)"
        case .system(let op, let code, let message): return "\(op) failed: \(message) (errno \(code))"
        }
    }

    static func fromErrno(_ operation: String, _ code: Int32 = errno) -> NetworkError {
        switch code {
        case ECONNRESET, EPIPE: return .connectionReset
        case ECONNREFUSED: return .connectionRefused(operation)
        case ETIMEDOUT: return .timedOut(operation)
        default: return .system(operation: operation, errno: code, message: String(cString: strerror(code)))
        }
    }
}
