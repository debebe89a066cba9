import Reactor
import Synchronization

/// The client most programs want: a small pool of `RESPConnection`s with a bounded waiting queue,
/// reconnection with backoff and jitter, PING health checks of long-idle connections, a shared
/// pub/sub connection, and a clean shutdown.
///
/// Each command leases a connection, runs, and returns it. A connection that failed (closed by the
/// server, timed out with a reply outstanding, protocol error) is dropped, and the next lease opens
/// a new one. An idle one the server closed is noticed before any command is written on it: the
/// command then fails with `notSent`, and the pool sends it again on another connection. Commands
/// whose bytes were written on a failed connection fail; they are not retried, because the client
/// cannot know whether the server executed them.
public final class RESPClient: RESPCommandExecutor, Sendable {
    public let configuration: RESPConfiguration
    public let options: RESPPoolOptions
    /// Pub/sub on its own connection (created on first subscribe).
    public let pubSub: RESPPubSub
    private let state = Mutex(PoolState())

    struct Idle: Sendable {
        let connection: RESPConnection
        let since: ContinuousClock.Instant
    }

    enum Handoff: Sendable {
        case connection(RESPConnection)
        /// A slot was freed: the waiter may open a new connection.
        case slot
    }

    struct Waiter: Sendable {
        let id: UInt64
        let continuation: CheckedContinuation<Handoff, any Error>
    }

    struct PoolState: Sendable {
        var idle: [Idle] = []
        var open = 0
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        var isShutDown = false
    }

    public init(configuration: RESPConfiguration, options: RESPPoolOptions = RESPPoolOptions(),
                pubSubBufferCapacity: Int = 1024) {
        self.configuration = configuration
        self.options = options
        self.pubSub = RESPPubSub(configuration: configuration, bufferCapacity: pubSubBufferCapacity,
                                 backoff: options.reconnectBackoff)
    }

    public convenience init(url: String, options: RESPPoolOptions = RESPPoolOptions()) throws {
        self.init(configuration: try RESPConfiguration(url: url), options: options)
    }

    public func execute(_ command: RESPCommand, timeout: RESPTimeout) async throws -> RESPValue {
        try await sendingAgainIfNotSent { try await $0.execute(command, timeout: timeout) }
    }

    public func pipeline(_ commands: [RESPCommand], timeout: RESPTimeout) async throws -> [RESPValue] {
        try await sendingAgainIfNotSent { try await $0.pipeline(commands, timeout: timeout) }
    }

    /// Runs one request (a command or a pipeline) on a leased connection. On a reused connection the
    /// server closed while it sat idle, the request fails with `notSent` before any byte of it is
    /// written (the connection first reads what arrived while nobody read: see `RESPConnection`),
    /// and it is run again on another connection. That check is the lease check for a request,
    /// so the lease itself does not repeat it. Only `notSent` is retried, and only on a reused
    /// connection (a fresh one failing so is not going to get better); a request whose bytes may
    /// have reached the server is never sent twice.
    private func sendingAgainIfNotSent<R: Sendable>(_ request: (RESPConnection) async throws -> R) async throws -> R {
        // Each retry drops one dead idle connection; more than the pool can hold means they keep dying.
        var retries = 0
        while true {
            let (connection, reused) = try await lease(checkingIdleInput: false)
            do {
                let result = try await request(connection)
                release(connection)
                return result
            } catch RESPClientError.notSent where reused && retries < options.maxConnections {
                release(connection)
                retries += 1
            } catch {
                release(connection)
                throw error
            }
        }
    }

    /// Runs `body` with one connection to itself (WATCH/MULTI, several dependent commands).
    public func withConnection<R: Sendable>(_ body: (RESPConnection) async throws -> R) async throws -> R {
        let (connection, _) = try await lease(checkingIdleInput: true)
        do {
            let result = try await body(connection)
            release(connection)
            return result
        } catch {
            release(connection)
            throw error
        }
    }

    /// Connections currently open (idle or leased).
    public var openConnections: Int { state.withLock { $0.open } }

    /// Callers waiting for a connection.
    public var waitingCallers: Int { state.withLock { $0.waiters.count } }

    // MARK: Leasing

    enum Decision {
        case use(Idle)
        case open
        case wait
    }

