import Testing
import TestSupport
import Reactor
import Synchronization
@testable import PGWire

@Suite struct PoolTests {
    /// A pool on the test server with `maxConnections` and further options set by `configure`.
    static func pool(_ env: PGTestEnvironment, max: Int, _ configure: (inout PGPool.Options) -> Void = { _ in }) -> PGPool {
        var options = PGPool.Options()
        options.maxConnections = max
        configure(&options)
        return PGPool(configuration: env.config(), options: options)
    }

    @Test func idleConnectionsAboveMinimumAreClosed() async throws {
        guard let env = try PGTestEnvironment.get() else { return }
        let pool = Self.pool(env, max: 3) {
            $0.minConnections = 1
            $0.idleTimeout = .milliseconds(200)
        }
        let held = [try await pool.acquire(), try await pool.acquire(), try await pool.acquire()]
        #expect(pool.connectionCount == 3)
        for c in held { await pool.release(c) }
        // Idle ones above the minimum are closed by the reaper (the minimum may be re-opened).
        try await waitUntil("the reaper to close the idle connections above the minimum", timeout: .seconds(20)) {
            let (total, idle) = (pool.connectionCount, pool.idleCount)
            return total == 1 && idle == 1
        }
        await pool.close()
        await #expect(throws: PGError.poolClosed) { _ = try await pool.acquire() }
    }

    @Test func connectionLeftInATransactionIsNotReused() async throws {
        guard let env = try PGTestEnvironment.get() else { return }
        let pool = Self.pool(env, max: 1)
        _ = try await pool.withConnection { c in try await c.simpleQuery("BEGIN") }
        #expect(pool.connectionCount == 0)
        // A fresh session: not inside the abandoned transaction.
        #expect(try await pool.withConnection { $0.transactionStatus } == .idle)
        let rows = try await pool.collect("SELECT txid_current_if_assigned() IS NULL")
        #expect(try rows[0].decode(Bool.self, at: 0))
        #expect(pool.connectionCount == 1)
        await pool.close()
    }

    @Test func poolWaitersTimeOutAndAreServedInOrder() async throws {
        guard let env = try PGTestEnvironment.get() else { return }
        let pool = Self.pool(env, max: 1) { $0.acquireTimeout = .milliseconds(300) }
        let held = try await pool.acquire()
        await #expect(throws: PGError.poolTimeout) { _ = try await pool.acquire() }
        await pool.release(held)
        await pool.close()
        // Served when a connection is released: with a timeout no loaded machine reaches (300 ms
        // between queueing and release once failed the suite under a load average of 9).
        let patient = Self.pool(env, max: 1) { $0.acquireTimeout = .seconds(30) }
        let lent = try await patient.acquire()
        let waiter = Task { try await patient.collect("SELECT 1") }
        try await waitUntil("one waiter", timeout: .seconds(20)) { patient.waiterCount == 1 }
        await patient.release(lent)
        #expect(try await waiter.value.count == 1)
        #expect(patient.connectionCount == 1)
        await patient.close()
    }

    /// More callers than connections, from the loop and from the cooperative pool at once: each
    /// gets its own answer, no connection is ever lent twice, and the maximum holds.
    @Test func manyCallersShareAFewConnections() async throws {
        guard let env = try PGTestEnvironment.get() else { return }
        let pool = Self.pool(env, max: 3)
        let lent = Mutex<Set<ObjectIdentifier>>([])
        let overlaps = Atomic<Int>(0)
        try await withThrowingTaskGroup(of: Void.self) { g in
            for caller in 0..<24 {
                let body: @Sendable () async throws -> Void = {
                    for i in 0..<10 {
                        let n = Int32(caller * 100 + i)
                        let got = try await pool.withConnection { c -> Int32 in
                            if !lent.withLock({ $0.insert(ObjectIdentifier(c)).inserted }) { overlaps.add(1, ordering: .relaxed) }
                            defer { _ = lent.withLock { $0.remove(ObjectIdentifier(c)) } }
                            #expect(pool.connectionCount <= 3)
                            return try await c.collect("SELECT $1::int4", [n])[0].decode(Int32.self, at: 0)
                        }
                        #expect(got == n)
                    }
                }
                if caller % 2 == 0 { g.addTask(executorPreference: EventLoop.shared, operation: body) } else { g.addTask(operation: body) }
            }
            try await g.waitForAll()
        }
        #expect(overlaps.load(ordering: .relaxed) == 0)
        #expect(pool.connectionCount <= 3)
        #expect(pool.idleCount == pool.connectionCount)
        #expect(pool.waiterCount == 0)
        await pool.close()
    }

    /// Waiters are served in the order they queued; one cancelled while queued leaves at once
    /// with CancellationError and is skipped, not handed a connection.
    @Test func waitersAreServedInOrderAndACancelledOneLeaves() async throws {
        guard let env = try PGTestEnvironment.get() else { return }
        let pool = Self.pool(env, max: 1) { $0.acquireTimeout = .seconds(30) }
        let held = try await pool.acquire()
        let order = Served()
        var waiters: [Task<Void, any Error>] = []
        for i in 0..<4 {
            waiters.append(Task { @Sendable in
                try await pool.withConnection { _ in order.record(i) }
            })
            try await waitUntil("\(i + 1) waiters", timeout: .seconds(20)) { pool.waiterCount == i + 1 }
        }
        waiters[1].cancel()
        await #expect(throws: CancellationError.self) { try await waiters[1].value }
        #expect(pool.waiterCount == 3)
        await pool.release(held)
        for i in [0, 2, 3] { try await waiters[i].value }
        #expect(order.list == [0, 2, 3])
        #expect(pool.connectionCount == 1)
        await pool.close()
    }
}

/// The order in which waiters got their connection.
private final class Served: Sendable {
    private let served = Mutex<[Int]>([])
    func record(_ i: Int) { served.withLock { $0.append(i) } }
    var list: [Int] { served.withLock { $0 } }
}
