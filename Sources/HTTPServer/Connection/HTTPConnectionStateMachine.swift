/// The life of one HTTP/1.1 server connection as a value type with no I/O and no clock of its own:
/// every event carries `now`, and `deadline` says when to call `deadlinePassed(now:)` if nothing else
/// happens. Requests are served one at a time, so pipelined responses go out in request order
/// (the bytes of the next request wait in the read buffer — swift-nio's HTTPServerPipelineHandler
/// orders them the same way).
///
///     idle ──bytes──▶ readingHead ──head──▶ serving ──responseEnded──▶ idle   (keep-alive)
///       │                  │                   │              └────────────▶ closed (close)
///       └── timeouts, EOF, parse errors, quiesce ─────────────────────────▶ closed
public struct HTTPConnectionStateMachine: Sendable {
    public typealias Instant = ContinuousClock.Instant

    public enum CloseReason: String, Sendable, Equatable {
        case clientClosed = "client closed the connection"
        case notKeepAlive = "request or response asked to close"
        case headerTimeout = "request head not received in time"
        case idleTimeout = "keep-alive connection idle"
        case bodyTimeout = "request body stalled"
        case writeStalled = "client stopped reading the response"
        case quiesced = "server shutting down"
        case badRequest = "malformed request"
    }

    public enum Action: Sendable, Equatable {
        case none
        /// Write `HTTP/1.1 100 Continue` before reading the body.
        case sendContinue
        /// Answer with this status (and `Connection: close`), then close.
        case respondAndClose(HTTPStatus, CloseReason)
        /// Close now; if a handler is running, cancel it.
        case close(CloseReason)
        /// The response is complete and the connection persists: parse the next request.
        case readNextRequest
    }

    struct Exchange: Sendable, Equatable {
        var keepAlive: Bool
        var expectsContinue: Bool
        var continueSent = false
        var bodyComplete: Bool
        /// Since when the handler has been waiting for body bytes (nil: not waiting now — it has
        /// not asked yet, or is busy with the bytes it was given).
        var bodyWaitingSince: Instant?
        var responseStarted = false
        var persist = false
        var writeSince: Instant?
    }

    enum State: Sendable, Equatable {
        /// Waiting for the first byte of a request; `first` until the first request arrives.
        case idle(since: Instant, first: Bool)
        case readingHead(since: Instant)
        case serving(Exchange)
        case closed(CloseReason)
    }

    public let timeouts: HTTPTimeouts
    private(set) var state: State
    public private(set) var isQuiescing = false
    public private(set) var requestsServed = 0
    /// After a last response (its FIN sent), until when the connection reads on for the client's
    /// close (`timeouts.linger`); nil when the connection closed any other way.
    private(set) var lingerUntil: Instant?

    /// When the wait the reader is in (or about to begin) ends on its own; nil: it has no limit.
    public private(set) var readerWaitEnds: Instant?

    public init(timeouts: HTTPTimeouts = HTTPTimeouts(), now: Instant) {
        self.timeouts = timeouts
        self.state = .idle(since: now, first: true)
    }

    public var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    /// Why the connection closed; nil while it is open.
    public var closeReason: CloseReason? {
        if case .closed(let reason) = state { return reason }
        return nil
    }

    public var isServing: Bool {
        if case .serving = state { return true }
        return false
    }

    /// The reader is about to wait for bytes for `timeout` (nil: without limit).
    public mutating func readerWaits(_ timeout: Duration?, now: Instant) {
        readerWaitEnds = timeout.map { now + $0 }
    }

    /// Whether the reader must be woken to keep the deadline: it comes before the reader's wait
    /// ends on its own (a response ended, and the linger, or a short idle timeout, begins while
    /// the reader waits with the serving re-check). Usually not: the idle timeout is longer.
    public var readerMustLookAgain: Bool {
        guard let deadline else { return false }
        guard let end = readerWaitEnds else { return true }
        return deadline < end
    }

    /// When the current wait expires, or nil when nothing is being waited for with a limit.
    public var deadline: Instant? {
        switch state {
        case .idle(let since, let first):
            // Before the first request the header timeout applies from accept (an open connection
            // that sends nothing is the cheapest slowloris).
            return since + (first ? timeouts.header : timeouts.idle)
        case .readingHead(let since):
            return since + timeouts.header
        case .serving(let exchange):
            let body = exchange.bodyWaitingSince.map { $0 + timeouts.bodyProgress }
            let write = exchange.writeSince.map { $0 + timeouts.writeStall }
            switch (body, write) {
            case (let b?, let w?): return min(b, w)
            case (let b?, nil): return b
            case (nil, let w?): return w
            case (nil, nil): return nil
            }
        case .closed:
            return lingerUntil
        }
    }

    /// Bytes arrived while no request was being served; `headStarted` is whether they began a head
    /// (the parser is no longer idle) rather than being the tail of a drained body.
    public mutating func bytesReceived(now: Instant, headStarted: Bool) {
        guard case .idle(let since, let first) = state, headStarted else { return }
        // The first request's head timeout still counts from accept.
        state = .readingHead(since: first ? since : now)
    }

    public mutating func headReceived(_ head: HTTPRequestHead, now: Instant) {
        switch state {
        case .idle, .readingHead:
            let hasBody: Bool
            switch head.framing {
            case .none, .contentLength(0): hasBody = false
            default: hasBody = true
            }
            state = .serving(
                Exchange(
                    keepAlive: head.keepAlive && !isQuiescing, expectsContinue: head.expectsContinue && hasBody,
                    bodyComplete: !hasBody))
        case .serving, .closed:
            preconditionFailure("head received in state \(state)")
        }
    }

