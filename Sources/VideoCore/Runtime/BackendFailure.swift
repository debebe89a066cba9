import PGWire
import RESP

/// Whether a failure means a backend is unreachable or switching over — worth answering 503 and
/// worth retrying — rather than a bug or a bad request. Shared by the API (its 503s) and the
/// worker (which rides out a failover instead of failing the job).
package enum BackendFailure {
    /// "PostgreSQL" or "Redis" when `error` says that backend is unavailable for now; nil otherwise.
    package static func unavailableBackend(_ error: any Error) -> String? {
        switch error {
        case let e as PGError:
            switch e {
            case .connectionClosed, .network, .poolTimeout, .poolClosed, .tls, .queryTimeout, .noUsableServer: return "PostgreSQL"
            case .server(let s): return isTransient(sqlState: s.sqlState) ? "PostgreSQL" : nil
            default: return nil
            }
        case let e as RESPClientError:
            switch e {
            case .unexpectedReply, .protocolError: return nil
            default: return "Redis"
            }
        case let e as RESPServerError:
            return isTransient(redisCode: e.code) ? "Redis" : nil
        default:
            return nil
        }
    }

    /// SQLSTATEs of a server that is going away, not there yet, or no longer the primary:
    /// class 08 (connection exceptions), 57P01–57P03 (admin shutdown, crash shutdown, cannot
    /// connect now), 53300 (too many connections), 25006 (read-only transaction: a demoted or
    /// fenced primary).
    static func isTransient(sqlState: String) -> Bool {
        sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03", "53300", "25006"].contains(sqlState)
    }

    /// Redis error codes of a server that is not (or no longer) the master or not ready:
    /// READONLY and UNBLOCKED (demoted), MASTERDOWN (a replica that lost its master), LOADING
    /// (reading its data set after a restart), TRYAGAIN.
    static func isTransient(redisCode: String) -> Bool {
        ["READONLY", "UNBLOCKED", "MASTERDOWN", "LOADING", "TRYAGAIN"].contains(redisCode)
    }
}
