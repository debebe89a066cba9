/// libpq's `target_session_attrs`: which kind of server a connection must reach when several
/// hosts are listed. The checks are libpq's (fe-connect.c, CONNECTION_CHECK_TARGET), without I/O:
///
/// - a PostgreSQL 14+ server reports `in_hot_standby` and `default_transaction_read_only` in
///   ParameterStatus at startup (and again whenever they change), so the check needs no query;
/// - an older server is asked: `SHOW transaction_read_only` for `read-write`/`read-only`,
///   `SELECT pg_catalog.pg_is_in_recovery()` for `primary`/`standby`/`prefer-standby`.
public enum PGTargetSessionAttributes: String, Sendable, CaseIterable {
    /// Any server that accepts the connection (the default).
    case any
    /// Read-write transactions by default: not in hot standby, `default_transaction_read_only` off.
    case readWrite = "read-write"
    /// Read-only by default: in hot standby, or `default_transaction_read_only` on.
    case readOnly = "read-only"
    /// Not in hot standby (a primary, even if fenced read-only).
    case primary
    /// In hot standby.
    case standby
    /// A standby if any listed host is one; otherwise any server (a second pass over the hosts).
    case preferStandby = "prefer-standby"

    /// What a connected session's parameters say.
    public enum Check: Sendable, Equatable {
        case accept
        /// Not the kind asked for; the reason names what the server is.
        case reject(String)
        /// The server did not report enough: run this (simple query, one row, one column) and
        /// pass its value to `check(answer:)`.
        case ask(String)
    }

    public static let readOnlyQuery = "SHOW transaction_read_only"
    public static let recoveryQuery = "SELECT pg_catalog.pg_is_in_recovery()"

    /// The check for a session that reported `parameters` at startup (or since). `pass` is 1 or 2:
    /// `prefer-standby` accepts only standbys in the first pass over the hosts, anything in the second.
    public func check(parameters: [String: String], pass: Int = 1) -> Check {
        let hotStandby = parameters["in_hot_standby"].flatMap(Self.bool)
        let defaultReadOnly = parameters["default_transaction_read_only"].flatMap(Self.bool)
        switch self {
        case .any:
            return .accept
        case .preferStandby where pass > 1:
            return .accept
        case .readWrite, .readOnly:
            guard let hotStandby, let defaultReadOnly else { return .ask(Self.readOnlyQuery) }
            return decide(readOnly: hotStandby || defaultReadOnly)
        case .primary, .standby, .preferStandby:
            guard let hotStandby else { return .ask(Self.recoveryQuery) }
            return decide(inRecovery: hotStandby)
        }
    }

    /// The check once the server answered the query `check(parameters:)` asked for (`on`/`off`
    /// for SHOW, `t`/`f` for pg_is_in_recovery).
    public func check(answer: String?, to query: String, pass: Int = 1) -> Check {
        guard let value = answer.flatMap(Self.bool) else {
            return .reject("unexpected answer \(answer.map { "\"\($0)\"" } ?? "NULL") to \(query)")
        }
        if self == .any || (self == .preferStandby && pass > 1) { return .accept }
        return query == Self.readOnlyQuery ? decide(readOnly: value) : decide(inRecovery: value)
    }

    private func decide(readOnly: Bool) -> Check {
        switch self {
        case .readWrite: return readOnly ? .reject("the server is read-only") : .accept
        case .readOnly: return readOnly ? .accept : .reject("the server accepts writes")
        default: return .accept
        }
    }

    private func decide(inRecovery: Bool) -> Check {
        switch self {
        case .primary: return inRecovery ? .reject("the server is a standby (in recovery)") : .accept
        case .standby, .preferStandby: return inRecovery ? .accept : .reject("the server is not a standby")
        default: return .accept
        }
    }

    // MARK: A pooled session

    /// Whether a session that reported `parameters` still suits the target when it comes back to
    /// a pool (PostgreSQL 14+ reports `in_hot_standby` and `default_transaction_read_only`
    /// whenever they change): false only when they say it does not. `prefer-standby` keeps any
    /// session, since its last pass accepts any server.
    public func stillSuits(parameters: [String: String]) -> Bool {
        if case .reject = check(parameters: parameters, pass: passes) { return false }
        return true
    }

    /// What a pool does with a session after a request on it failed.
    public enum AfterRequestFailure: Sendable, Equatable {
        /// Nothing: the failure says nothing about the kind of server.
        case keep
        /// Close it: the server refuses writes, so the next connection goes through host
        /// selection again.
        case close
        /// Check it against the target (after a round trip) before its next use: the server may
        /// have changed kind, e.g. a primary fenced read-only or demoted and restarted.
        case checkBeforeReuse
    }

    /// SQLSTATE read_only_sql_transaction: a write refused by a demoted or fenced primary.
    public static let readOnlySQLTransaction = "25006"

    /// The rule after `error` failed a request: a server refusing writes (`25006`) is left
    /// whatever the target — it gets no more of them from this session; any other server error
    /// makes a session with a target suspect; other errors (the connection's own, a timeout, a
    /// decoding failure) say nothing about the server.
    public func afterRequestFailure(_ error: any Error) -> AfterRequestFailure {
        guard let server = (error as? PGError)?.serverError else { return .keep }
        if server.sqlState == Self.readOnlySQLTransaction { return .close }
        return self == .any ? .keep : .checkBeforeReuse
    }

    /// How many passes over the host list the target needs.
    public var passes: Int { self == .preferStandby ? 2 : 1 }

    /// PostgreSQL's spellings of a boolean setting: on/off, true/false, yes/no, 1/0, t/f.
    static func bool(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "on", "true", "t", "yes", "y", "1": return true
        case "off", "false", "f", "no", "n", "0": return false
        default: return nil
        }
    }
}
