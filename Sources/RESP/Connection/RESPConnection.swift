import Reactor
import Synchronization

/// One connection to a Redis server: HELLO 3 handshake, commands and pipelines with replies matched
/// in order, RESP3 push frames routed apart, and close-on-timeout.
///
/// Any number of tasks may send concurrently: their commands are appended to one outbound buffer
/// that the first of them writes (later ones ride along in the same write — implicit pipelining).
///
/// Replies are read by whoever holds the *reader role* (one holder at a time, `State.readerActive`).
/// A caller whose reply is outstanding takes the role if it is free and reads the socket itself:
/// it decodes, delivers replies in order (resuming other callers' continuations, keeping its own
/// without any) and stops once its own reply is complete — so a lone caller costs one task
/// suspension per command (waiting for the socket), like a blocking client's write, poll, read.
/// Callers that find the role taken wait on a continuation. A holder that stops while other
/// replies are outstanding hands the role to the oldest waiting caller (resumed to read in turn);
/// callers not waiting yet take it when they get there. A reader task on the event loop holds the
/// role instead while a push handler is installed (pushes must arrive with no command outstanding)
/// and while a large write is in progress (the server's replies must not back up behind it).
///
/// Nobody reads an idle connection, so the server closing it is noticed before the next command
/// is written instead: the event loop counts read edges even when nobody waits, and a command sent
/// with no reader active first drains the socket if an edge came since it was last read; an end of
/// stream then fails the command with `connectionClosed` before any byte of it is written.
/// `checkClosed()` does the same for a pool about to reuse an idle connection.
///
/// A command whose reply is still outstanding when it times out or is cancelled closes the
/// connection: a late reply would otherwise be read as the answer to the next command
/// (go-redis #1113). Every other waiting command then fails with `connectionClosed` — also when
/// the cancelled caller was the one reading, so nobody is left waiting for a reader.
///
/// Callers may run on any executor, but the holder of the role reads for everyone behind it:
/// callers sharing a connection are best kept on the event loop, off a cooperative pool that CPU
/// work might block.
public final class RESPConnection: RESPCommandExecutor, Sendable {
    public let configuration: RESPConfiguration
    let socket: Connection
    private let state: Mutex<State>
    /// The receive side; only the holder of the reader role touches it.
    private let inbound: Inbound

    /// How a waiting caller is resumed: with its reply, or to take over the reader role.
    enum Wakeup: Sendable {
        case reply(RESPValue)
        case read
    }

    typealias Waiter = UnsafeContinuation<Wakeup, any Error>

    /// The receive buffer, the decoder's partial state and a scratch array, carried over from one
    /// holder of the reader role to the next. @unchecked: only the role's holder touches it, and
    /// the role changes hands under `state`'s lock, which orders one holder's accesses before the
    /// next one's.
    final class Inbound: @unchecked Sendable {
        var buffer = ByteBuffer(capacity: 16 * 1024)
        var decoder: RESPDecoder
        var values: [RESPValue] = []

        init(limits: RESPDecoderLimits) { decoder = RESPDecoder(limits: limits) }
    }

    /// How replies reached their callers (tests check which path a scenario took).
    struct ReaderCounters: Sendable, Equatable {
        /// Replies read by their own caller, holding the reader role.
        var readByCaller = 0
        /// Replies delivered to a caller waiting on its continuation.
        var deliveredToWaiters = 0
        /// Times the reader role was handed to a waiting caller.
        var handedToCallers = 0
        /// Reader tasks started (push handler, large write).
        var readerTasks = 0
    }

    var readerCounters: ReaderCounters { state.withLock { $0.counters } }

    /// Whether someone holds the reader role (for tests).
    var readerActive: Bool { state.withLock { $0.readerActive } }

    /// Callers waiting on a continuation (for tests).
    var waitingCallers: Int { state.withLock { $0.replies.queue.waiterCount } }

