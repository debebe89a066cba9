import Reactor
import Synchronization

/// One session with a PostgreSQL server.
///
/// Requests are served one after another in arrival order; a request keeps the session until its
/// ReadyForQuery, so a row stream holds it until read to the end (or dropped: then the rest is
/// drained in the background before the next request starts).
///
/// Every method runs on its caller's executor (`nonisolated(nonsending)`): a caller on the
/// reactor's loop (`Task(executorPreference: EventLoop.shared)`) reads and writes the socket and
/// decodes rows without a single executor switch. (This type was an actor on the loop's serial
/// executor; each call into it was then a trip through the loop's job queue and a task-status
/// lookup, ~10 % of the CPU of a point query.)
public final class PGConnection: @unchecked Sendable {
    // @unchecked: two kinds of mutable state.
    // - `shared` holds what other tasks, the loop's timers and public accessors touch; always
    //   behind its lock.
    // - The session state below (`buffer`, `active`, `statements`, …) is touched only by the task
    //   holding the request slot, which `begin` acquires and `end`/`fail` release or hand on
    //   (FIFO) through `shared`'s lock, so one holder's accesses happen before the next one's.
    //   When a holder is cancelled mid-request, the slot passes to the background task that
    //   drains the rest (`abandonAfterTaskCancel`); the cancelled caller touches nothing after.

    public let configuration: PGConfiguration
    /// The key a CancelRequest quotes (nil if the server sent none).
    public let backendKey: BackendKeyData?
    /// The SASL mechanism used at login ("SCRAM-SHA-256-PLUS" with channel binding), if any.
    public let saslMechanism: String?
    /// TLS protocol version in use, nil for plaintext.
    public let tlsVersion: String?
    let socket: Connection
    let shared: Mutex<Shared>

    struct Shared {
        var parameters: [String: String]
        var transactionStatus: TransactionStatus
        /// Someone holds the request slot.
        var busy = false
        /// Tasks waiting for the slot; resumed with true when it is theirs, false when the session failed.
        var waiters: [UnsafeContinuation<Bool, Never>] = []
        var requestCounter: UInt64 = 0
        /// The request holding the slot (nil between requests).
        var activeID: UInt64?
        var timer: TimerHandle?
        var cancelReason: CancelReason?
        /// CancelRequests sent for the active request so far.
        var cancelsSent = 0
        var pendingCancel: Task<Void, Never>?
        /// Set once the session is unusable; every later request fails with it.
        var failure: PGError?
        var lastUsed = ContinuousClock.now
        var noticeHandler: (@Sendable (PGServerError) -> Void)?
        var notificationHandler: (@Sendable (PGNotification) -> Void)?
    }

    // Session state: the request slot's holder only (see above).
    var buffer = ByteBuffer(capacity: 1 << 16)
    let decoder: BackendMessageDecoder
    var statements: [StatementKey: PreparedStatement] = [:]
    /// The statement used last: a repeated query is found without hashing its SQL text.
    var lastStatement: (key: StatementKey, statement: PreparedStatement)?
    var statementCounter = 0
    var active: ActiveRequest?
    /// Set by `send` for an answered batch, used by the next `fill`.
    var replyMark: Connection.ReplyMark?

    struct StatementKey: Hashable {
        let sql: String
        let types: [PGOID]
    }

    struct PreparedStatement {
        var name: String
        var columns: RowDescription?
        var resultFormats: [PGFormat]
    }

    enum CancelReason { case timeout, task }

    struct ActiveRequest {
        let id: UInt64
        var machine: QueryStateMachine
        var columns: RowDescription?
        /// The latest CommandComplete tag (the one a caller sees).
        var tag: String?
    }

    /// What `pump` read: rows (when collecting), whether the request ended, and the result's
    /// columns and last command tag (taken before the slot is released at the end).
    struct Batch {
        var rows: [DataRow]
        var done: Bool
        var columns: RowDescription?
        var tag: String?
    }