    /// The handler waits for body bytes. Reporting the same wait again (the connection re-checks
    /// a waiting handler every few seconds) keeps its start: a client that sends nothing must
    /// run into the body timeout, however often the wait is re-reported.
    public mutating func bodyWanted(now: Instant) -> Action {
        guard case .serving(var exchange) = state, !exchange.bodyComplete else { return .none }
        if exchange.bodyWaitingSince == nil { exchange.bodyWaitingSince = now }
        var action = Action.none
        if exchange.expectsContinue && !exchange.continueSent && !exchange.responseStarted {
            exchange.continueSent = true
            action = .sendContinue
        }
        state = .serving(exchange)
        return action
    }

    /// Body bytes arrived and were handed to the handler: it stops waiting (the time it spends
    /// with them — writing them to storage, say — is not a stall of the client) until it asks for
    /// more (`bodyWanted`), which starts the body timeout again.
    public mutating func bodyReceived(now: Instant) {
        guard case .serving(var exchange) = state else { return }
        exchange.bodyWaitingSince = nil
        state = .serving(exchange)
    }

    /// The handler stopped waiting for body bytes (it has what it asked for).
    public mutating func bodyNotWanted() {
        guard case .serving(var exchange) = state else { return }
        exchange.bodyWaitingSince = nil
        state = .serving(exchange)
    }

    public mutating func requestEnded(now: Instant) {
        guard case .serving(var exchange) = state else { return }
        exchange.bodyComplete = true
        exchange.bodyWaitingSince = nil
        state = .serving(exchange)
    }

    /// The response head is about to be written. Returns whether the connection persists after this
    /// response, i.e. whether to announce `Connection: close`. `canDrainBody`: the unread rest of the
    /// request body is small enough to read and discard (otherwise we close rather than read it).
    /// `closeAfterResponse`: the response itself needs the close (an HTTP/1.0 body of unknown length).
    public mutating func responseStarted(now: Instant, canDrainBody: Bool, closeAfterResponse: Bool = false) -> Bool {
        guard case .serving(var exchange) = state else { return false }
        exchange.responseStarted = true
        if closeAfterResponse { exchange.keepAlive = false }
        // A client that sent Expect: 100-continue and got no 100 may or may not send its body:
        // we cannot tell where the next request starts, so we close (as swift-nio does).
        let bodyFramingKnown = exchange.bodyComplete || (canDrainBody && !(exchange.expectsContinue && !exchange.continueSent))
        exchange.persist = exchange.keepAlive && !isQuiescing && bodyFramingKnown
        state = .serving(exchange)
        return exchange.persist
    }

    public mutating func writeStarted(now: Instant) {
        guard case .serving(var exchange) = state else { return }
        exchange.writeSince = now
        state = .serving(exchange)
    }

    public mutating func writeFinished(now: Instant) {
        guard case .serving(var exchange) = state else { return }
        exchange.writeSince = nil
        state = .serving(exchange)
    }

    /// The whole response has been written (and any unread body drained).
    public mutating func responseEnded(now: Instant) -> Action {
        guard case .serving(let exchange) = state else { return .none }
        requestsServed += 1
        if exchange.persist && !isQuiescing {
            state = .idle(since: now, first: false)
            return .readNextRequest
        }
        state = .closed(isQuiescing ? .quiesced : .notKeepAlive)
        lingerUntil = now + timeouts.linger
        return .close(isQuiescing ? .quiesced : .notKeepAlive)
    }

    /// Graceful shutdown: idle connections close now; one serving a request finishes it, answers with
    /// `Connection: close`, and closes.
    public mutating func quiesce(now: Instant) -> Action {
        isQuiescing = true
        switch state {
        case .idle, .readingHead:
            // A partial head was never acted on, so the client can safely retry it elsewhere.
            state = .closed(.quiesced)
            return .close(.quiesced)
        case .serving, .closed:
            return .none
        }
    }

    /// The client closed (EOF or reset). A running handler must be cancelled.
    public mutating func readClosed(now: Instant) -> Action {
        if case .closed = state { return .none }
        state = .closed(.clientClosed)
        return .close(.clientClosed)
    }

    public mutating func parseFailed(_ error: HTTPParseError) -> Action {
        switch state {
        case .serving(let exchange) where exchange.responseStarted:
            state = .closed(.badRequest)
            return .close(.badRequest)
        case .closed:
            return .none
        default:
            state = .closed(.badRequest)
            return .respondAndClose(error.status, .badRequest)
        }
    }

    /// Call when `deadline` has passed (a read or write timed out, or a timer fired).
    public mutating func deadlinePassed(now: Instant) -> Action {
        guard let deadline, now >= deadline else { return .none }
        switch state {
        case .idle(_, let first):
            state = .closed(first ? .headerTimeout : .idleTimeout)
            return .close(first ? .headerTimeout : .idleTimeout)
        case .readingHead:
            state = .closed(.headerTimeout)
            return .respondAndClose(.requestTimeout, .headerTimeout)
        case .serving(let exchange):
            if let since = exchange.writeSince, now >= since + timeouts.writeStall {
                state = .closed(.writeStalled)
                return .close(.writeStalled)
            }
            state = .closed(.bodyTimeout)
            return exchange.responseStarted ? .close(.bodyTimeout) : .respondAndClose(.requestTimeout, .bodyTimeout)
        case .closed(let reason):
            // The client did not close within the linger time after the last response.
            lingerUntil = nil
            return .close(reason)
        }
    }
}
