import Reactor
import Synchronization

/// An HTTP/1.1 server on the reactor. Each connection runs on one loop's thread
/// (`Task(executorPreference:)` that loop), so awaiting socket readiness costs no thread hop. With
/// `eventLoops` > 1 the listener (on `EventLoop.shared`) hands connections round-robin to that
/// many loops, so requests are served on as many cores; handlers then run on whichever loop has
/// their connection, and anything they await that lives on another loop costs a hop there and back.
///
///     var router = Router()
///     router.get("/hello/:name") { req in .text("hello \(req.parameters["name"]!)") }
///     let server = try await HTTPServer.start(.init(port: 8080), responder: router)
///     ...
///     await server.shutdown(gracePeriod: .seconds(10))
public final class HTTPServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var tls: TLSConfiguration?
        public var limits: HTTPParserLimits
        public var timeouts: HTTPTimeouts
        /// Connections beyond this are answered 503 with `Connection: close`.
        public var maxConnections: Int
        /// An unread request body up to this size is read and discarded to keep the connection.
        public var drainLimit: Int
        public var backlog: Int32
        /// Loops connections are spread over (`EventLoop.loops(eventLoops)`, the first `shared`).
        public var eventLoops: Int

        public init(
            host: String = "127.0.0.1", port: Int = 8080, tls: TLSConfiguration? = nil,
            limits: HTTPParserLimits = HTTPParserLimits(), timeouts: HTTPTimeouts = HTTPTimeouts(),
            maxConnections: Int = 10_000, drainLimit: Int = 64 * 1024, backlog: Int32 = 1024, eventLoops: Int = 1
        ) {
            self.eventLoops = max(1, eventLoops)
            self.host = host
            self.port = port
            self.tls = tls
            self.limits = limits
            self.timeouts = timeouts
            self.maxConnections = maxConnections
            self.drainLimit = drainLimit
            self.backlog = backlog
        }
    }

    struct State: Sendable {
        var connections: [Int: HTTPServerConnection] = [:]
        var nextID = 0
        var stopping = false
        var refused = 0
    }

    public let configuration: Configuration
    let listener: Listener
    let loops: [EventLoop]
    let responder: any HTTPResponder
    let state = Mutex(State())
    let acceptTask = Mutex<Task<Void, Never>?>(nil)

    public var port: Int { listener.port }
    public var connectionCount: Int { state.withLock { $0.connections.count } }
    /// Connections refused with 503 because `maxConnections` was reached.
    public var refusedConnections: Int { state.withLock { $0.refused } }

    init(configuration: Configuration, listener: Listener, responder: any HTTPResponder) {
        self.configuration = configuration
        self.listener = listener
        self.loops = EventLoop.loops(configuration.eventLoops)
        self.responder = responder
    }

    /// Binds and starts accepting. Port 0 picks a free port (see `port`).
    public static func start(_ configuration: Configuration, responder: any HTTPResponder) async throws -> HTTPServer {
        let listener = try await Listener.bind(
            host: configuration.host, port: configuration.port, backlog: configuration.backlog, tls: configuration.tls)
        let server = HTTPServer(configuration: configuration, listener: listener, responder: responder)
        let task = Task(executorPreference: EventLoop.shared) { await server.acceptLoop() }
        server.acceptTask.withLock { $0 = task }
        return server
    }

    private func acceptLoop() async {
        var next = 0
        while true {
            let connection: Connection
            do {
                connection = try await listener.accept(on: loops[next])
                next = (next + 1) % loops.count
            } catch {
                if state.withLock({ $0.stopping }) || error as? NetworkError == .closed { return }
                try? await EventLoop.shared.sleep(for: .milliseconds(10))
                continue
            }
            let handler = HTTPServerConnection(connection: connection, configuration: configuration, responder: responder)
            let id: Int? = state.withLock { s in
                guard !s.stopping, s.connections.count < configuration.maxConnections else {
                    s.refused += 1
                    return nil
                }
                s.nextID += 1
                s.connections[s.nextID] = handler
                return s.nextID
            }
            guard let id else {
                Task(executorPreference: connection.eventLoop) { await Self.refuse(connection, with: self.responder) }
                continue
            }
            Task(executorPreference: connection.eventLoop) {
                await handler.run()
                _ = self.state.withLock { $0.connections.removeValue(forKey: id) }
            }
        }
    }

    /// Over capacity: a complete 503 and a close, rather than a reset or a hang in the backlog.
    private static func refuse(_ connection: Connection, with responder: any HTTPResponder) async {
        var out: [UInt8] = []
        var response = responder.refusal(.serviceUnavailable, message: "server at connection limit")
        response.headers["Retry-After"] = "1"
        HTTPResponseHeadEncoder.encode(
            status: response.status, headers: response.headers,
            framing: .contentLength(response.body.knownLength ?? 0), version: .http1_1, keepAlive: false,
            date: HTTPDate.currentHeaderLine(), into: &out)
        if case .bytes(let b) = response.body.storage { out.append(contentsOf: b) }
        try? await connection.write(out, timeout: .seconds(2))
        try? await connection.shutdownWrite()
        // Let the client read the answer before the socket goes away.
        var sink = ByteBuffer(capacity: 4096)
        for _ in 0..<4 {
            do { try await connection.read(into: &sink, timeout: .milliseconds(500)) } catch { break }
            sink.clear()
        }
        connection.close()
    }

    /// Graceful shutdown: stop accepting, let in-flight requests finish (their responses say
    /// `Connection: close`), close idle connections; whatever is still open after `gracePeriod` is
    /// reset. Returns when every connection is gone; never hangs.
    public func shutdown(gracePeriod: Duration = .seconds(10)) async {
        let connections = state.withLock { s in
            s.stopping = true
            return Array(s.connections.values)
        }
        listener.close()
        for c in connections { c.quiesce() }
        let deadline = ContinuousClock.now + gracePeriod
        while connectionCount > 0, ContinuousClock.now < deadline {
            try? await EventLoop.shared.sleep(for: .milliseconds(20))
        }
        for c in state.withLock({ Array($0.connections.values) }) { c.connection.abort() }
        // Reset connections end at once, and their handlers are cancelled; a handler that ignores
        // cancellation is left behind after one more second rather than hanging shutdown.
        let end = ContinuousClock.now + .seconds(1)
        while connectionCount > 0, ContinuousClock.now < end {
            try? await EventLoop.shared.sleep(for: .milliseconds(5))
        }
        await acceptTask.withLock { $0 }?.value
    }
}