    init(configuration: PGConfiguration, socket: Connection, session: StartupStateMachine.Session, buffer: ByteBuffer) {
        self.configuration = configuration
        self.socket = socket
        backendKey = session.backendKey
        saslMechanism = session.saslMechanism
        tlsVersion = socket.tlsVersion
        shared = Mutex(Shared(parameters: session.parameters, transactionStatus: session.transactionStatus))
        decoder = BackendMessageDecoder(maxMessageLength: configuration.maxMessageLength)
        self.buffer = buffer
    }

    // MARK: Connecting

    public static func connect(url: String) async throws -> PGConnection {
        try await connect(PGConfiguration(url: url))
    }

    /// Opens the socket, negotiates TLS per sslmode, authenticates and waits for ReadyForQuery.
    /// With several hosts or a `target_session_attrs`, picks the host as libpq does (`PGHostSelection`).
    public static func connect(_ configuration: PGConfiguration) async throws -> PGConnection {
        if configuration.endpoints.count > 1 || configuration.targetSessionAttributes != .any {
            return try await connectSelectingHost(configuration)
        }
        return try await connectToEndpoint(configuration)
    }

    /// `connect` to `configuration.endpoint`, whatever the server turns out to be.
    static func connectToEndpoint(_ configuration: PGConfiguration) async throws -> PGConnection {
        try await withTaskExecutorPreference(EventLoop.shared) {
            let socket = try await PGTransport.open(configuration)
            do {
                var machine = StartupStateMachine(.init(
                    user: configuration.user, database: configuration.database, password: configuration.password,
                    options: configuration.startupOptions, channelBinding: configuration.channelBinding,
                    tlsServerEndPointHash: socket.tlsServerEndPointHash))
                let decoder = BackendMessageDecoder(maxMessageLength: configuration.maxMessageLength)
                var buffer = ByteBuffer(capacity: 1 << 16)
                var action = machine.start()
                while true {
                    switch action {
                    case .send(let bytes):
                        try await socket.write(bytes, timeout: configuration.connectTimeout)
                    case .wait, .notice:
                        break
                    case .ready(let session):
                        return PGConnection(configuration: configuration, socket: socket, session: session, buffer: buffer)
                    case .fail(let error):
                        throw error
                    }
                    while true {
                        if let (message, used) = try buffer.withUnsafeReadableBytes({ try decoder.decode($0) }) {
                            buffer.moveReaderIndex(forwardBy: used)
                            action = machine.received(message)
                            break
                        }
                        try await socket.read(into: &buffer, timeout: configuration.connectTimeout)
                    }
                }
            } catch {
                socket.close()
                throw map(error)
            }
        }
    }

    /// Maps reactor errors into PGError so callers see one error type.
    static func map(_ error: any Error) -> PGError {
        if let e = error as? PGError { return e }
        if error is CancellationError { return .cancelled }
        if let n = error as? NetworkError {
            switch n {
            case .endOfStream: return .connectionClosed("the server closed the connection")
            case .connectionReset: return .connectionClosed("connection reset by the server")
            case .closed: return .connectionClosed("the connection was closed")
            case .tls(let s): return .tls(s)
            default: return .network(n.description)
            }
        }
        return .network("\(error)")
    }

    // MARK: Handlers and state

    /// Called for every NoticeResponse (RAISE NOTICE, warnings).
    public func setNoticeHandler(_ handler: (@Sendable (PGServerError) -> Void)?) {
        shared.withLock { $0.noticeHandler = handler }
    }

    /// Called for every NotificationResponse (LISTEN/NOTIFY) this session receives.
    public func setNotificationHandler(_ handler: (@Sendable (PGNotification) -> Void)?) {
        shared.withLock { $0.notificationHandler = handler }
    }

    /// Server run-time parameters (server_version, TimeZone, …), updated by ParameterStatus.
    public var parameters: [String: String] { shared.withLock { $0.parameters } }

    /// The transaction status the server reported at the last ReadyForQuery.
    public var transactionStatus: TransactionStatus { shared.withLock { $0.transactionStatus } }

    /// Why the session is unusable, once it is.
    public var failure: PGError? { shared.withLock { $0.failure } }

    public var isClosed: Bool { failure != nil || socket.isClosed }

    /// How long the session has been idle.
    public var idleDuration: Duration { ContinuousClock.now - shared.withLock { $0.lastUsed } }

