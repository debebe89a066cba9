import Reactor
import Synchronization

/// Pub/Sub over RESP3 push frames on one dedicated connection shared by any number of subscribers.
///
/// Subscribing registers the subscriber first, then sends SUBSCRIBE for channels nobody was
/// subscribed to yet; messages are fanned out to each subscriber's bounded buffer (see
/// `RESPSubscription`). When the connection drops, a supervisor reconnects with backoff and jitter
/// and re-subscribes every registered channel and pattern, so iteration simply resumes.
/// Redis pub/sub is at-most-once: messages published while disconnected are lost (read a snapshot
/// after subscribing, as vidd's SSE endpoint does, to close that gap).
public final class RESPPubSub: Sendable {
    public let configuration: RESPConfiguration
    public let bufferCapacity: Int
    let backoff: RESPBackoff
    private let state = Mutex(State())

    struct State: Sendable {
        var connection: RESPConnection?
        var connectionWaiters: [CheckedContinuation<RESPConnection, any Error>] = []
        var channels: [String: [UInt64: RESPSubscription]] = [:]
        var patterns: [String: [UInt64: RESPSubscription]] = [:]
        var nextID: UInt64 = 1
        var supervisor: Task<Void, Never>?
        var isShutDown = false
        var reconnects = 0
        var resubscriptions = 0
        var resubscribedHandlers: [@Sendable () -> Void] = []
        var lastError: String?
    }

    /// `bufferCapacity`: messages buffered per subscriber before the oldest is dropped.
    public init(configuration: RESPConfiguration, bufferCapacity: Int = 1024, backoff: RESPBackoff = RESPBackoff()) {
        self.configuration = configuration
        self.bufferCapacity = bufferCapacity
        self.backoff = backoff
    }

    /// How many times the connection was re-established after a loss.
    public var reconnectCount: Int { state.withLock { $0.reconnects } }

    /// How many times every subscription was restored after a loss (the server confirmed the
    /// SUBSCRIBE). Messages published while the connection was down are lost — pub/sub is
    /// at-most-once — so a subscriber that must not miss a state change re-reads it from its
    /// source of truth when this number changes.
    public var resubscriptionCount: Int { state.withLock { $0.resubscriptions } }

    /// Calls `handler` (on the supervisor's task; keep it quick) each time the subscriptions were
    /// restored after a loss, once the server confirmed them: the moment to re-read whatever a
    /// lost message might have said.
    public func onResubscribed(_ handler: @escaping @Sendable () -> Void) {
        state.withLock { $0.resubscribedHandlers.append(handler) }
    }

    public func subscribe(channels: [String]) async throws -> RESPSubscription {
        try await add(channels: channels, patterns: [])
    }

    public func subscribe(_ channels: String...) async throws -> RESPSubscription {
        try await add(channels: channels, patterns: [])
    }

    public func psubscribe(patterns: [String]) async throws -> RESPSubscription {
        try await add(channels: [], patterns: patterns)
    }

    private func add(channels: [String], patterns: [String]) async throws -> RESPSubscription {
        let (subscription, newChannels, newPatterns) = try state.withLock { s throws(RESPClientError) in
            if s.isShutDown { throw .shutDown }
            let sub = RESPSubscription(id: s.nextID, channels: channels, patterns: patterns, capacity: bufferCapacity, owner: self)
            s.nextID += 1
            var newChannels: [String] = []
            var newPatterns: [String] = []
            for c in Set(channels) {
                if s.channels[c, default: [:]].isEmpty { newChannels.append(c) }
                s.channels[c, default: [:]][sub.id] = sub
            }
            for p in Set(patterns) {
                if s.patterns[p, default: [:]].isEmpty { newPatterns.append(p) }
                s.patterns[p, default: [:]][sub.id] = sub
            }
            if s.supervisor == nil {
                s.supervisor = Task(executorPreference: EventLoop.shared) { [self] in await self.supervise() }
            }
            return (sub, newChannels, newPatterns)
        }
        do {
            let connection = try await currentConnection()
            try await Self.send("SUBSCRIBE", newChannels, on: connection)
            try await Self.send("PSUBSCRIBE", newPatterns, on: connection)
        } catch let error as RESPServerError {
            // Refused by the server (e.g. NOPERM on the channel): undo and report.
            subscription.continuation.finish()
            await remove(subscription)
            throw error
        } catch is RESPClientError {
            // The connection went away mid-request; the supervisor re-subscribes everything
            // registered when it reconnects, this subscriber included.
        } catch {
            // Cancelled (the caller left mid-subscribe): nobody will unsubscribe what it never
            // got, so undo the registration here, or the channel stays subscribed for ever.
            subscription.continuation.finish()
            await remove(subscription)
            throw error
        }
        return subscription
    }

    static func send(_ verb: String, _ names: [String], on connection: RESPConnection) async throws {
        guard !names.isEmpty else { return }
        var cmd = RESPCommand(verb)
        for n in names { cmd.append(n) }
        try await connection.sendSubscription(cmd, confirmations: names.count)
    }