    struct State: Sendable {
        var outbound = ByteBuffer(capacity: 4096)
        var spare = ByteBuffer(capacity: 4096)
        var writerActive = false
        var replies = ReplyStateMachine<Waiter>()
        /// Someone holds the reader role: a caller reading for its own reply, a caller resumed to
        /// take the role over, or a reader task. While it is free, no caller waits on a continuation.
        var readerActive = false
        var counters = ReaderCounters()
        var closeWaiters: [CheckedContinuation<RESPClientError, Never>] = []
        var pushHandler: (@Sendable (RESPValue) -> Void)?
        var protocolVersion = 3
        var hello: RESPValue = .null
        /// When the armed watchdog timer fires (nil = none armed). One timer per connection instead
        /// of one per command: arming and cancelling a timer per command cost measurable throughput.
        var watchdogAt: ContinuousClock.Instant?
        var watchdog: TimerHandle?
    }

    private init(socket: Connection, configuration: RESPConfiguration) {
        self.socket = socket
        self.configuration = configuration
        self.state = Mutex(State())
        self.inbound = Inbound(limits: configuration.decoderLimits)
    }

    /// Connects and performs the handshake: `HELLO 3` with
    /// `AUTH` and `SETNAME`, then `SELECT` when a database is configured — pipelined in one write.
    /// A wrong password surfaces as `RESPServerError` with code `WRONGPASS`.
    /// With `configuration.sentinel` set, the master is found through the sentinels first.
    public static func connect(_ configuration: RESPConfiguration) async throws -> RESPConnection {
        if let sentinel = configuration.sentinel { return try await sentinel.connectToMaster(configuration) }
        let socket: Connection
        do {
            switch configuration.endpoint {
            case .tcp(let host, let port):
                socket = try await Connection.connect(host: host, port: port, tls: configuration.tls,
                                                      serverName: configuration.tlsServerName ?? host,
                                                      timeout: configuration.connectTimeout)
            case .unix(let path):
                socket = try await Connection.connect(unixSocketPath: path, timeout: configuration.connectTimeout)
                if let tls = configuration.tls {
                    try await socket.startTLS(tls, serverName: configuration.tlsServerName)
                }
            }
        } catch {
            throw RESPClientError.connectFailed(endpoint: configuration.endpoint.description, underlying: "\(error)")
        }
        let connection = RESPConnection(socket: socket, configuration: configuration)
        do {
            try await connection.handshake()
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    private func handshake() async throws {
        let c = configuration
        var hello = RESPCommand("HELLO", 3)
        if let password = c.password {
            hello.append("AUTH")
            hello.append(c.username ?? "default")
            hello.append(password)
        }
        if let name = c.clientName {
            hello.append("SETNAME")
            hello.append(name)
        }
        var commands = [hello]
        if c.database != 0 { commands.append(RESPCommand("SELECT", c.database)) }
        let timeout = RESPTimeout.after(c.connectTimeout)
        var replies = try await pipeline(commands, timeout: timeout)
        if case .error(let e) = replies[0] {
            // Redis < 6 has no HELLO: fall back to RESP2 with AUTH, CLIENT SETNAME, SELECT.
            guard e.code == "NOPROTO" || e.message.lowercased().contains("unknown command") else { throw e }
            state.withLock { $0.protocolVersion = 2 }
            commands = []
            if let password = c.password {
                commands.append(c.username.map { RESPCommand("AUTH", $0, password) } ?? RESPCommand("AUTH", password))
            }
            if let name = c.clientName { commands.append(RESPCommand("CLIENT", "SETNAME", name)) }
            if c.database != 0 { commands.append(RESPCommand("SELECT", c.database)) }
            replies = commands.isEmpty ? [] : try await pipeline(commands, timeout: timeout)
            for case .error(let e) in replies { throw e }
            return
        }
        for case .error(let e) in replies.dropFirst() { throw e }
        let helloReply = replies[0]
        state.withLock { $0.hello = helloReply }
    }

    /// The server's HELLO reply (a map with `server`, `version`, `proto`, `id`, `mode`, `role`, `modules`).
    public var helloReply: RESPValue { state.withLock { $0.hello } }

    /// 3 after a successful HELLO 3; 2 when the server does not speak RESP3 (pub/sub then unavailable).
    public var protocolVersion: Int { state.withLock { $0.protocolVersion } }

    /// Whether the connection is closed. A server closing an idle connection is noticed only when
    /// it is next used (or by `checkClosed()`), unless a push handler is installed.
    public var isClosed: Bool { state.withLock { $0.replies.closeReason != nil } }

    /// `isClosed`, after first reading what arrived while nobody was reading — only when the event
    /// loop signalled input since the socket was last read, so usually without a syscall. A pool
    /// calls it before reusing an idle connection, so that one the server closed meanwhile is
    /// dropped instead of failing the next command.
    public func checkClosed() async -> Bool {
        if socket.hasReadEdgeSinceLastRead { await drainIfIdle() }
        return isClosed
    }

    /// Receives every RESP3 push frame (pub/sub messages, subscription confirmations, client-side
    /// caching invalidations) on the reader's thread. Must not block. While a handler is installed
    /// a reader task reads the connection at all times, so pushes arrive with no command outstanding.
    public func setPushHandler(_ handler: (@Sendable (RESPValue) -> Void)?) {
        let start = state.withLock { s -> Bool in
            s.pushHandler = handler
            guard handler != nil, !s.readerActive, s.replies.closeReason == nil else { return false }
            s.readerActive = true
            s.counters.readerTasks += 1
            return true
        }
        if start { startReaderTask() }
    }

    // MARK: Sending

    public func execute(_ command: RESPCommand, timeout: RESPTimeout) async throws -> RESPValue {
        let value = try await submit(name: command.name, replies: 1, collects: false, isSubscription: false,
                                     closesConnection: command.isQuit, timeout: timeout) { command.write(into: &$0) }
        if case .error(let e) = value { noteErrorReply(e); throw e }
        return value
    }

    public func pipeline(_ commands: [RESPCommand], timeout: RESPTimeout) async throws -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        let value = try await submit(name: commands[0].name, replies: commands.count, collects: true,
                                     isSubscription: false, closesConnection: commands.contains { $0.isQuit },
                                     timeout: timeout) { out in
            for c in commands { c.write(into: &out) }
        }
        guard case .array(let values) = value else { return [value] }
        for case .error(let e) in values { noteErrorReply(e) }
        return values
    }

    /// Sends SUBSCRIBE/PSUBSCRIBE/UNSUBSCRIBE/PUNSUBSCRIBE-style commands, which RESP3 answers with one
    /// push confirmation per channel instead of a reply. Returns once all confirmations arrived.
    public func sendSubscription(_ command: RESPCommand, confirmations: Int, timeout: RESPTimeout = .default) async throws {
        let value = try await submit(name: command.name, replies: confirmations, collects: false, isSubscription: true,
                                     closesConnection: false, timeout: timeout) { command.write(into: &$0) }
        if case .error(let e) = value { throw e }
    }

    // Inlined into execute/pipeline: with the current event loop every async frame boundary costs a
    // hop through the loop's job queue (see docs/benchmarks.md); inlining removed ~10% of them.
    //
    // `closesConnection`: the request carries QUIT (`ReplyStateMachine` holds what that implies).
    @inline(__always) private func submit(name: String, replies: Int, collects: Bool, isSubscription: Bool,
                                          closesConnection: Bool, timeout: RESPTimeout,
                                          encode: (inout ByteBuffer) -> Void) async throws -> RESPValue {
        // Input on a connection nobody reads: most likely the server closed it. Read it first, so
        // that this command then fails before it is written.
        if socket.hasReadEdgeSinceLastRead { await drainIfIdle() }
        let limit = deadline(for: timeout)
        let due = limit.map { ContinuousClock.now + $0 }
        let (id, mustWrite, arm) = try state.withLock { s throws(RESPClientError) -> (UInt64, Bool, ContinuousClock.Instant?) in
            let id = try s.replies.enqueue(name: name, replies: replies, collects: collects, isSubscription: isSubscription,
                                           closesConnection: closesConnection, deadline: due, timeout: limit)
            encode(&s.outbound)
            let write = !s.writerActive
            s.writerActive = true
            var arm: ContinuousClock.Instant?
            if let due, s.watchdogAt == nil || due < s.watchdogAt! {
                s.watchdogAt = due
                arm = due
            }
            return (id, write, arm)
        }
        if let arm { armWatchdog(at: arm) }
        if mustWrite { await flush() }
        return try await wait(for: id)
    }

    private func armWatchdog(at instant: ContinuousClock.Instant) {
        let handle = EventLoop.shared.schedule(after: max(instant - ContinuousClock.now, .zero)) { [weak self] in
            self?.watchdogFired()
        }
        let stale = state.withLock { s -> TimerHandle? in
            // A later, earlier arm may have replaced this one; keep whichever is due first.
            guard s.watchdogAt == instant else { return handle }
            defer { s.watchdog = handle }
            return s.watchdog
        }
        if let stale { EventLoop.shared.cancel(stale) }
    }

    /// Fails every command past its deadline — which closes the connection, since their replies are
    /// outstanding — or re-arms for the next deadline.
    private func watchdogFired() {
        let now = ContinuousClock.now
        let (expired, next) = state.withLock { s -> ([UInt64: any Error], ContinuousClock.Instant?) in
            s.watchdog = nil
            s.watchdogAt = nil
            let (errors, next) = s.replies.expired(at: now)
            if errors.isEmpty, let next { s.watchdogAt = next }
            return (errors, errors.isEmpty ? next : nil)
        }
        if !expired.isEmpty {
            let names = expired.values.map { "\($0)" }.joined(separator: "; ")
            close(reason: .connectionClosed(reason: "closed because a command timed out with its reply outstanding (\(names))"),
                  failing: expired)
        } else if let next {
            armWatchdog(at: next)
        }
    }

    private func deadline(for timeout: RESPTimeout) -> Duration? {
        switch timeout {
        case .default: return configuration.commandTimeout
        case .none: return nil
        case .after(let d): return d
        case .blocking(let server): return server.map { $0 + configuration.blockingTimeoutMargin }
        }
    }

    /// Writes the outbound buffer until it is empty; commands appended meanwhile go in the next write.
    @inline(__always) private func flush() async {
        var chunk: ByteBuffer? = state.withLock { s in Self.takeOutbound(&s) }
        while var bytes = chunk {
            // A write this large may block until the server has read part of it, and the server
            // may stop reading while its replies to the start of it are not read: read meanwhile.
            if bytes.readableBytes >= Self.largeWrite { startReaderIfIdle() }
            do {
                try await socket.write(bytes)
            } catch {
                close(reason: .connectionClosed(reason: "write failed: \(error)"))
                return
            }
            bytes.clear()
            chunk = state.withLock { s in
                s.spare = bytes
                return Self.takeOutbound(&s)
            }
        }
    }

    /// See `flush()`.
    private static let largeWrite = 64 * 1024

    private static func takeOutbound(_ s: inout State) -> ByteBuffer? {
        guard s.outbound.readableBytes > 0, s.replies.closeReason == nil else {
            s.writerActive = false
            return nil
        }
        let out = s.outbound
        s.outbound = s.spare
        s.spare = ByteBuffer()
        return out
    }

    /// Returns the reply of `id`: already delivered, read by this caller itself when nobody else
    /// holds the reader role, or delivered by the holder to this caller's continuation.
    @inline(__always) private func wait(for id: UInt64) async throws -> RESPValue {
        enum Start { case done(Result<RESPValue, any Error>), read, suspend }
        let start = state.withLock { s -> Start in
            if let result = s.replies.result(for: id) { return .done(result) }
            if s.readerActive { return .suspend }
            s.readerActive = true
            return .read
        }
        switch start {
        case .done(let result): return try result.get()
        case .read: return try await read(for: .reply(id))!.get()
        case .suspend: break
        }
        switch try await suspend(until: id) {
        case .reply(let value): return value
        case .read: return try await read(for: .reply(id))!.get()
        }
    }

    private func suspend(until id: UInt64) async throws -> Wakeup {
        try await withTaskCancellationHandler {
            // Unsafe is sound here: an entry's waiter is resumed exactly once, by whoever removes it
            // from the queue (a reader delivering the reply or handing the role on, close) or, if
            // the reply came or the role fell free meanwhile, right here.
            try await withUnsafeThrowingContinuation { (continuation: Waiter) in
                let early = state.withLock { s -> Result<Wakeup, any Error>? in
                    if let result = s.replies.result(for: id) { return result.map(Wakeup.reply) }
                    if !s.readerActive {
                        s.readerActive = true
                        return .success(.read)
                    }
                    return s.replies.attach(continuation, to: id).map { $0.map(Wakeup.reply) }
                }
                if let early { continuation.resume(with: early) }
            }
        } onCancel: {
            abandon(id, error: CancellationError(), reason: "a command was cancelled with its reply outstanding")
        }
    }

    /// A caller gave up on `id` (timeout or cancellation). If its reply is still outstanding the
    /// connection cannot be reused: close it.
    private func abandon(_ id: UInt64, error: any Error, reason: String) {
        let pending = state.withLock { s in s.replies.isPending(id) }
        guard pending else { return }
        close(reason: .connectionClosed(reason: reason), failing: [id: error])
    }

    // MARK: Receiving

    /// What a holder of the reader role reads for, which says when it stops.
    enum ReadGoal: Equatable {
        /// A caller: until its own request is complete (or failed).
        case reply(UInt64)
        /// A reader task: while replies are outstanding, and for good while a push handler is set.
        case outstanding
        /// Before sending on a connection nobody reads: what has arrived, without waiting.
        case drain
    }

    /// Takes the free reader role for a reader task, if replies are outstanding.
    private func startReaderIfIdle() {
        let start = state.withLock { s -> Bool in
            guard !s.readerActive, !s.replies.queue.isEmpty, s.replies.closeReason == nil else { return false }
            s.readerActive = true
            s.counters.readerTasks += 1
            return true
        }
        if start { startReaderTask() }
    }

    /// Starts a reader task for a reader role already taken on its behalf.
    private func startReaderTask() {
        Task(executorPreference: EventLoop.shared) { [self] in
            _ = await self.read(for: .outstanding)
        }
    }

    /// Reads what arrived on a connection nobody reads (typically the server's end of stream, which
    /// closes the connection), unless someone holds the reader role: they will read it.
    private func drainIfIdle() async {
        let take = state.withLock { s -> Bool in
            guard !s.readerActive, s.replies.closeReason == nil else { return false }
            s.readerActive = true
            return true
        }
        if take { _ = await read(for: .drain) }
    }

    /// Runs with the reader role, already taken for it, until `goal` is met: reads the socket,
    /// decodes, delivers replies in order and pushes to the handler, then hands the role on. For a
    /// caller (`.reply`), returns its own result.
    private func read(for goal: ReadGoal) async -> Result<RESPValue, any Error>? {
        while true {
            let next: Next
            do {
                if goal == .drain {
                    do {
                        try await socket.read(into: &inbound.buffer, timeout: .zero)
                    } catch NetworkError.timedOut {
                        // Nothing after all (the edge was for bytes the last read already took).
                    } catch is CancellationError {
                        // The caller is being cancelled before it sent anything: nothing outstanding.
                    }
                } else {
                    try await socket.read(into: &inbound.buffer)
                }
                try decode()
                // Only complete values can meet a caller's goal (or the queue's, for a task).
                if inbound.values.isEmpty && goal != .drain { continue }
                next = try deliver(for: goal)
            } catch {
                return stop(for: goal, after: error)
            }
            if case .stop(let own) = next { return own }
        }
    }

    /// Decodes every complete value in the receive buffer into `inbound.values`.
    private func decode() throws(RESPDecodingError) {
        // The fields go in as inout arguments: one exclusivity check each per read, not per value.
        try Self.decode(&inbound.buffer, with: &inbound.decoder, into: &inbound.values)
    }

    private static func decode(_ buffer: inout ByteBuffer, with decoder: inout RESPDecoder,
                               into values: inout [RESPValue]) throws(RESPDecodingError) {
        while buffer.readableBytes > 0 {
            // withUnsafeReadableBytes rethrows untyped errors: carry the typed one in a Result.
            let outcome = buffer.withUnsafeReadableBytes { raw in
                Result { () throws(RESPDecodingError) in try decoder.decode(raw) }
            }
            let (value, consumed) = try outcome.get()
            buffer.moveReaderIndex(forwardBy: consumed)
            guard let value else { break }
            values.append(value)
        }
    }

    enum Next {
        case goOn
        /// The goal is met and the role handed on; the caller's own result for `.reply`.
        case stop(Result<RESPValue, any Error>?)
    }

    /// How the reader role passes on when its holder stops.
    private enum Handoff {
        /// Released (nobody is waiting on a continuation), or the connection is closed.
        case none
        /// A waiting caller, resumed to read in turn.
        case caller(Waiter)
        /// A push handler is installed: a reader task reads for good.
        case task
    }

    /// Matches the decoded values to pending commands in order and routes push frames to the push
    /// handler; then, in the same critical section, decides whether `goal` is met and if so hands
    /// the reader role on — after which `inbound` is no longer this holder's to touch.
    private func deliver(for goal: ReadGoal) throws(RESPClientError) -> Next {
        var resumes: [(Waiter, Wakeup)] = []
        var pushes: [RESPValue] = []
        let inbound = self.inbound
        var ownID: UInt64?
        if case .reply(let id) = goal { ownID = id }
        var own: Result<RESPValue, any Error>?
        var closing: RESPClientError?
        let (handler, next, handoff) = try state.withLock { s throws(RESPClientError) in
            for value in inbound.values {
                let action = s.replies.received(value, reader: ownID)
                if case .completeAndClose(_, _, _, let reason) = action { closing = reason }
                switch action {
                case .complete(let id, let waiter, let value), .completeAndClose(let id, let waiter, let value, _):
                    if let waiter {
                        resumes.append((waiter, .reply(value)))
                        s.counters.deliveredToWaiters += 1
                    } else if id == ownID {
                        own = .success(value)
                        s.counters.readByCaller += 1
                    }
                case .partial:
                    break
                case .push(let push, let completing):
                    pushes.append(push)
                    if let waiter = completing?.waiter {
                        resumes.append((waiter, .reply(.null)))
                    } else if let completing, completing.id == ownID {
                        own = .success(.null)
                    }
                case .unsolicited(let value):
                    throw .connectionClosed(reason: "unsolicited reply from server: \(value)")
                }
            }
            // Still under the lock: once it is released the role may have a new holder.
            inbound.values.removeAll(keepingCapacity: true)
            let done: Bool
            switch goal {
            case .reply(let id):
                // Its reply came in this batch, or it failed meanwhile (closed): then it is parked.
                if own == nil, !s.replies.isPending(id) { own = s.replies.result(for: id) }
                done = own != nil
            case .outstanding: done = s.replies.queue.isEmpty && s.pushHandler == nil
            case .drain: done = true
            }
            guard done else { return (s.pushHandler, Next.goOn, Handoff.none) }
            // Closing: nobody is left to read for (nothing queues behind QUIT).
            if closing != nil {
                s.readerActive = false
                return (s.pushHandler, .stop(own), Handoff.none)
            }
            return (s.pushHandler, .stop(own), Self.handOn(&s))
        }
        // Closed before anyone is resumed: a caller resumed by QUIT's reply finds it closed.
        if let closing { close(reason: closing) }
        // Pushes first: a message published before a command's reply is seen before that reply.
        if let handler { for p in pushes { handler(p) } }
        for (continuation, wakeup) in resumes { continuation.resume(returning: wakeup) }
        switch handoff {
        case .none: break
        case .caller(let waiter): waiter.resume(returning: .read)
        case .task: startReaderTask()
        }
        return next
    }

    /// The holder of the reader role stops: the role goes to a reader task in push mode, else to
    /// the oldest caller waiting on a continuation, else it is released (callers that have not
    /// started waiting take it when they do).
    private static func handOn(_ s: inout State) -> Handoff {
        if s.replies.closeReason == nil {
            if s.pushHandler != nil {
                s.counters.readerTasks += 1
                return .task
            }
            if let waiter = s.replies.detachFirstWaiter() {
                s.counters.handedToCallers += 1
                return .caller(waiter)
            }
        }
        s.readerActive = false
        return .none
    }

    /// The holder of the reader role failed (end of stream, protocol error, cancellation, closed by
    /// another task): the connection is closed, which fails every outstanding request.
    private func stop(for goal: ReadGoal, after error: any Error) -> Result<RESPValue, any Error>? {
        var specific: [UInt64: any Error] = [:]
        let reason: RESPClientError
        switch error {
        case let e as RESPDecodingError:
            reason = .protocolError(e)
        case let e as RESPClientError:
            reason = e
        case is CancellationError:
            // Only a caller's read is cancelled, with its own reply outstanding.
            reason = .connectionClosed(reason: "a command was cancelled with its reply outstanding")
            if case .reply(let id) = goal { specific[id] = error }
        default:
            reason = .connectionClosed(reason: "\(error)")
        }
        close(reason: reason, failing: specific)
        return state.withLock { s in
            s.readerActive = false
            guard case .reply(let id) = goal else { return nil }
            return s.replies.result(for: id)
        }
    }

    // MARK: Closing

    /// Closes the connection; commands still waiting fail with `connectionClosed`. Idempotent.
    public func close() {
        close(reason: .connectionClosed(reason: "closed by the client"))
    }

    /// Closes with `reason`; entries in `specific` fail with their own error (timeout, cancellation).
    func close(reason: RESPClientError, failing specific: [UInt64: any Error] = [:]) {
        typealias Resumes = [(Waiter, any Error)]
        let (resumes, waiters, watchdog) = state.withLock { s -> (Resumes, [CheckedContinuation<RESPClientError, Never>], TimerHandle?) in
            guard let resumes = s.replies.close(reason, failing: specific) else { return ([], [], nil) }
            let watchdog = s.watchdog
            s.watchdog = nil
            let w = s.closeWaiters
            s.closeWaiters = []
            return (resumes, w, watchdog)
        }
        socket.close()
        if let watchdog { EventLoop.shared.cancel(watchdog) }
        for (continuation, error) in resumes { continuation.resume(throwing: error) }
        for w in waiters { w.resume(returning: reason) }
    }

    /// Suspends until the connection is closed (by either side) and returns why. The server closing
    /// an idle connection is noticed at once only while a push handler is installed (a reader task
    /// reads then); otherwise when the connection is next used, or by `checkClosed()`.
    public func waitUntilClosed() async -> RESPClientError {
        await withCheckedContinuation { (c: CheckedContinuation<RESPClientError, Never>) in
            let reason: RESPClientError? = state.withLock { s in
                if let r = s.replies.closeReason { return r }
                s.closeWaiters.append(c)
                return nil
            }
            if let reason { c.resume(returning: reason) }
        }
    }
}

extension RESPCommand {
    /// Writes the complete command into a reactor buffer.
    public func write(into buffer: inout ByteBuffer) {
        buffer.append(UInt8(ascii: "*"))
        if argumentCount < 10 {
            buffer.append(UInt8(ascii: "0") + UInt8(argumentCount))
        } else {
            buffer.append(contentsOf: Self.decimalDigits(argumentCount))
        }
        buffer.append(UInt8(ascii: "\r"))
        buffer.append(UInt8(ascii: "\n"))
        // A memcpy; the generic append(contentsOf:) copies byte by byte in debug builds.
        encodedArguments.withUnsafeBytes { src in
            _ = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: src.count) { dst in
                if src.count > 0 { dst.baseAddress!.copyMemory(from: src.baseAddress!, byteCount: src.count) }
                return src.count
            }
        }
    }
}