    /// Sends Terminate (when no request is running) and closes the socket. A request in flight
    /// fails with `connectionClosed`, and so does every later one.
    nonisolated(nonsending) public func close() async {
        let idle = shared.withLock { s -> Bool? in
            guard s.failure == nil else { return nil }
            s.failure = .connectionClosed("closed by the client")
            guard !s.busy else { return false }
            s.busy = true  // for good: nobody may write after the Terminate
            return true
        }
        guard let idle else { return }
        if idle {
            var e = FrontendMessageEncoder()
            e.terminate()
            try? await socket.write(e.bytes, timeout: .seconds(1))
        }
        socket.close()
        for w in shared.withLock({ s in defer { s.waiters = [] }; return s.waiters }) { w.resume(returning: false) }
    }

    // MARK: Request serialisation

    /// Acquires the request slot (waiting in FIFO order) and starts request `id`'s clock.
    nonisolated(nonsending) func begin(timeout: Duration?) async throws -> UInt64 {
        let free = try shared.withLock { s throws(PGError) -> Bool in
            if let failure = s.failure { throw failure }
            if s.busy { return false }
            s.busy = true
            return true
        }
        if !free {
            let owned = await withUnsafeContinuation { (c: UnsafeContinuation<Bool, Never>) in
                let now = shared.withLock { s -> Bool? in
                    if s.failure != nil { return false }
                    if !s.busy { s.busy = true; return true }
                    s.waiters.append(c)
                    return nil
                }
                if let now { c.resume(returning: now) }
            }
            if !owned { throw failure ?? .connectionClosed("the connection was closed") }
        }
        // A CancelRequest for the previous request may still be on its way: let it land first,
        // so it cannot hit this one.
        if let cancel = shared.withLock({ $0.pendingCancel }) {
            await cancel.value
        }
        let id = try shared.withLock { s throws(PGError) -> UInt64 in
            s.pendingCancel = nil
            if let failure = s.failure {
                s.busy = false
                throw failure
            }
            s.requestCounter += 1
            s.activeID = s.requestCounter
            s.cancelReason = nil
            s.cancelsSent = 0
            return s.requestCounter
        }
        active = ActiveRequest(id: id, machine: QueryStateMachine(.simple))
        if let timeout = timeout ?? configuration.queryTimeout {
            let timer = EventLoop.shared.schedule(after: timeout) { [weak self] in self?.timeoutFired(id) }
            let stale = shared.withLock { s -> Bool in
                guard s.activeID == id else { return true }
                s.timer = timer
                return false
            }
            if stale { EventLoop.shared.cancel(timer) }
        }
        return id
    }

    /// A request threw. Every protocol path ends its request (at ReadyForQuery) or fails the
    /// session before throwing, and a cancelled one is drained in the background; anything
    /// else leaves the session in an unknown state, so it is closed rather than reused.
    func abortRequest(_ id: UInt64, _ error: any Error) -> any Error {
        if !(error as? PGError == .cancelled), shared.withLock({ $0.activeID == id }) {
            return fail(Self.map(error))
        }
        return error
    }

    /// At ReadyForQuery: records the transaction status, releases the session for the next
    /// request, and throws the request's error, if the server sent one.
    func finishRequest(at status: TransactionStatus) throws -> Batch {
        let error = active!.machine.error
        let reason = readyForQuery(status)
        let finished = end()
        if let error { throw Self.requestError(error, cancelReason: reason) }
        return finished
    }

    /// Records the transaction status of a ReadyForQuery; returns why we cancelled the request,
    /// if we did (to tell our own cancel's 57014 from the server's).
    @discardableResult
    func readyForQuery(_ status: TransactionStatus) -> CancelReason? {
        shared.withLock { s in
            s.transactionStatus = status
            return s.cancelReason
        }
    }

    /// A server error as the caller sees it: 57014 (query_canceled) after our own cancel is the
    /// timeout or cancellation that caused it.
    static func requestError(_ error: PGServerError, cancelReason: CancelReason?) -> PGError {
        if error.sqlState == "57014", let cancelReason { return cancelReason == .timeout ? .queryTimeout : .cancelled }
        return .server(error)
    }