    /// A connection, and whether it was used before. With `checkingIdleInput`, an idle connection
    /// that received input while nobody read it (typically the server's close) is read first and
    /// dropped if closed; without, the caller's first command does that check itself.
    func lease(checkingIdleInput: Bool) async throws -> (RESPConnection, reused: Bool) {
        let deadline = ContinuousClock.now + options.waitTimeout
        while true {
            let decision = try state.withLock { s throws(RESPClientError) -> Decision in
                if s.isShutDown { throw .shutDown }
                while let idle = s.idle.popLast() {
                    if idle.connection.isClosed { s.open -= 1; continue }
                    return .use(idle)
                }
                if s.open < options.maxConnections { s.open += 1; return .open }
                if s.waiters.count >= options.maxWaiters { throw .poolExhausted(waiting: s.waiters.count) }
                return .wait
            }
            switch decision {
            case .use(let idle):
                // The server may have closed it while it sat idle (nobody reads an idle connection):
                // an input edge since its last read says to look, so the command never meets it.
                if checkingIdleInput, idle.connection.socket.hasReadEdgeSinceLastRead, await idle.connection.checkClosed() {
                    freeSlot()
                    continue
                }
                if ContinuousClock.now - idle.since > options.healthCheckAfterIdle {
                    do {
                        _ = try await idle.connection.execute(RESPCommand("PING"), timeout: .after(configuration.connectTimeout))
                    } catch {
                        idle.connection.close()
                        release(idle.connection)
                        continue
                    }
                }
                return (idle.connection, true)
            case .open:
                do {
                    return (try await openConnection(until: deadline), false)
                } catch {
                    freeSlot()
                    throw error
                }
            case .wait:
                switch try await waitForHandoff(until: deadline) {
                case .connection(let c): return (c, true)
                case .slot:
                    do {
                        return (try await openConnection(until: deadline), false)
                    } catch {
                        freeSlot()
                        throw error
                    }
                }
            }
        }
    }

    /// Connects, retrying with backoff and jitter until the deadline. Server errors (wrong
    /// password, NOPERM on HELLO) are not retried: they will not go away by themselves.
    private func openConnection(until deadline: ContinuousClock.Instant) async throws -> RESPConnection {
        var attempt = 0
        while true {
            do {
                return try await RESPConnection.connect(configuration)
            } catch let error as RESPServerError {
                throw error
            } catch {
                let delay = options.reconnectBackoff.delay(attempt: attempt)
                if ContinuousClock.now + delay > deadline { throw error }
                try await EventLoop.shared.sleep(for: delay)
                attempt += 1
                if state.withLock({ $0.isShutDown }) { throw RESPClientError.shutDown }
            }
        }
    }

    private func waitForHandoff(until deadline: ContinuousClock.Instant) async throws -> Handoff {
        let id = state.withLock { s -> UInt64 in s.nextWaiterID += 1; return s.nextWaiterID }
        let remaining = deadline - ContinuousClock.now
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Handoff, any Error>) in
                let registered = state.withLock { s -> Bool in
                    if s.isShutDown { return false }
                    s.waiters.append(Waiter(id: id, continuation: c))
                    return true
                }
                guard registered else { c.resume(throwing: RESPClientError.shutDown); return }
                EventLoop.shared.schedule(after: max(remaining, .zero)) { [self] in
                    self.dropWaiter(id, error: RESPClientError.poolTimeout(waited: options.waitTimeout))
                }
            }
        } onCancel: {
            dropWaiter(id, error: CancellationError())
        }
    }

    private func dropWaiter(_ id: UInt64, error: any Error) {
        let waiter = state.withLock { s -> Waiter? in
            guard let i = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return s.waiters.remove(at: i)
        }
        waiter?.continuation.resume(throwing: error)
    }

    /// Returns a connection: to the first waiter, else to the idle list. A closed one frees its slot.
    func release(_ connection: RESPConnection) {
        if connection.isClosed {
            freeSlot()
            return
        }
        let (waiter, close) = state.withLock { s -> (Waiter?, Bool) in
            if s.isShutDown { s.open -= 1; return (nil, true) }
            if !s.waiters.isEmpty { return (s.waiters.removeFirst(), false) }
            s.idle.append(Idle(connection: connection, since: .now))
            return (nil, false)
        }
        if close { connection.close() }
        waiter?.continuation.resume(returning: .connection(connection))
    }

    private func freeSlot() {
        let waiter = state.withLock { s -> Waiter? in
            if !s.waiters.isEmpty, !s.isShutDown { return s.waiters.removeFirst() }  // slot passes to the waiter
            s.open -= 1
            return nil
        }
        waiter?.continuation.resume(returning: .slot)
    }

    /// Fails waiting callers, closes idle connections (leased ones close when returned), the
    /// pub/sub connection and the Sentinel `+switch-master` subscription. Commands already running
    /// finish first.
    public func shutdown() async {
        let (idle, waiters) = state.withLock { s in
            s.isShutDown = true
            defer { s.idle = []; s.waiters = [] }
            s.open -= s.idle.count
            return (s.idle, s.waiters)
        }
        for i in idle { i.connection.close() }
        for w in waiters { w.continuation.resume(throwing: RESPClientError.shutDown) }
        await pubSub.shutdown()
        configuration.sentinel?.stop()
    }
}
