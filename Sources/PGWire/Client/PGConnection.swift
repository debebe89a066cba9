import Reactor

/// One session with a PostgreSQL server.
///
/// An actor whose executor is the reactor's event loop: when the caller also runs on the loop
/// (`Task(executorPreference: EventLoop.shared)`), awaiting a query costs no thread hop. Requests
/// are served one after another in arrival order; a request keeps the session until its
/// ReadyForQuery, so a row stream holds it until read to the end (or dropped: then the rest is
/// drained in the background before the next request starts).
public actor PGConnection {
    public nonisolated var unownedExecutor: UnownedSerialExecutor { EventLoop.shared.asUnownedSerialExecutor() }

    public nonisolated let configuration: PGConfiguration
    /// The key a CancelRequest quotes (nil if the server sent none).
    public nonisolated let backendKey: BackendKeyData?
    /// The SASL mechanism used at login ("SCRAM-SHA-256-PLUS" with channel binding), if any.
    public nonisolated let saslMechanism: String?
    /// TLS protocol version in use, nil for plaintext.
    public nonisolated let tlsVersion: String?
    nonisolated let socket: Connection

    /// Server run-time parameters (server_version, TimeZone, …), updated by ParameterStatus.
    public private(set) var parameters: [String: String]
    public internal(set) var transactionStatus: TransactionStatus = .idle
    var buffer = ByteBuffer(capacity: 1 << 16)
    let decoder: BackendMessageDecoder
    var statements: [String: PreparedStatement] = [:]
    var statementCounter = 0

    // Request serialisation.
    var busy = false
    var waiters: [CheckedContinuation<Void, Never>] = []
    var requestCounter: UInt64 = 0
    var active: ActiveRequest?
    var pendingCancel: Task<Void, Never>?
    /// Set once the session is unusable; every later request fails with it.
    public internal(set) var failure: PGError?
    var lastUsed = ContinuousClock.now

    var noticeHandler: (@Sendable (PGServerError) -> Void)?
    var notificationHandler: (@Sendable (PGNotification) -> Void)?

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
        var tags: [String] = []
        var timer: TimerHandle?
        var cancelReason: CancelReason?
        /// CancelRequests sent for this request so far.
        var cancelsSent = 0
    }

    init(configuration: PGConfiguration, socket: Connection, session: StartupStateMachine.Session, buffer: ByteBuffer) {
        self.configuration = configuration
        self.socket = socket
        backendKey = session.backendKey
        saslMechanism = session.saslMechanism
        tlsVersion = socket.tlsVersion
        parameters = session.parameters
        transactionStatus = session.transactionStatus
        decoder = BackendMessageDecoder(maxMessageLength: configuration.maxMessageLength)
        self.buffer = buffer
    }

    // MARK: Connecting

    public static func connect(url: String) async throws -> PGConnection {
        try await connect(PGConfiguration(url: url))
    }

    /// Opens the socket, negotiates TLS per sslmode, authenticates and waits for ReadyForQuery.
    public static func connect(_ configuration: PGConfiguration) async throws -> PGConnection {
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

    // MARK: Handlers

    /// Called for every NoticeResponse (RAISE NOTICE, warnings).
    public func setNoticeHandler(_ handler: (@Sendable (PGServerError) -> Void)?) { noticeHandler = handler }
    /// Called for every NotificationResponse (LISTEN/NOTIFY) this session receives.
    public func setNotificationHandler(_ handler: (@Sendable (PGNotification) -> Void)?) { notificationHandler = handler }

    public var isClosed: Bool { failure != nil || socket.isClosed }

    /// How long the session has been idle.
    public var idleDuration: Duration { ContinuousClock.now - lastUsed }

    /// Sends Terminate and closes the socket.
    public func close() async {
        guard failure == nil else { return }
        failure = .connectionClosed("closed by the client")
        var e = FrontendMessageEncoder()
        e.terminate()
        try? await socket.write(e.bytes, timeout: .seconds(1))
        socket.close()
        failAllWaiters()
    }

    // MARK: Request serialisation

    func begin(timeout: Duration?) async throws -> UInt64 {
        if let failure { throw failure }
        if busy {
            await withCheckedContinuation { waiters.append($0) }
        }
        busy = true
        if let c = pendingCancel {
            await c.value
            pendingCancel = nil
        }
        if let failure {
            end()
            throw failure
        }
        requestCounter += 1
        let id = requestCounter
        if let timeout = timeout ?? configuration.queryTimeout {
            let timer = EventLoop.shared.schedule(after: timeout) { [weak self] in
                guard let self else { return }
                Task(executorPreference: EventLoop.shared) { await self.timeoutFired(id) }
            }
            active = ActiveRequest(id: id, machine: QueryStateMachine(.simple), timer: timer)
        } else {
            active = ActiveRequest(id: id, machine: QueryStateMachine(.simple))
        }
        return id
    }

    /// A request threw. Every protocol path ends its request (at ReadyForQuery) or fails the
    /// session before throwing, and a cancelled one is drained in the background; anything
    /// else leaves the session in an unknown state, so it is closed rather than reused.
    func abortRequest(_ id: UInt64, _ error: any Error) -> any Error {
        if active?.id == id, !(error as? PGError == .cancelled) {
            return fail(Self.map(error))
        }
        return error
    }

    /// Hands the session to the next waiter (FIFO), or marks it idle.
    /// At ReadyForQuery: records the transaction status, releases the connection for the next
    /// request, and throws the request's error, if the server sent one.
    func finishRequest(at status: TransactionStatus) throws {
        transactionStatus = status
        let error = active!.machine.error
        let reason = active!.cancelReason
        end()
        if let error { throw Self.requestError(error, cancelReason: reason) }
    }

    /// A server error as the caller sees it: 57014 (query_canceled) after our own cancel is the
    /// timeout or cancellation that caused it.
    static func requestError(_ error: PGServerError, cancelReason: CancelReason?) -> PGError {
        if error.sqlState == "57014", let cancelReason { return cancelReason == .timeout ? .queryTimeout : .cancelled }
        return .server(error)
    }

    func end() {
        if let t = active?.timer { EventLoop.shared.cancel(t) }
        lastColumns = active?.columns
        lastTag = active?.tags.last
        active = nil
        lastUsed = .now
        if !waiters.isEmpty {
            waiters.removeFirst().resume()  // `busy` stays true: ownership passes on
        } else {
            busy = false
        }
    }

    func failAllWaiters() {
        let w = waiters
        waiters.removeAll()
        for c in w { c.resume() }  // each re-checks `failure` and throws it
    }

    /// Marks the session broken: closes the socket and fails the current and every queued request.
    func fail(_ error: PGError) -> PGError {
        if failure == nil { failure = error }
        socket.close()
        if let t = active?.timer { EventLoop.shared.cancel(t) }
        active = nil
        failAllWaiters()
        busy = false
        return error
    }

    func timeoutFired(_ id: UInt64) {
        guard active?.id == id, active?.cancelReason == nil else { return }
        active?.cancelReason = .timeout
        requestServerCancel()
    }

    func requestServerCancel() {
        guard let key = backendKey, pendingCancel == nil, let id = active?.id else { return }
        let config = configuration
        active?.cancelsSent += 1
        pendingCancel = Task(executorPreference: EventLoop.shared) { [weak self] in
            // Returns once the postmaster has closed the connection: it has signalled the backend.
            await PGTransport.sendCancel(config, key: key)
            await self?.cancelDelivered(id)
        }
    }

    /// PostgreSQL drops a CancelRequest that reaches the backend while it waits for a command, so
    /// one that overtakes the query it was meant for is lost. While the same request is still
    /// running, send another, backing off from 50 ms to 1 s. A cancel can never hit the next
    /// request: that one begins only after the last cancel was delivered (`begin` awaits it), and
    /// a cancel delivered while the backend waits between requests is dropped by the server.
    func cancelDelivered(_ id: UInt64) {
        pendingCancel = nil
        guard let request = active, request.id == id, request.cancelReason != nil else { return }
        let delay = Duration.milliseconds(min(50 << min(request.cancelsSent - 1, 5), 1000))
        _ = EventLoop.shared.schedule(after: delay) { [weak self] in
            guard let self else { return }
            Task(executorPreference: EventLoop.shared) { await self.resendCancel(id) }
        }
    }

    func resendCancel(_ id: UInt64) {
        guard active?.id == id, active?.cancelReason != nil else { return }
        requestServerCancel()
    }

    /// Called when the awaiting task was cancelled mid-request: cancel on the server and let a
    /// background task read the rest up to ReadyForQuery so the session stays in sync.
    func abandonAfterTaskCancel(_ id: UInt64) -> PGError {
        guard active?.id == id else { return .cancelled }
        if active?.cancelReason == nil { active?.cancelReason = .task }
        requestServerCancel()
        Task(executorPreference: EventLoop.shared) { await self.drain(id) }
        return .cancelled
    }

    /// Reads and discards the rest of request `id` (a dropped row stream or a cancelled task).
    func drain(_ id: UInt64) async {
        while active?.id == id {
            do {
                _ = try await pump(id, collectRows: false, limit: .max)
            } catch {
                return  // pump already ended the request or failed the session
            }
        }
    }

    // MARK: Reading

    /// Reads more bytes into the receive buffer. Task cancellation surfaces as CancellationError.
    func fill() async throws {
        var b = buffer
        buffer = ByteBuffer()  // keep `b` uniquely referenced: no copy on append
        defer { buffer = b }
        if b.readerIndex > 1 << 16 && b.readerIndex * 2 > b.capacity { b.discardReadBytes() }
        try await socket.read(into: &b)
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
            case .noticeResponse(let n): noticeHandler?(n)
            case .notificationResponse(let n): notificationHandler?(n)
            case .parameterStatus(let name, let value): parameters[name] = value
            case .errorResponse(let e) where e.severity == "FATAL" || e.severity == "PANIC":
                // e.g. 57P01 on server shutdown: the server closes right after.
                if active == nil { throw fail(.server(e)) }
                return message
            default: return message
            }
        }
    }

    /// Processes messages of request `id` until `limit` rows were collected, a result boundary
    /// the caller wants to see, or ReadyForQuery. Returns the rows gathered (if collecting).
    /// At ReadyForQuery the request ends; a server error is thrown after the request ended.
    func pump(_ id: UInt64, collectRows: Bool, limit: Int, stopAtRowDescription: Bool = false) async throws -> (rows: [DataRow], done: Bool) {
        var rows = [DataRow]()
        if collectRows { rows.reserveCapacity(min(limit, 1024)) }
        while true {
            guard active?.id == id else { return (rows, true) }
            let message: BackendMessage
            do {
                if let m = try nextBuffered() {
                    message = m
                } else {
                    if !rows.isEmpty { return (rows, false) }
                    try await fill()
                    continue
                }
            } catch is CancellationError {
                throw abandonAfterTaskCancel(id)
            } catch let e as PGError {
                throw fail(e)
            } catch {
                throw fail(Self.map(error))
            }
            switch active!.machine.received(message) {
            case .wait, .parameterDescription, .noData:
                break
            case .rowDescription(let d):
                active!.columns = d
                if stopAtRowDescription { return (rows, false) }
            case .row(let r):
                if collectRows {
                    rows.append(r)
                    if rows.count >= limit { return (rows, false) }
                }
            case .commandComplete(let tag):
                active!.tags.append(tag)
            case .copyIn:
                // COPY FROM STDIN sent through query(): refuse politely, the server ends it.
                var e = FrontendMessageEncoder()
                e.copyFail("COPY FROM STDIN must use PGConnection.copyFrom")
                try await write(e.bytes)
            case .copyOut, .copyData:
                break  // COPY TO STDOUT through query(): data is discarded
            case .error:
                break  // remembered by the machine; thrown at ReadyForQuery
            case .done(let status):
                try finishRequest(at: status)
                return (rows, true)
            case .close(let e):
                throw fail(e)
            }
        }
    }

    func write(_ bytes: [UInt8]) async throws {
        do { try await socket.write(bytes) } catch { throw fail(Self.map(error)) }
    }

    // MARK: Queries

    /// Runs a query with parameters ($1, $2, …) over the extended protocol and streams its rows.
    /// Errors of the statement (syntax, constraint, …) are thrown here, before any row.
    public func query(_ sql: String, _ parameters: [any PGEncodable] = [], timeout: Duration? = nil) async throws -> PGRowSequence {
        let bindings = try PGBindings(parameters)
        let id = try await begin(timeout: timeout)
        do {
            try await sendExecution(sql, bindings, id: id)
            let (rows, done) = try await pump(id, collectRows: true, limit: 1024)
            let columns = done ? lastColumns : active?.columns
            return PGRowSequence(connection: self, requestID: id, columns: columns, first: rows, finished: done)
        } catch {
            throw abortRequest(id, error)
        }
    }

    /// Columns of a request that ended during `query` (kept for the sequence it returns).
    var lastColumns: RowDescription?

    /// Runs a statement and returns its command tag (rows, if any, are read and dropped).
    @discardableResult
    public func execute(_ sql: String, _ parameters: [any PGEncodable] = [], timeout: Duration? = nil) async throws -> PGCommandResult {
        let bindings = try PGBindings(parameters)
        let id = try await begin(timeout: timeout)
        do {
            try await sendExecution(sql, bindings, id: id)
            _ = try await pump(id, collectRows: false, limit: .max)
        } catch {
            throw abortRequest(id, error)
        }
        return PGCommandResult(tag: lastTag ?? "")
    }

    /// Runs the query and collects every row (convenience for small results).
    public func collect(_ sql: String, _ parameters: [any PGEncodable] = [], timeout: Duration? = nil) async throws -> [PGRow] {
        var out = [PGRow]()
        for try await row in try await query(sql, parameters, timeout: timeout) { out.append(row) }
        return out
    }

    var lastTag: String?

    /// Encodes Bind/Execute (after Parse/Describe when needed) for one statement and sets up
    /// the state machine of request `id`.
    func sendExecution(_ sql: String, _ bindings: PGBindings, id: UInt64) async throws {
        // A NUL would end the SQL text early on the wire: refuse instead of running a prefix.
        if sql.utf8.contains(0) {
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
        try await write(e.bytes)
    }

    /// The cached prepared statement for `sql` with these parameter types, preparing it (one
    /// round trip: Parse/Describe/Sync) the first time.
    func prepared(_ sql: String, _ types: [PGOID], id: UInt64) async throws -> PreparedStatement {
        var key = sql
        for t in types { key += "\u{0}\(t.rawValue)" }
        if let s = statements[key] { return s }
        statementCounter += 1
        let name = "pgw\(statementCounter)"
        var e = FrontendMessageEncoder()
        e.parse(statement: name, query: sql, parameterTypes: types)
        e.describe(.statement, name: name)
        e.sync()
        try await write(e.bytes)
        active!.machine = QueryStateMachine(.prepare)
        active!.columns = nil
        // Read to ReadyForQuery without ending the request: the execution follows on it.
        var columns: RowDescription?
        while true {
            let message: BackendMessage
            do {
                guard let m = try nextBuffered() else { try await fill(); continue }
                message = m
            } catch is CancellationError {
                throw abandonAfterTaskCancel(id)
            } catch let e as PGError { throw fail(e) } catch { throw fail(Self.map(error)) }
            switch active!.machine.received(message) {
            case .rowDescription(let d): columns = d
            case .done(let status):
                transactionStatus = status
                if let error = active!.machine.error {
                    let reason = active!.cancelReason
                    end()
                    throw Self.requestError(error, cancelReason: reason)
                }
                let formats = columns.map { $0.columns.map { $0.dataType.hasBinaryCodec ? PGFormat.binary : .text } } ?? []
                let statement = PreparedStatement(name: name, columns: columns?.with(formats: formats), resultFormats: formats.isEmpty ? [.binary] : formats)
                statements[key] = statement
                return statement
            case .close(let e): throw fail(e)
            default: break
            }
        }
    }

    /// Fetches the next rows of request `id` for its row sequence.
    func nextRows(_ id: UInt64) async throws -> (rows: [DataRow], done: Bool) {
        guard active?.id == id else { return ([], true) }
        if Task.isCancelled { throw abandonAfterTaskCancel(id) }
        return try await pump(id, collectRows: true, limit: 4096)
    }

    /// A row sequence was dropped before its end: read the rest in the background.
    nonisolated func abandon(_ id: UInt64) {
        Task(executorPreference: EventLoop.shared) { await self.drain(id) }
    }

    // MARK: Simple query (scripts, migrations)

    /// Runs one or more ';'-separated statements with the simple protocol (no parameters).
    /// Values arrive as text. Stops at the first error, which is thrown.
    @discardableResult
    public func simpleQuery(_ sql: String, timeout: Duration? = nil) async throws -> [PGSimpleResult] {
        if sql.utf8.contains(0) { throw PGError.encoding("SQL text contains a NUL byte") }
        let id = try await begin(timeout: timeout)
        var e = FrontendMessageEncoder()
        e.query(sql)
        active!.machine = QueryStateMachine(.simple)
        try await write(e.bytes)
        var results = [PGSimpleResult]()
        var current = PGSimpleResult(columns: nil, rows: [], command: .init(tag: ""))
        while true {
            let message: BackendMessage
            do {
                guard let m = try nextBuffered() else { try await fill(); continue }
                message = m
            } catch is CancellationError {
                throw abandonAfterTaskCancel(id)
            } catch let e as PGError { throw fail(e) } catch { throw fail(Self.map(error)) }
            switch active!.machine.received(message) {
            case .rowDescription(let d): current.columns = d
            case .row(let r): current.rows.append(PGRow(columns: current.columns!, data: r))
            case .commandComplete(let tag):
                current.command = .init(tag: tag)
                results.append(current)
                current = PGSimpleResult(columns: nil, rows: [], command: .init(tag: ""))
            case .copyIn:
                var f = FrontendMessageEncoder()
                f.copyFail("COPY FROM STDIN must use PGConnection.copyFrom")
                try await write(f.bytes)
            case .done(let status):
                try finishRequest(at: status)
                return results
            case .close(let e): throw fail(e)
            default: break
            }
        }
    }
}
