import Testing
import TestSupport
import Reactor
@testable import PGWire

/// Host lists and target_session_attrs against a real primary and streaming standby of the
/// test's own: which server each target lands on, hosts that cannot be reached, a crashed
/// primary whose standby is promoted, and a primary fenced read-only under a pool.
@Suite(.serialized) struct MultiHostTests {
    static func port(of c: PGConnection) async throws -> Int {
        try await c.collect("SELECT inet_server_port()")[0].decode(Int.self, at: 0)
    }

    static func port(_ pool: PGPool) async throws -> Int {
        try await pool.withConnection { try await port(of: $0) }
    }

    @Test func eachTargetLandsOnItsKindOfServer() async throws {
        guard let pair = try await PostgresStandbyPair.start(synchronous: false) else { return }
        do {
            let p = pair.primaryPort, s = pair.standbyPort
            let cases: [(PGTargetSessionAttributes, [Int], Int)] = [
                (.any, [s, p], s), (.any, [p, s], p),
                (.readWrite, [s, p], p), (.primary, [s, p], p),
                (.readOnly, [p, s], s), (.standby, [p, s], s),
                (.preferStandby, [p, s], s),
                // No standby listed: prefer-standby takes the primary in its second pass.
                (.preferStandby, [p], p),
            ]
            for (target, order, expected) in cases {
                let c = try await PGConnection.connect(PGConfiguration(url: pair.url(ports: order, parameters: ["target_session_attrs=\(target.rawValue)"])))
                #expect(try await Self.port(of: c) == expected, "\(target.rawValue) over \(order)")
                #expect(c.configuration.endpoints == [.tcp(host: "127.0.0.1", port: expected)], "the connection knows its host")
                await c.close()
            }
            // load_balance_hosts=random: both hosts get connections.
            var seen: Set<Int> = []
            for _ in 0..<30 where seen.count < 2 {
                let c = try await PGConnection.connect(PGConfiguration(url: pair.url(ports: [p, s], parameters: ["load_balance_hosts=random"])))
                seen.insert(try await Self.port(of: c))
                await c.close()
            }
            #expect(seen == [p, s], "30 random orders reached \(seen)")

            // A standby is refused for writes, by name.
            let none = try PGConfiguration(url: pair.url(ports: [s], parameters: ["target_session_attrs=read-write"]))
            let error = await #expect(throws: PGError.self) { try await PGConnection.connect(none) }
            #expect(error?.description == "no usable PostgreSQL server: none of 1 host could be used (target_session_attrs=read-write): 127.0.0.1:\(s): the server is read-only")

            // A primary fenced read-only is still a primary, but not read-write.
            try await pair.fence(port: p)
            let fencedWrite = try PGConfiguration(url: pair.url(ports: [p, s], parameters: ["target_session_attrs=read-write"]))
            await #expect(throws: PGError.self) { try await PGConnection.connect(fencedWrite) }
            let primary = try await PGConnection.connect(PGConfiguration(url: pair.url(ports: [s, p], parameters: ["target_session_attrs=primary"])))
            #expect(try await Self.port(of: primary) == p)
            await primary.close()
        } catch {
            Issue.record("\(error)\n\(pair.logs)")
        }
        await pair.stop()
    }

    @Test func unreachableHostsArePassedOverAndExplained() async throws {
        guard let pair = try await PostgresStandbyPair.start(synchronous: false) else { return }
        do {
            let dead = try FreePorts.take(1)[0]
            var config = try PGConfiguration(url: pair.url(ports: [dead, pair.standbyPort, pair.primaryPort], parameters: ["target_session_attrs=read-write"]))
            config.connectTimeout = .seconds(2)
            let c = try await PGConnection.connect(config)
            #expect(try await Self.port(of: c) == pair.primaryPort)
            await c.close()

            let dead2 = try FreePorts.take(1)[0]
            let nowhere = try PGConfiguration(url: pair.url(ports: [dead, dead2]))
            let error = await #expect(throws: PGError.self) { try await PGConnection.connect(nowhere) }
            guard case .noUsableServer(let text)? = error else { Issue.record("\(String(describing: error))"); return }
            #expect(text.contains("none of 2 hosts could be used: 127.0.0.1:\(dead): ") && text.contains("; 127.0.0.1:\(dead2): "), "\(text)")

            // Wrong credentials end the search at the first host (libpq: other hosts are not tried).
            let wrongDB = try PGConfiguration(url: "postgres://nosuchuser@127.0.0.1:\(pair.primaryPort),127.0.0.1:\(pair.standbyPort)/postgres?sslmode=disable")
            let refused = await #expect(throws: PGError.self) { try await PGConnection.connect(wrongDB) }
            #expect(refused?.serverError?.sqlState == "28000", "\(String(describing: refused))")
        } catch {
            Issue.record("\(error)\n\(pair.logs)")
        }
        await pair.stop()
    }

