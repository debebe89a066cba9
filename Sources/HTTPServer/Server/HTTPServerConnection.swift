import Reactor
import Synchronization

/// Serves one accepted connection: the only code that touches its socket. A reader task (run())
/// reads, parses and feeds the state machine; each request is handled in a task of its own so the
/// reader can notice the client leaving (and cancel the handler) while the handler works. Requests
/// are handled one at a time: the next pipelined head waits until the previous response is written.
final class HTTPServerConnection: Sendable {
    let connection: Connection
    let configuration: HTTPServer.Configuration
    let responder: any HTTPResponder
    let machine: Mutex<HTTPConnectionStateMachine>
    let remote: String?

    /// How long the reader may block while a handler runs before it re-checks the state machine.
    /// A response's end wakes it when the deadline that begins then comes sooner
    /// (`readerMustLookAgain`, `interruptRead`), so the idle and linger deadlines are kept.
    static let servingRecheck = Duration.seconds(5)

    init(connection: Connection, configuration: HTTPServer.Configuration, responder: any HTTPResponder) {
        self.connection = connection
        self.configuration = configuration
        self.responder = responder
        self.machine = Mutex(HTTPConnectionStateMachine(timeouts: configuration.timeouts, now: .now))
        self.remote = connection.remoteAddress?.description
    }

    /// Graceful shutdown: an idle connection closes now, a busy one after its current response.
    func quiesce() {
        let action = machine.withLock { $0.quiesce(now: .now) }
        if case .close = action { connection.close() }
    }

    func run() async {
        // Starts empty: `Connection.read` receives into a stack buffer and keeps only what arrived,
        // so a connection waiting for bytes holds no receive memory.
        var buffer = ByteBuffer()
        var parser = HTTPRequestParser(limits: configuration.limits)
        var inFlight: Task<Void, Never>?
        var body: RequestBodyChannel?

        readLoop: while true {
            // 1. Everything already buffered: heads, body chunks (on demand), ends.
            while true {
                let step: HTTPRequestParser.Step
                do {
                    step = try buffer.withUnsafeReadableBytes { (p) throws(HTTPParseError) -> HTTPRequestParser.Step in
                        try parser.parse(p)
                    }
                } catch let error as HTTPParseError {
                    body?.fail(HTTPError(error.status, error.detail.isEmpty ? error.kind.rawValue : "\(error.kind.rawValue): \(error.detail)"))
                    body = nil
                    if let t = inFlight { await t.value }  // earlier responses go first
                    let action = machine.withLock { $0.parseFailed(error) }
                    if case .respondAndClose(let status, _) = action {
                        await writeFinal(responder.refusal(status, message: error.description))
                    }
                    break readLoop
                } catch {
                    break readLoop
                }
                guard let event = step.event else {
                    buffer.moveReaderIndex(forwardBy: step.consumed)
                    break
                }
                switch event {
                case .head(let head):
                    buffer.moveReaderIndex(forwardBy: step.consumed)
                    if let t = inFlight {
                        await t.value
                        inFlight = nil
                    }
                    let open = machine.withLock { m -> Bool in
                        guard !m.isClosed else { return false }
                        m.headReceived(head, now: .now)
                        return true
                    }
                    guard open else { break readLoop }
                    let hasBody: Bool
                    switch head.framing {
                    case .none, .contentLength(0): hasBody = false
                    default: hasBody = true
                    }
                    if hasBody { parser.setBodyLimit(responder.bodyLimit(for: head)) }
                    let channel = hasBody ? RequestBodyChannel() : nil
                    body = channel
                    inFlight = Task(executorPreference: connection.eventLoop) { await self.serve(head, channel) }
                case .body(let range):
                    let chunk = buffer.withUnsafeReadableBytes { Array($0[range]) }
                    buffer.moveReaderIndex(forwardBy: step.consumed)
                    if let channel = body, await waitForBodyDemand(channel) {
                        machine.withLock { $0.bodyReceived(now: .now) }
                        channel.deliver(chunk)
                    }
                case .end:
                    buffer.moveReaderIndex(forwardBy: step.consumed)
                    machine.withLock { $0.requestEnded(now: .now) }
                    body?.finish()
                    body = nil
                }
            }
            if buffer.readableBytes == 0 {
                if inFlight != nil && body == nil {
                    // A handler may run for long (an event stream for hours): its connection keeps
                    // no receive buffer meanwhile (at 10 000 streams, that was 160 MB).
                    buffer = ByteBuffer()
                } else {
                    buffer.clear()
                }
            } else if buffer.readerIndex > 64 * 1024 {
                buffer.discardReadBytes()
            }

            // 2. A body is expected: read the socket only while the handler asks for bytes.
            if let channel = body {
                _ = await waitForBodyDemand(channel)
            }

            // 3. Wait for bytes, no longer than the state machine allows.
            let (timeout, closed) = machine.withLock { m -> (Duration?, Bool) in
                let now = ContinuousClock.now
                var timeout = m.deadline.map { max($0 - now, .zero) }
                if m.isServing || m.isClosed {
                    timeout = min(timeout ?? Self.servingRecheck, Self.servingRecheck)
                }
                m.readerWaits(timeout, now: now)
                return (timeout, m.isClosed)
            }
            if closed && inFlight == nil { break }
            do {
                try await connection.read(into: &buffer, timeout: timeout)
            } catch NetworkError.timedOut {
                let action = machine.withLock { $0.deadlinePassed(now: .now) }
                switch action {
                case .respondAndClose(let status, let reason):
                    body?.fail(HTTPError(status, reason.rawValue))
                    body = nil
                    if let t = inFlight {
                        t.cancel()
                        await t.value
                        inFlight = nil
                    }
                    if !machine.withLock({ $0.isServing }) {
                        await writeFinal(responder.refusal(status, message: reason.rawValue))
                    }
                    break readLoop
                case .close(let reason):
                    body?.fail(HTTPError(.requestTimeout, reason.rawValue))
                    body = nil
                    if reason == .idleTimeout || reason == .headerTimeout {
                        // Bytes of a request may have arrived just now: a FIN and a short drain
                        // instead of a close with unread data, which the kernel turns into a reset.
                        try? await connection.shutdownWrite()
                        await drainBriefly(&buffer)
                    }
                    break readLoop
                default:
                    if machine.withLock({ $0.isClosed }), inFlight.map({ _ in false }) ?? true { break readLoop }
                    continue
                }
            } catch {
                // End of stream, reset, closed locally (shutdown, quiesce) or cancelled: the client is
                // gone or we are leaving; a running handler has nobody to answer.
                _ = machine.withLock { $0.readClosed(now: .now) }
                body?.fail(error)
                body = nil
                inFlight?.cancel()
                break
            }
            machine.withLock { m in
                if !m.isServing { m.bytesReceived(now: .now, headStarted: true) }
            }
        }
        if let t = inFlight {
            await t.value
        }
        connection.close()
    }