    /// Ends the active request and hands the slot to the next waiter (FIFO), or marks it free.
    /// Returns the request's columns and last tag, read before anyone else may run.
    @discardableResult
    func end() -> Batch {
        let finished = Batch(rows: [], done: true, columns: active?.columns, tag: active?.tag)
        active = nil
        let (timer, next) = shared.withLock { s -> (TimerHandle?, UnsafeContinuation<Bool, Never>?) in
            let timer = s.timer
            s.timer = nil
            s.activeID = nil
            s.lastUsed = .now
            if s.waiters.isEmpty {
                s.busy = false
                return (timer, nil)
            }
            return (timer, s.waiters.removeFirst())  // `busy` stays true: ownership passes on
        }
        if let timer { EventLoop.shared.cancel(timer) }
        next?.resume(returning: true)
        return finished
    }

    /// Marks the session broken: closes the socket and fails the current and every queued request.
    func fail(_ error: PGError) -> PGError {
        active = nil
        let (timer, waiters) = shared.withLock { s -> (TimerHandle?, [UnsafeContinuation<Bool, Never>]) in
            if s.failure == nil { s.failure = error }
            let timer = s.timer
            s.timer = nil
            s.activeID = nil
            s.busy = false
            defer { s.waiters = [] }
            return (timer, s.waiters)
        }
        socket.close()
        if let timer { EventLoop.shared.cancel(timer) }
        for w in waiters { w.resume(returning: false) }
        return error
    }

    /// The query timer of request `id` fired (on the loop's thread).
    func timeoutFired(_ id: UInt64) {
        let cancel = shared.withLock { s -> Bool in
            guard s.activeID == id, s.cancelReason == nil else { return false }
            s.cancelReason = .timeout
            return true
        }
        if cancel { requestServerCancel(id) }
    }

    /// Sends a CancelRequest for request `id` on a connection of its own, unless one is on its way.
    func requestServerCancel(_ id: UInt64) {
        guard let key = backendKey else { return }
        let config = configuration
        shared.withLock { s in
            guard s.activeID == id, s.pendingCancel == nil else { return }
            s.cancelsSent += 1
            s.pendingCancel = Task(executorPreference: EventLoop.shared) { [weak self] in
                // Returns once the postmaster has closed the connection: it has signalled the backend.
                await PGTransport.sendCancel(config, key: key)
                self?.cancelDelivered(id)
            }
        }
    }

    /// PostgreSQL drops a CancelRequest that reaches the backend while it waits for a command, so
    /// one that overtakes the query it was meant for is lost. While the same request is still
    /// running, send another, backing off from 50 ms to 1 s. A cancel can never hit the next
    /// request: that one begins only after the last cancel was delivered (`begin` awaits it), and
    /// a cancel delivered while the backend waits between requests is dropped by the server.
    func cancelDelivered(_ id: UInt64) {
        let delay = shared.withLock { s -> Duration? in
            s.pendingCancel = nil
            guard s.activeID == id, s.cancelReason != nil else { return nil }
            return .milliseconds(min(50 << min(s.cancelsSent - 1, 5), 1000))
        }
        guard let delay else { return }
        _ = EventLoop.shared.schedule(after: delay) { [weak self] in self?.resendCancel(id) }
    }

    func resendCancel(_ id: UInt64) {
        if shared.withLock({ $0.activeID == id && $0.cancelReason != nil }) { requestServerCancel(id) }
    }

    /// Called when the awaiting task was cancelled mid-request: cancel on the server and let a
    /// background task read the rest up to ReadyForQuery so the session stays in sync. The slot
    /// passes to that task: the caller must not touch the session state after this.
    func abandonAfterTaskCancel(_ id: UInt64) -> PGError {
        let mine = shared.withLock { s -> Bool in
            guard s.activeID == id else { return false }
            if s.cancelReason == nil { s.cancelReason = .task }
            return true
        }
        guard mine else { return .cancelled }
        requestServerCancel(id)
        Task(executorPreference: EventLoop.shared) { await self.drain(id) }
        return .cancelled
    }