    /// The primary crashes, the standby is promoted: a pool with the old primary first in its
    /// URL reconnects to the new one.
    @Test func poolFollowsAPromotedStandby() async throws {
        guard let pair = try await PostgresStandbyPair.start() else { return }
        do {
            var config = try PGConfiguration(url: pair.url(parameters: ["target_session_attrs=read-write"]))
            config.connectTimeout = .seconds(2)
            var options = PGPool.Options()
            options.maxConnections = 2
            let pool = PGPool(configuration: config, options: options)
            try await pool.execute("CREATE TABLE t (n int)")
            try await pool.execute("INSERT INTO t VALUES (1)")
            #expect(try await Self.port(pool) == pair.primaryPort)

            try await pair.crashPrimary()
            // Until the promotion no listed server takes writes: callers get an error at once.
            let during = await #expect(throws: PGError.self) { try await pool.execute("INSERT INTO t VALUES (2)") }
            #expect(during.map { BackendFailureProbe.isConnectionLevel($0) } == true, "\(String(describing: during))")
            try await pair.promoteStandby()
            try await pool.execute("INSERT INTO t VALUES (3)")
            #expect(try await Self.port(pool) == pair.standbyPort)
            // The synchronous standby had the row committed before the crash.
            #expect(try await pool.collect("SELECT array_agg(n ORDER BY n)::text FROM t")[0].decode(String.self, at: 0) == "{1,3}")
            await pool.close()
        } catch {
            Issue.record("\(error)\n\(pair.logs)")
        }
        await pair.stop()
    }

    /// A primary fenced read-only while a pool holds connections to it, its standby promoted:
    /// the connection that meets 25006 is dropped, one that learns `default_transaction_read_only`
    /// from the server's ParameterStatus is dropped when released, and new connections go to the
    /// new primary.
    @Test func poolDropsConnectionsToAFencedPrimary() async throws {
        guard let pair = try await PostgresStandbyPair.start(synchronous: false) else { return }
        do {
            let config = try PGConfiguration(url: pair.url(parameters: ["target_session_attrs=read-write"]))
            var options = PGPool.Options()
            options.maxConnections = 1
            options.healthCheckAfterIdle = .seconds(3600)
            let pool = PGPool(configuration: config, options: options)
            try await pool.execute("CREATE TABLE t (n int)")
            #expect(try await Self.port(pool) == pair.primaryPort)

            try await pair.fence(port: pair.primaryPort)
            try await pair.promoteStandby()
            let refused = await #expect(throws: PGError.self) { try await pool.execute("INSERT INTO t VALUES (1)") }
            #expect(refused?.serverError?.sqlState == "25006")
            #expect(pool.connectionCount == 0, "the connection to the read-only server was closed")
            try await pool.execute("INSERT INTO t VALUES (2)")
            #expect(try await Self.port(pool) == pair.standbyPort)
            await pool.close()

            // Reads do not fail on a fenced server, but its ParameterStatus says read-only: a
            // read-write pool does not keep the connection.
            let reader = PGPool(configuration: try PGConfiguration(url: pair.url(ports: [pair.standbyPort], parameters: ["target_session_attrs=read-write"])),
                                options: options)
            #expect(try await Self.port(reader) == pair.standbyPort)
            try await pair.fence(port: pair.standbyPort)
            _ = try await reader.collect("SELECT 1")
            #expect(reader.connectionCount == 0, "released, seen read-only, closed")
            await #expect(throws: PGError.self) { try await reader.collect("SELECT 1") }
            await reader.close()
        } catch {
            Issue.record("\(error)\n\(pair.logs)")
        }
        await pair.stop()
    }

    /// A connection whose request failed is checked before it is lent again: the server was
    /// fenced meanwhile, so the next caller gets a connection to the new primary — without
    /// meeting an error itself.
    @Test func aConnectionThatFailedIsCheckedBeforeReuse() async throws {
        guard let pair = try await PostgresStandbyPair.start(synchronous: false) else { return }
        do {
            var options = PGPool.Options()
            options.maxConnections = 1
            options.healthCheckAfterIdle = .seconds(3600)
            let pool = PGPool(configuration: try PGConfiguration(url: pair.url(parameters: ["target_session_attrs=read-write"])), options: options)
            #expect(try await Self.port(pool) == pair.primaryPort)
            let error = await #expect(throws: PGError.self) { try await pool.collect("SELECT 1 / 0") }
            #expect(error?.serverError?.sqlState == "22012")
            try await pair.fence(port: pair.primaryPort)
            try await pair.promoteStandby()
            // A read would succeed on the fenced primary; the check sends it to the new one.
            #expect(try await Self.port(pool) == pair.standbyPort)
            await pool.close()
        } catch {
            Issue.record("\(error)\n\(pair.logs)")
        }
        await pair.stop()
    }
}

/// What the service's classifier (VideoCore's TransientFailure) would call a backend outage.
enum BackendFailureProbe {
    static func isConnectionLevel(_ e: PGError) -> Bool {
        switch e {
        case .connectionClosed, .network, .noUsableServer, .poolTimeout: return true
        case .server(let s): return s.sqlState.hasPrefix("08") || s.sqlState.hasPrefix("57P") || s.sqlState == "25006"
        default: return false
        }
    }
}
