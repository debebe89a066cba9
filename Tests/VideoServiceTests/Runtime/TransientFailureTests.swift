import PGWire
import Reactor
import RESP
import Testing
@testable import VideoCore

/// One classification of backend failures for the API (503 vs 500), the worker and the daemon:
/// the server restarting, failing over, overloaded or unreachable is transient; a bug, bad
/// credentials or a missing database is not.
@Suite struct TransientFailureTests {
    static func server(_ sqlState: String, _ severity: String = "FATAL") -> PGError {
        .server(PGServerError(fields: [PGServerError.Field.sqlState.rawValue: sqlState, PGServerError.Field.severity.rawValue: severity,
                                       PGServerError.Field.message.rawValue: "m"]))
    }

    @Test(arguments: [
        ("57P03", true),   // the database system is starting up / shutting down (pg_ctl restart)
        ("57P01", true),   // terminating connection due to administrator command
        ("57P02", true), ("57P05", true),
        ("53300", true),   // too many clients
        ("53000", true), ("53200", true),
        ("08006", true), ("08001", true), ("08004", true), ("08000", true), ("08003", true),
        ("40001", true), ("40P01", true),  // rolled back: running it again is safe
        ("55P03", true), ("57014", true),
        ("25006", true),   // a standby not promoted yet
        ("08P01", false),  // protocol violation: a bug
        ("28P01", false),  // password authentication failed
        ("28000", false), ("3D000", false),  // no such role / database
        ("42P01", false), ("42601", false), ("23505", false), ("22P02", false), ("XX000", false), ("57P04", false),
    ])
    func sqlStates(state: String, transient: Bool) {
        #expect(TransientFailure.isTransient(sqlState: state) == transient, "\(state)")
        #expect((TransientFailure.backend(of: Self.server(state)) == .postgres) == transient, "\(state)")
    }

    @Test func clientSideFailures() {
        let transient: [any Error] = [
            PGError.network("refused"), PGError.connectionClosed("reset"), PGError.poolTimeout, PGError.queryTimeout, PGError.poolClosed,
            RESPClientError.connectFailed(endpoint: "127.0.0.1:6379", underlying: "refused"), RESPClientError.poolTimeout(waited: .seconds(1)),
            RESPClientError.timedOut(command: "GET", after: .seconds(1)), RESPClientError.connectionClosed(reason: "EOF"),
            RESPClientError.poolExhausted(waiting: 1), RESPClientError.shutDown,
            RESPServerError(line: "LOADING Redis is loading the dataset in memory"), RESPServerError(line: "READONLY You can't write against a read only replica."),
            RESPServerError(line: "BUSY Redis is busy running a script"), RESPServerError(line: "MASTERDOWN Link with MASTER is down"),
            NetworkError.connectionReset,
        ]
        for error in transient { #expect(TransientFailure.isTransient(error), "\(error)") }
        let permanent: [any Error] = [
            PGError.authentication("bad password"), PGError.tls("certificate verify failed"), PGError.cancelled,
            PGError.protocolViolation("x"), PGError.decoding(column: "c", type: PGOID(rawValue: 25), reason: "r"), PGError.misuse("x"),
            RESPClientError.unexpectedReply(command: "GET", reply: .null), RESPServerError(line: "WRONGTYPE Operation against a key"),
            RESPServerError(line: "NOPERM this user has no permissions"), CancellationError(),
        ]
        for error in permanent { #expect(!TransientFailure.isTransient(error), "\(error)") }
        #expect(TransientFailure.backend(of: RESPClientError.shutDown) == .redis)
        #expect(TransientFailure.backend(of: PGError.poolTimeout) == .postgres)
    }
}
