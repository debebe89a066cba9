import PGWire
import Reactor
import RESP

/// Which backend failures are worth retrying — the server restarting, failing over, overloaded
/// or unreachable — and which are not: a bug, bad credentials, a missing database, a setting.
/// One answer for the API (503 `unavailable` rather than a 500 logged as a bug), the worker (a
/// job that meets an outage is retried, the outage is not reported as a bug) and the daemon
/// (which keeps retrying at start only while the database is coming up).
public enum TransientFailure {
    public enum Backend: String, Sendable, Equatable {
        case postgres = "PostgreSQL"
        case redis = "Redis"
    }

    /// The backend that failed transiently, or nil when `error` is not a transient backend failure.
    public static func backend(of error: any Error) -> Backend? {
        switch error {
        case let e as PGError: return isTransient(e) ? .postgres : nil
        case let e as RESPClientError: return isTransient(e) ? .redis : nil
        case let e as RESPServerError: return isTransient(e) ? .redis : nil
        default: return nil
        }
    }

    public static func isTransient(_ error: any Error) -> Bool {
        if error is NetworkError { return true }  // refused, reset, timed out: before any protocol spoke
        return backend(of: error) != nil
    }

    public static func isTransient(_ error: PGError) -> Bool {
        switch error {
        // noUsableServer: none of several hosts was reachable or writable yet (a standby being promoted).
        case .network, .connectionClosed, .poolTimeout, .queryTimeout, .noUsableServer: return true
        // Our own pool closing: the process is stopping; the request may be retried elsewhere.
        case .poolClosed: return true
        case .server(let e): return isTransient(sqlState: e.sqlState)
        case .protocolViolation, .messageTooLong, .authentication, .tls, .cancelled, .decoding, .encoding,
             .invalidConfiguration, .misuse:
            return false
        }
    }

    /// SQLSTATEs that describe the server's condition, not the statement: retrying the same
    /// statement later can succeed.
    public static func isTransient(sqlState: String) -> Bool {
        if sqlState.hasPrefix("08") { return sqlState != "08P01" }  // connection exception (not a protocol violation)
        return transientSQLStates.contains(sqlState)
    }

    static let transientSQLStates: Set<String> = [
        "57P01",  // admin_shutdown: the server is stopping (fast shutdown, restart)
        "57P02",  // crash_shutdown: another backend crashed, the server restarts
        "57P03",  // cannot_connect_now: starting up, shutting down, in recovery
        "57P05",  // idle_session_timeout
        "53000",  // insufficient_resources
        "53200",  // out_of_memory
        "53300",  // too_many_connections
        "40001",  // serialization_failure: the transaction was rolled back; running it again is safe
        "40P01",  // deadlock_detected: likewise
        "55P03",  // lock_not_available (lock_timeout)
        "57014",  // query_canceled (statement_timeout)
        "25006",  // read_only_sql_transaction: a standby not promoted yet (failover under way)
    ]

    public static func isTransient(_ error: RESPClientError) -> Bool {
        switch error {
        case .connectionClosed, .notSent, .timedOut, .poolTimeout, .poolExhausted, .shutDown, .connectFailed: return true
        case .unexpectedReply, .protocolError: return false
        }
    }

    /// Redis's own "not now" replies: loading its dataset, a script running, a replica or cluster
    /// not ready, a primary that became a replica (failover: READONLY, or UNBLOCKED for a blocked
    /// reader the demotion woke).
    public static func isTransient(_ error: RESPServerError) -> Bool {
        ["LOADING", "BUSY", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "READONLY", "UNBLOCKED"].contains(error.code)
    }
}