    /// Reads and discards the rest of request `id` (a dropped row stream or a cancelled task).
    nonisolated(nonsending) func drain(_ id: UInt64) async {
        while shared.withLock({ $0.activeID == id }) {
            do {
                _ = try await pump(id, collectRows: false, limit: .max)
            } catch {
                return  // pump already ended the request or failed the session
            }
        }
    }

    // MARK: Reading

    /// Reads more bytes into the receive buffer. Task cancellation surfaces as CancellationError.
    nonisolated(nonsending) func fill() async throws {
        var b = buffer
        buffer = ByteBuffer()  // keep `b` uniquely referenced: no copy on append
        defer { buffer = b }
        if b.readerIndex > 1 << 16 && b.readerIndex * 2 > b.capacity { b.discardReadBytes() }
        if let mark = replyMark {
            replyMark = nil
            try await socket.read(into: &b, replyAfter: mark)
        } else {
            try await socket.read(into: &b)
        }
    }

    /// Decodes the next complete message already in the buffer, handling asynchronous ones.
    func nextBuffered() throws -> BackendMessage? {
        while true {
            guard let (message, used) = try buffer.withUnsafeReadableBytes({ try decoder.decode($0) }) else {
                if buffer.readableBytes == 0 && buffer.readerIndex > 0 { buffer.clear() }
                return nil
            }
            buffer.moveReaderIndex(forwardBy: used)
            switch message {
            case .noticeResponse(let n): shared.withLock { $0.noticeHandler }?(n)
            case .notificationResponse(let n): shared.withLock { $0.notificationHandler }?(n)
            case .parameterStatus(let name, let value): shared.withLock { $0.parameters[name] = value }
            case .errorResponse(let e) where e.severity == "FATAL" || e.severity == "PANIC":
                // e.g. 57P01 on server shutdown: the server closes right after.
                if active == nil { throw fail(.server(e)) }
                return message
            default: return message
            }
        }
    }

    /// The next message of request `id`, reading from the socket as needed. Errors fail the
    /// session, except task cancellation, which hands the request to a background drain.
    nonisolated(nonsending) func nextMessage(_ id: UInt64) async throws -> BackendMessage {
        do {
            while true {
                if let m = try nextBuffered() { return m }
                try await fill()
            }
        } catch {
            throw readFailed(id, error)
        }
    }

    /// What reading request `id` failing means: task cancellation hands the request to a
    /// background drain; anything else breaks the session.
    func readFailed(_ id: UInt64, _ error: any Error) -> any Error {
        switch error {
        case is CancellationError: return abandonAfterTaskCancel(id)
        case let e as PGError: return fail(e)
        default: return fail(Self.map(error))
        }
    }

    /// Processes messages of request `id` until `limit` rows were collected, a result boundary
    /// the caller wants to see, or ReadyForQuery. Returns the rows gathered (if collecting).
    /// At ReadyForQuery the request ends; a server error is thrown after the request ended.
    nonisolated(nonsending) func pump(_ id: UInt64, collectRows: Bool, limit: Int, stopAtRowDescription: Bool = false) async throws -> Batch {
        var rows = [DataRow]()
        // Most results are a row or a few: start small (a 1024-row reservation was a 16 KiB
        // allocation per point query); continuation batches of a large result start bigger.
        if collectRows { rows.reserveCapacity(limit > 1024 ? 1024 : min(limit, 8)) }
        while true {
            guard active?.id == id else { return Batch(rows: rows, done: true) }
            let message: BackendMessage
            do {
                if let m = try nextBuffered() {
                    message = m
                } else {
                    if !rows.isEmpty { return Batch(rows: rows, done: false, columns: active?.columns) }
                    try await fill()
                    continue
                }
            } catch {
                throw readFailed(id, error)
            }
            switch active!.machine.received(message) {
            case .wait, .parameterDescription, .noData:
                break
            case .rowDescription(let d):
                active!.columns = d
                if stopAtRowDescription { return Batch(rows: rows, done: false, columns: d) }
            case .row(let r):
                if collectRows {
                    rows.append(r)
                    if rows.count >= limit { return Batch(rows: rows, done: false, columns: active?.columns) }
                }
            case .commandComplete(let tag):
                active!.tag = tag
            case .copyIn:
                // COPY FROM STDIN sent through query(): refuse politely, the server ends it.
                var e = FrontendMessageEncoder()
                e.copyFail("COPY FROM STDIN must use PGConnection.copyFrom")
                try await send(e)
            case .copyOut, .copyData:
                break  // COPY TO STDOUT through query(): data is discarded
            case .error:
                break  // remembered by the machine; thrown at ReadyForQuery
            case .done(let status):
                var finished = try finishRequest(at: status)
                finished.rows = rows
                return finished
            case .close(let e):
                throw fail(e)
            }
        }
    }