    func remove(_ subscription: RESPSubscription) async {
        let (goneChannels, gonePatterns, connection) = state.withLock { s in
            var goneChannels: [String] = []
            var gonePatterns: [String] = []
            for c in Set(subscription.channels) {
                s.channels[c]?[subscription.id] = nil
                if s.channels[c]?.isEmpty == true { s.channels[c] = nil; goneChannels.append(c) }
            }
            for p in Set(subscription.patterns) {
                s.patterns[p]?[subscription.id] = nil
                if s.patterns[p]?.isEmpty == true { s.patterns[p] = nil; gonePatterns.append(p) }
            }
            return (goneChannels, gonePatterns, s.connection)
        }
        guard let connection, !goneChannels.isEmpty || !gonePatterns.isEmpty else { return }
        // Best effort: if this fails the connection is gone and nothing is subscribed there anyway.
        // In a task of its own: a caller that unsubscribes as it is cancelled (a client leaving)
        // must still take the channel off the server, which would otherwise keep pushing to us.
        await Task(executorPreference: EventLoop.shared) {
            try? await Self.send("UNSUBSCRIBE", goneChannels, on: connection)
            try? await Self.send("PUNSUBSCRIBE", gonePatterns, on: connection)
        }.value
    }

    private func currentConnection() async throws -> RESPConnection {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<RESPConnection, any Error>) in
            let result: Result<RESPConnection, any Error>? = state.withLock { s in
                if s.isShutDown { return .failure(RESPClientError.shutDown) }
                if let conn = s.connection, !conn.isClosed { return .success(conn) }
                s.connectionWaiters.append(c)
                return nil
            }
            if let result { c.resume(with: result) }
        }
    }

    /// Keeps one connection up: connect (retrying with backoff), re-subscribe, wait for loss, repeat.
    private func supervise() async {
        var attempt = 0
        var everConnected = false
        while !state.withLock({ $0.isShutDown }) {
            let connection: RESPConnection
            var candidate: RESPConnection?
            do {
                connection = try await RESPConnection.connect(configuration)
                candidate = connection
                guard connection.protocolVersion == 3 else {
                    connection.close()
                    failWaiters(RESPClientError.connectFailed(endpoint: configuration.endpoint.description,
                                                              underlying: "pub/sub needs RESP3 (Redis 6 or later)"))
                    return
                }
                connection.setPushHandler { [weak self] push in self?.route(push) }
                let (channels, patterns) = state.withLock { s in
                    // Counted before re-subscribing, so once a publisher sees our subscriber again the
                    // count already says so.
                    if everConnected { s.reconnects += 1 }
                    return (Array(s.channels.keys), Array(s.patterns.keys))
                }
                // Both in one write: channels and patterns come back together.
                async let channelsDone: Void = Self.send("SUBSCRIBE", channels, on: connection)
                async let patternsDone: Void = Self.send("PSUBSCRIBE", patterns, on: connection)
                _ = try await (channelsDone, patternsDone)
                if everConnected {
                    let handlers = state.withLock { s in
                        s.resubscriptions += 1
                        return s.resubscribedHandlers
                    }
                    for handler in handlers { handler() }
                }
            } catch {
                candidate?.close()
                state.withLock { $0.lastError = "\(error)" }
                if error is RESPServerError, !everConnected {
                    // Authentication or permission errors will not fix themselves: fail the waiters.
                    failWaiters(error)
                }
                try? await EventLoop.shared.sleep(for: backoff.delay(attempt: attempt))
                attempt += 1
                continue
            }
            attempt = 0
            let waiters = state.withLock { s -> [CheckedContinuation<RESPConnection, any Error>] in
                s.connection = connection
                defer { s.connectionWaiters = [] }
                return s.connectionWaiters
            }
            everConnected = true
            if state.withLock({ $0.isShutDown }) { connection.close() }
            for w in waiters { w.resume(returning: connection) }
            _ = await connection.waitUntilClosed()
            state.withLock { s in if s.connection === connection { s.connection = nil } }
        }
        failWaiters(RESPClientError.shutDown)
    }

    private func failWaiters(_ error: any Error) {
        let waiters = state.withLock { s -> [CheckedContinuation<RESPConnection, any Error>] in
            defer { s.connectionWaiters = [] }
            return s.connectionWaiters
        }
        for w in waiters { w.resume(throwing: error) }
    }

    /// Runs on the reader's thread: fan a message out to its subscribers without waiting for any.
    private func route(_ push: RESPValue) {
        guard case .push(let items) = push.withoutAttributes, let message = RESPPubSubMessage(push: items) else { return }
        let targets: [RESPSubscription] = state.withLock { s in
            if let pattern = message.pattern { return s.patterns[pattern].map { Array($0.values) } ?? [] }
            return s.channels[message.channel].map { Array($0.values) } ?? []
        }
        for t in targets { t.deliver(message) }
    }

    /// Ends every subscription and closes the connection.
    public func shutdown() async {
        let (connection, subscribers, supervisor) = state.withLock { s in
            s.isShutDown = true
            var all: [RESPSubscription] = []
            for (_, subs) in s.channels { all.append(contentsOf: subs.values) }
            for (_, subs) in s.patterns { all.append(contentsOf: subs.values) }
            s.channels = [:]
            s.patterns = [:]
            defer { s.connection = nil }
            return (s.connection, all, s.supervisor)
        }
        for sub in subscribers { sub.continuation.finish() }
        connection?.close()
        failWaiters(RESPClientError.shutDown)
        await supervisor?.value
    }
}
