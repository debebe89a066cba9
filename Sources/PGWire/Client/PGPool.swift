import Reactor

/// A pool of connections: at least `minConnections` kept open, at most `maxConnections`;
/// idle ones closed after `idleTimeout`; ones idle longer than `healthCheckAfterIdle` pinged
/// before reuse (so a server restart is noticed before a query is lost); callers beyond the
/// maximum wait in FIFO order for at most `acquireTimeout`.
public actor PGPool {
    public nonisolated var unownedExecutor: UnownedSerialExecutor { EventLoop.shared.asUnownedSerialExecutor() }

    public struct Options: Sendable {
        public var minConnections = 0
        public var maxConnections = 10
        public var idleTimeout: Duration = .seconds(60)
        public var acquireTimeout: Duration = .seconds(10)
        public var healthCheckAfterIdle: Duration = .seconds(1)
        public init() {}
    }

    public nonisolated let configuration: PGConfiguration
    public nonisolated let options: Options
    var idle: [PGConnection] = []
    var total = 0
    var waiters: [(id: UInt64, continuation: CheckedContinuation<PGConnection, any Error>, timer: TimerHandle)] = []
    var waiterCounter: UInt64 = 0
    var closed = false
    var reaper: TimerHandle?

    public init(configuration: PGConfiguration, options: Options = Options()) {
        precondition(options.maxConnections >= 1 && options.minConnections <= options.maxConnections)
        self.configuration = configuration
        self.options = options
        Task(executorPreference: EventLoop.shared) { await self.start() }
    }

    func start() {
        scheduleReaper()
        fillToMinimum()
    }

    /// Open connections (idle + in use).
    public var connectionCount: Int { total }
    public var idleCount: Int { idle.count }

    /// Lends a connection to `body` and takes it back afterwards. A connection left inside a
    /// transaction or broken is closed instead of reused.
    @discardableResult
    public func withConnection<T: Sendable>(_ body: (PGConnection) async throws -> T) async throws -> T {
        let c = try await acquire()
        do {
            let r = try await body(c)
            await release(c)
            return r
        } catch {
            await release(c)
            throw error
        }
    }

    /// Runs a query on a pooled connection and collects its rows.
    public func collect(_ sql: String, _ parameters: [any PGEncodable] = [], timeout: Duration? = nil) async throws -> [PGRow] {
        try await withConnection { try await $0.collect(sql, parameters, timeout: timeout) }
    }

    @discardableResult
    public func execute(_ sql: String, _ parameters: [any PGEncodable] = [], timeout: Duration? = nil) async throws -> PGCommandResult {
        try await withConnection { try await $0.execute(sql, parameters, timeout: timeout) }
    }

    public func acquire() async throws -> PGConnection {
        if closed { throw PGError.poolClosed }
        while let c = idle.popLast() {
            if c.isClosed { total -= 1; continue }
            if c.idleDuration >= options.healthCheckAfterIdle {
                do { try await c.simpleQuery("") } catch {
                    await c.close()
                    total -= 1
                    continue
                }
            }
            return c
        }
        if total < options.maxConnections {
            total += 1
            do {
                return try await PGConnection.connect(configuration)
            } catch {
                total -= 1
                throw error
            }
        }
        waiterCounter += 1
        let id = waiterCounter
        return try await withCheckedThrowingContinuation { cont in
            let timer = EventLoop.shared.schedule(after: options.acquireTimeout) {
                Task(executorPreference: EventLoop.shared) { await self.waiterTimedOut(id) }
            }
            waiters.append((id, cont, timer))
        }
    }

    func waiterTimedOut(_ id: UInt64) {
        guard let i = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: i).continuation.resume(throwing: PGError.poolTimeout)
    }

    public func release(_ c: PGConnection) async {
        let isClosed = c.isClosed
        let status = c.transactionStatus
        let reusable = !isClosed && status == .idle && !closed
        if !reusable {
            await c.close()
            total -= 1
            // A waiter may now get a fresh connection.
            if !waiters.isEmpty && !closed { replaceForWaiter() }
            return
        }
        if !waiters.isEmpty {
            let w = waiters.removeFirst()
            EventLoop.shared.cancel(w.timer)
            w.continuation.resume(returning: c)
            return
        }
        idle.append(c)
    }

    func replaceForWaiter() {
        guard total < options.maxConnections else { return }
        total += 1
        let config = configuration
        Task(executorPreference: EventLoop.shared) {
            do {
                let c = try await PGConnection.connect(config)
                await self.release(c)
            } catch {
                await self.connectFailed()
            }
        }
    }

    func connectFailed() { total -= 1 }

    func fillToMinimum() {
        while total < options.minConnections && !closed {
            total += 1
            let config = configuration
            Task(executorPreference: EventLoop.shared) {
                do { await self.release(try await PGConnection.connect(config)) } catch { await self.connectFailed() }
            }
        }
    }

    func scheduleReaper() {
        let period = max(options.idleTimeout / 2, .milliseconds(100))
        reaper = EventLoop.shared.schedule(after: period) {
            Task(executorPreference: EventLoop.shared) { await self.reap() }
        }
    }

    func reap() async {
        guard !closed else { return }
        // Connections may be released or acquired while this awaits: decide per connection,
        // and only remove one that is still in `idle` after the await (never overwrite `idle`).
        for c in idle {
            let isClosed = c.isClosed
            let idleFor = c.idleDuration
            guard let i = idle.firstIndex(where: { $0 === c }) else { continue }
            if isClosed {
                idle.remove(at: i)
                total -= 1
            } else if total > options.minConnections, idleFor >= options.idleTimeout {
                idle.remove(at: i)
                total -= 1
                await c.close()
            }
        }
        fillToMinimum()
        scheduleReaper()
    }

    /// Closes idle connections and fails waiters; connections in use close when released.
    public func close() async {
        closed = true
        if let reaper { EventLoop.shared.cancel(reaper) }
        for w in waiters {
            EventLoop.shared.cancel(w.timer)
            w.continuation.resume(throwing: PGError.poolClosed)
        }
        waiters.removeAll()
        let toClose = idle
        idle.removeAll()
        total -= toClose.count
        for c in toClose { await c.close() }
    }
}
