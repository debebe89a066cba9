import Testing
import TestSupport
import Reactor
@testable import PGWire

/// Server restarts, on a private cluster so the shared server keeps serving other tests.
@Suite(.serialized) struct RestartTests {
    @Test func poolAndListenerSurviveAServerRestart() async throws {
        guard try PGTestEnvironment.get() != nil || !TestServices.isCI, let pg = try await PrivatePostgres.start() else { return }
        defer { pg.stopAndRemove() }
        let config = try PGConfiguration(url: pg.url)

        var options = PGPool.Options()
        options.minConnections = 2
        options.maxConnections = 4
        options.healthCheckAfterIdle = .zero
        let pool = PGPool(configuration: config, options: options)
        let listener = PGListener(configuration: config, channels: ["pgw_events"], reconnectDelay: .milliseconds(50))
        defer { listener.stop() }

        // Several connections in use at once, so the pool really holds more than one.
        try await withThrowingTaskGroup(of: Int.self) { g in
            for i in 0..<4 { g.addTask { try await pool.collect("SELECT $1::int", [Int32(i)])[0].decode(Int.self, at: 0) } }
            var seen = Set<Int>()
            for try await v in g { seen.insert(v) }
            #expect(seen == [0, 1, 2, 3])
        }
        try await waitUntil("the listener to LISTEN", timeout: .seconds(20)) { listener.listenCount >= 1 }
        var notes = listener.notifications.makeAsyncIterator()
        try await pool.execute("SELECT pg_notify('pgw_events', 'before')")
        #expect(await notes.next()?.payload == "before")

        try pg.restart()

        // Idle pooled connections died with the server: the health check replaces them.
        #expect(try await pool.collect("SELECT 'after restart'")[0].decode(String.self, at: 0) == "after restart")
        // The listener reconnects and re-LISTENs by itself.
        try await waitUntil("the listener to LISTEN again after the restart", timeout: .seconds(20)) { listener.listenCount >= 2 }
        try await pool.execute("SELECT pg_notify('pgw_events', 'after')")
        #expect(await notes.next()?.payload == "after")
        await pool.close()
    }
}