    /// Writes the encoded messages. When they end in Sync or Query (the encoder knows), the server
    /// will answer with ReadyForQuery, and nothing of ours is outstanding then (every request reads
    /// its answer to ReadyForQuery before the next Sync or Query is written), so the first read of
    /// the answer may wait for the socket to signal it instead of trying `recv` first.
    nonisolated(nonsending) func send(_ messages: FrontendMessageEncoder) async throws {
        if messages.endsWithSyncOrQuery { replyMark = socket.replyMark() }
        do { try await socket.write(messages.bytes) } catch { throw fail(Self.map(error)) }
    }

    // MARK: Queries

    /// Runs a query with parameters ($1, $2, …) over the extended protocol and streams its rows.
    /// Errors of the statement (syntax, constraint, …) are thrown here, before any row.
    nonisolated(nonsending) public func query(_ sql: String, _ parameters: [any PGEncodable] = [], timeout: Duration? = nil) async throws -> PGRowSequence {
        let bindings = try PGBindings(parameters)
        let id = try await begin(timeout: timeout)
        do {
            try await sendExecution(sql, bindings, id: id)
            let first = try await pump(id, collectRows: true, limit: 1024)
            return PGRowSequence(connection: self, requestID: id, columns: first.columns, first: first.rows, finished: first.done)
        } catch {
            throw abortRequest(id, error)
        }
    }

    /// Runs a statement and returns its command tag (rows, if any, are read and dropped).
    @discardableResult
    nonisolated(nonsending) public func execute(_ sql: String, _ parameters: [any PGEncodable] = [], timeout: Duration? = nil) async throws -> PGCommandResult {
        let bindings = try PGBindings(parameters)
        let id = try await begin(timeout: timeout)
        do {
            try await sendExecution(sql, bindings, id: id)
            let finished = try await pump(id, collectRows: false, limit: .max)
            return PGCommandResult(tag: finished.tag ?? "")
        } catch {
            throw abortRequest(id, error)
        }
    }

    /// Runs the query and collects every row (convenience for small results).
    nonisolated(nonsending) public func collect(_ sql: String, _ parameters: [any PGEncodable] = [], timeout: Duration? = nil) async throws -> [PGRow] {
        var out = [PGRow]()
        for try await row in try await query(sql, parameters, timeout: timeout) { out.append(row) }
        return out
    }

    /// Encodes Bind/Execute (after Parse/Describe when needed) for one statement and sets up
    /// the state machine of request `id`.
    nonisolated(nonsending) func sendExecution(_ sql: String, _ bindings: PGBindings, id: UInt64) async throws {
        // A NUL would end the SQL text early on the wire: refuse instead of running a prefix.
        if sql.containsNUL {
            end()
            throw PGError.encoding("SQL text contains a NUL byte")
        }
        var e = FrontendMessageEncoder(capacity: 64 + sql.utf8.count + bindings.values.count)
        if configuration.statementCache {
            let statement = try await prepared(sql, bindings.types, id: id)
            e.bind(portal: "", statement: statement.name, bindings: bindings, resultFormats: statement.resultFormats)
            e.execute(portal: "")
            e.sync()
            active!.machine = QueryStateMachine(.extended([statement.columns]))
            active!.columns = statement.columns
        } else {
            // Unnamed statement, one round trip, text results (the types are unknown before
            // Describe): safe behind transaction-mode poolers.
            e.parse(statement: "", query: sql, parameterTypes: bindings.types)
            e.bind(portal: "", statement: "", bindings: bindings, resultFormats: [.text])
            e.describe(.portal, name: "")
            e.execute(portal: "")
            e.sync()
            active!.machine = QueryStateMachine(.extended([nil]))
        }
        try await send(e)
    }

