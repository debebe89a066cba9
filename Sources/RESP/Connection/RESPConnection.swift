import Reactor
import Synchronization

/// One connection to a Redis server: HELLO 3 handshake, commands and pipelines with replies matched
/// in order, RESP3 push frames routed apart, and close-on-timeout.
///
/// Any number of tasks may send concurrently: their commands are appended to one outbound buffer
/// that the first of them writes (later ones ride along in the same write — implicit pipelining),
/// and one reader task, running on the event loop, decodes replies and resumes the waiting callers.
///
/// A command whose reply is still outstanding when it times out or is cancelled closes the
/// connection: a late reply would otherwise be read as the answer to the next command
/// (go-redis #1113). Every other waiting command then fails with `connectionClosed`.
public final class RESPConnection: RESPCommandExecutor, Sendable {
    public let configuration: RESPConfiguration
    let socket: Connection
    private let state: Mutex<State>

    struct State: Sendable {
        var outbound = ByteBuffer(capacity: 4096)
        var spare = ByteBuffer(capacity: 4096)
        var writerActive = false
        var replies = ReplyStateMachine<UnsafeContinuation<RESPValue, any Error>>()
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
    }

    /// Connects, starts the reader on the event loop and performs the handshake: `HELLO 3` with
    /// `AUTH` and `SETNAME`, then `SELECT` when a database is configured — pipelined in one write.
    /// A wrong password surfaces as `RESPServerError` with code `WRONGPASS`.
    public static func connect(_ configuration: RESPConfiguration) async throws -> RESPConnection {
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
        connection.startReader()
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

    public var isClosed: Bool { state.withLock { $0.replies.closeReason != nil } }

    /// Receives every RESP3 push frame (pub/sub messages, subscription confirmations, client-side
    /// caching invalidations) on the reader's thread. Must not block.
    public func setPushHandler(_ handler: (@Sendable (RESPValue) -> Void)?) {
        state.withLock { $0.pushHandler = handler }
    }

    // MARK: Sending

    public func execute(_ command: RESPCommand, timeout: RESPTimeout) async throws -> RESPValue {
        let value = try await submit(name: command.name, replies: 1, collects: false, isSubscription: false,
                                     timeout: timeout) { command.write(into: &$0) }
        if case .error(let e) = value { throw e }
        return value
    }

    public func pipeline(_ commands: [RESPCommand], timeout: RESPTimeout) async throws -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        let value = try await submit(name: commands[0].name, replies: commands.count, collects: true,
                                     isSubscription: false, timeout: timeout) { out in
            for c in commands { c.write(into: &out) }
        }
        guard case .array(let values) = value else { return [value] }
        return values
    }

    /// Sends SUBSCRIBE/PSUBSCRIBE/UNSUBSCRIBE/PUNSUBSCRIBE-style commands, which RESP3 answers with one
    /// push confirmation per channel instead of a reply. Returns once all confirmations arrived.
    public func sendSubscription(_ command: RESPCommand, confirmations: Int, timeout: RESPTimeout = .default) async throws {
        let value = try await submit(name: command.name, replies: confirmations, collects: false, isSubscription: true,
                                     timeout: timeout) { command.write(into: &$0) }
        if case .error(let e) = value { throw e }
    }

    // Inlined into execute/pipeline: with the current event loop every async frame boundary costs a
    // hop through the loop's job queue (see docs/benchmarks.md); inlining removed ~10% of them.
    @inline(__always) private func submit(name: String, replies: Int, collects: Bool, isSubscription: Bool, timeout: RESPTimeout,
                        encode: (inout ByteBuffer) -> Void) async throws -> RESPValue {
        let limit = deadline(for: timeout)
        let due = limit.map { ContinuousClock.now + $0 }
        let (id, mustWrite, arm) = try state.withLock { s throws(RESPClientError) -> (UInt64, Bool, ContinuousClock.Instant?) in
            let id = try s.replies.enqueue(name: name, replies: replies, collects: collects,
                                           isSubscription: isSubscription, deadline: due, timeout: limit)
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

    @inline(__always) private func wait(for id: UInt64) async throws -> RESPValue {
        try await withTaskCancellationHandler {
            // Unsafe is sound here: an entry is resumed exactly once, by whoever removes it from the
            // queue (reader, close) or, if it finished early, right here.
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<RESPValue, any Error>) in
                let early = state.withLock { s in s.replies.attach(continuation, to: id) }
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

    private func startReader() {
        Task(executorPreference: EventLoop.shared) { [self] in
            await self.readLoop()
        }
    }

    private func readLoop() async {
        var buffer = ByteBuffer(capacity: 16 * 1024)
        var decoder = RESPDecoder(limits: configuration.decoderLimits)
        var values: [RESPValue] = []
        do {
            while true {
                try await socket.read(into: &buffer)
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
                if !values.isEmpty {
                    try deliver(values)
                    values.removeAll(keepingCapacity: true)
                }
            }
        } catch let error as RESPDecodingError {
            close(reason: .protocolError(error))
        } catch let error as RESPClientError {
            close(reason: error)
        } catch {
            close(reason: .connectionClosed(reason: "\(error)"))
        }
    }

    /// Matches replies to pending commands in order and routes push frames to the push handler.
    private func deliver(_ values: [RESPValue]) throws(RESPClientError) {
        var resumes: [(UnsafeContinuation<RESPValue, any Error>, RESPValue)] = []
        var pushes: [RESPValue] = []
        let handler = try state.withLock { s throws(RESPClientError) -> (@Sendable (RESPValue) -> Void)? in
            for value in values {
                switch s.replies.received(value) {
                case .complete(_, let waiter, let value):
                    if let waiter { resumes.append((waiter, value)) }
                case .partial:
                    break
                case .push(let push, let completing):
                    pushes.append(push)
                    if let waiter = completing?.waiter { resumes.append((waiter, .null)) }
                case .unsolicited(let value):
                    throw .connectionClosed(reason: "unsolicited reply from server: \(value)")
                }
            }
            return s.pushHandler
        }
        // Pushes first: a message published before a command's reply is seen before that reply.
        if let handler { for p in pushes { handler(p) } }
        for (continuation, value) in resumes { continuation.resume(returning: value) }
    }

    // MARK: Closing

    /// Closes the connection; commands still waiting fail with `connectionClosed`. Idempotent.
    public func close() {
        close(reason: .connectionClosed(reason: "closed by the client"))
    }

    /// Closes with `reason`; entries in `specific` fail with their own error (timeout, cancellation).
    func close(reason: RESPClientError, failing specific: [UInt64: any Error] = [:]) {
        typealias Resumes = [(UnsafeContinuation<RESPValue, any Error>, any Error)]
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

    /// Suspends until the connection is closed (by either side) and returns why.
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