    /// Waits until the handler asks for body bytes; tells the state machine (body timeout, and the
    /// 100 Continue the client waits for before sending the body).
    private func waitForBodyDemand(_ channel: RequestBodyChannel) async -> Bool {
        guard await channel.waitForDemand() else { return false }
        let action = machine.withLock { $0.bodyWanted(now: .now) }
        if action == .sendContinue {
            // The handler is suspended waiting for the body, so this task may write.
            try? await connection.write(HTTPResponseHeadEncoder.continueResponse, timeout: configuration.timeouts.writeStall)
        }
        return true
    }

    // MARK: Handling a request (its own task)

    private func serve(_ head: HTTPRequestHead, _ channel: RequestBodyChannel?) async {
        let request = HTTPRequest(head: head, body: HTTPRequestBody(channel: channel, beforeFirstRead: nil), remoteAddress: remote)
        var response: HTTPResponse
        do {
            response = try await responder.respond(to: request)
            if Task.isCancelled, machine.withLock({ $0.closeReason == .bodyTimeout }) {
                // The body stalled and the reader answers 408 itself: this would be a second response.
                channel?.abandon()
                return
            }
        } catch let error as HTTPError {
            response = error.response
        } catch {
            if Task.isCancelled || error is CancellationError {
                channel?.abandon()
                return
            }
            response = HTTPResponse.error(.internalServerError)
        }
        let ok = await write(response, for: head)
        channel?.abandon()
        guard ok else {
            connection.close()
            return
        }
        let (action, wakeReader) = machine.withLock { m in (m.responseEnded(now: .now), m.readerMustLookAgain) }
        if case .close = action {
            // FIN after the response; the reader drains until the client closes (so that unread
            // request bytes cannot turn our close into a reset that destroys the response).
            try? await connection.shutdownWrite()
        }
        // The idle or linger deadline starts now; the reader waits with the serving re-check.
        // Woken only if it would sleep past the deadline (the linger; not the usual idle timeout).
        if wakeReader { connection.interruptRead() }
    }