    /// The cached prepared statement for `sql` with these parameter types, preparing it (one
    /// round trip: Parse/Describe/Sync) the first time.
    nonisolated(nonsending) func prepared(_ sql: String, _ types: [PGOID], id: UInt64) async throws -> PreparedStatement {
        if let last = lastStatement, last.key.sql == sql, last.key.types == types { return last.statement }
        let key = StatementKey(sql: sql, types: types)
        if let s = statements[key] {
            lastStatement = (key, s)
            return s
        }
        statementCounter += 1
        let name = "pgw\(statementCounter)"
        var e = FrontendMessageEncoder()
        e.parse(statement: name, query: sql, parameterTypes: types)
        e.describe(.statement, name: name)
        e.sync()
        try await send(e)
        active!.machine = QueryStateMachine(.prepare)
        active!.columns = nil
        // Read to ReadyForQuery without ending the request: the execution follows on it.
        var columns: RowDescription?
        while true {
            switch active!.machine.received(try await nextMessage(id)) {
            case .rowDescription(let d): columns = d
            case .done(let status):
                let reason = readyForQuery(status)
                if let error = active!.machine.error {
                    end()
                    throw Self.requestError(error, cancelReason: reason)
                }
                let formats = columns.map { $0.columns.map { $0.dataType.hasBinaryCodec ? PGFormat.binary : .text } } ?? []
                let statement = PreparedStatement(name: name, columns: columns?.with(formats: formats), resultFormats: formats.isEmpty ? [.binary] : formats)
                statements[key] = statement
                lastStatement = (key, statement)
                return statement
            case .close(let e): throw fail(e)
            default: break
            }
        }
    }

    /// Fetches the next rows of request `id` for its row sequence.
    nonisolated(nonsending) func nextRows(_ id: UInt64) async throws -> (rows: [DataRow], done: Bool) {
        guard active?.id == id else { return ([], true) }
        if Task.isCancelled { throw abandonAfterTaskCancel(id) }
        let batch = try await pump(id, collectRows: true, limit: 4096)
        return (batch.rows, batch.done)
    }

    /// A row sequence was dropped before its end: read the rest in the background.
    func abandon(_ id: UInt64) {
        guard shared.withLock({ $0.activeID == id }) else { return }  // read to its end after all
        Task(executorPreference: EventLoop.shared) { await self.drain(id) }
    }

    // MARK: Simple query (scripts, migrations)

    /// Runs one or more ';'-separated statements with the simple protocol (no parameters).
    /// Values arrive as text. Stops at the first error, which is thrown.
    @discardableResult
    nonisolated(nonsending) public func simpleQuery(_ sql: String, timeout: Duration? = nil) async throws -> [PGSimpleResult] {
        if sql.containsNUL { throw PGError.encoding("SQL text contains a NUL byte") }
        let id = try await begin(timeout: timeout)
        var e = FrontendMessageEncoder()
        e.query(sql)
        active!.machine = QueryStateMachine(.simple)
        try await send(e)
        var results = [PGSimpleResult]()
        var current = PGSimpleResult(columns: nil, rows: [], command: .init(tag: ""))
        while true {
            switch active!.machine.received(try await nextMessage(id)) {
            case .rowDescription(let d): current.columns = d
            case .row(let r): current.rows.append(PGRow(columns: current.columns!, data: r))
            case .commandComplete(let tag):
                current.command = .init(tag: tag)
                results.append(current)
                current = PGSimpleResult(columns: nil, rows: [], command: .init(tag: ""))
            case .copyIn:
                var f = FrontendMessageEncoder()
                f.copyFail("COPY FROM STDIN must use PGConnection.copyFrom")
                try await send(f)
            case .done(let status):
                _ = try finishRequest(at: status)
                return results
            case .close(let e): throw fail(e)
            default: break
            }
        }
    }
}