    /// Writes a whole response; false when the connection failed (client gone, write stalled).
    private func write(_ response: HTTPResponse, for head: HTTPRequestHead) async -> Bool {
        let framing = HTTPResponseHeadEncoder.framing(
            status: response.status, body: response.body, requestMethod: head.method, requestVersion: head.version)
        var canDrain = false
        if case .contentLength(let n) = head.framing, n <= configuration.drainLimit { canDrain = true }
        let persist = machine.withLock {
            $0.responseStarted(now: .now, canDrainBody: canDrain, closeAfterResponse: framing == .untilClose)
        }
        var out: [UInt8] = []
        out.reserveCapacity(256 + (response.body.knownLength ?? 0))
        HTTPResponseHeadEncoder.encode(
            status: response.status, headers: response.headers, framing: framing, version: head.version,
            keepAlive: persist, date: HTTPDate.currentHeaderLine(), into: &out)
        do {
            switch response.body.storage {
            case .bytes(let bytes):
                if case .contentLength = framing { out.append(contentsOf: bytes) }
                try await tracked(out)
            case .stream(let length, let producer):
                try await tracked(out)
                switch framing {
                case .noBody:
                    return true
                case .chunked:
                    let transport = HTTPBodyWriter.Transport(connection: connection, chunked: true) { try await self.tracked($0) }
                    try await producer(HTTPBodyWriter(transport: transport) { bytes in
                        var chunk: [UInt8] = []
                        chunk.reserveCapacity(bytes.count + 12)
                        HTTPResponseHeadEncoder.appendChunk(bytes, to: &chunk)
                        try await self.tracked(chunk)
                    })
                    try await tracked(HTTPResponseHeadEncoder.lastChunk)
                case .contentLength, .untilClose:
                    let written = Mutex(0)
                    // A broadcast writes around the length check, so it is offered only without a length.
                    let transport = length == nil
                        ? HTTPBodyWriter.Transport(connection: connection, chunked: false) { try await self.tracked($0) } : nil
                    let sink: @Sendable ([UInt8]) async throws -> Void = { bytes in
                        let total = written.withLock { $0 += bytes.count; return $0 }
                        if let length, total > length { throw HTTPError(.internalServerError, "body longer than its length") }
                        try await self.tracked(bytes)
                    }
                    try await producer(transport.map { HTTPBodyWriter(transport: $0, sink) } ?? HTTPBodyWriter(sink))
                    if let length, written.withLock({ $0 }) != length { return false }
                }
            }
            return true
        } catch {
            return false
        }
    }

    private func tracked(_ bytes: [UInt8]) async throws {
        machine.withLock { $0.writeStarted(now: .now) }
        defer { machine.withLock { $0.writeFinished(now: .now) } }
        try await connection.write(bytes, timeout: configuration.timeouts.writeStall)
    }

    /// An error answer written by the reader (no handler running), followed by a close.
    private func writeFinal(_ response: HTTPResponse) async {
        var out: [UInt8] = []
        let framing = HTTPResponseHeadEncoder.framing(status: response.status, body: response.body, requestMethod: nil, requestVersion: .http1_1)
        HTTPResponseHeadEncoder.encode(
            status: response.status, headers: response.headers, framing: framing, version: .http1_1,
            keepAlive: false, date: HTTPDate.currentHeaderLine(), into: &out)
        if case .bytes(let b) = response.body.storage { out.append(contentsOf: b) }
        try? await connection.write(out, timeout: configuration.timeouts.writeStall)
        try? await connection.shutdownWrite()
    }

    /// Reads and discards for a moment (until the client's FIN, 64 KiB or 200 ms), so that closing
    /// does not reset a connection whose client is still sending.
    private func drainBriefly(_ buffer: inout ByteBuffer) async {
        let end = ContinuousClock.now + .milliseconds(200)
        var drained = 0
        while drained < 64 * 1024 {
            let left = end - ContinuousClock.now
            guard left > .zero else { return }
            buffer.clear()
            do { try await connection.read(into: &buffer, timeout: left) } catch { return }
            drained += buffer.readableBytes
        }
    }
}
