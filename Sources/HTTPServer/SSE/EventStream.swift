import Reactor

/// Sends events of a `text/event-stream` response; each `send` returns once the event was written
/// to the socket (flushed), and throws once the client is gone.
public struct EventStreamWriter: Sendable {
    enum Item: Sendable {
        case bytes([UInt8], CheckedContinuation<Void, any Error>)
        case heartbeat
    }
    let continuation: AsyncStream<Item>.Continuation

    public func send(_ event: ServerSentEvent) async throws {
        try await write(event.encoded)
    }

    /// A comment line (ignored by clients).
    public func comment(_ text: String) async throws {
        try await write(ServerSentEvent.comment(text))
    }

    func write(_ bytes: [UInt8]) async throws {
        try Task.checkCancellation()
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            if case .terminated = continuation.yield(.bytes(bytes, c)) {
                c.resume(throwing: CancellationError())
            }
        }
    }
}

extension HTTPResponse {
    /// A Server-Sent Events response. `produce` sends events until it returns; it is cancelled when
    /// the client goes away (so `defer` blocks and task-cancellation handlers are the place to
    /// unsubscribe). After `heartbeat` without an event, a comment line goes out, which both keeps
    /// intermediaries from timing the stream out and detects a vanished client.
    /// `lastEventID` is the client's `Last-Event-ID` (sent by EventSource when it reconnects).
    public static func eventStream(
        for request: HTTPRequest, heartbeat: Duration = .seconds(15),
        _ produce: @escaping @Sendable (_ lastEventID: String?, EventStreamWriter) async throws -> Void
    ) -> HTTPResponse {
        let lastEventID = request.headers["Last-Event-ID"]
        let headers: HTTPFields = [
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        ]
        return HTTPResponse(status: .ok, headers: headers, body: .stream { body in
            // One writer: events and heartbeats meet in this stream and the loop below writes them.
            let (stream, continuation) = AsyncStream<EventStreamWriter.Item>.makeStream()
            let writer = EventStreamWriter(continuation: continuation)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    defer { continuation.finish() }
                    try await produce(lastEventID, writer)
                }
                group.addTask {
                    while true {
                        try await EventLoop.shared.sleep(for: heartbeat)
                        continuation.yield(.heartbeat)
                    }
                }
                var lastWrite = ContinuousClock.now
                var failure: (any Error)?
                for await item in stream {
                    if let failure {
                        // Client gone: fail every send still queued, so no producer waits forever.
                        if case .bytes(_, let c) = item { c.resume(throwing: failure) }
                        continue
                    }
                    switch item {
                    case .heartbeat:
                        guard ContinuousClock.now - lastWrite >= heartbeat else { continue }
                        do { try await body.write(ServerSentEvent.comment()) } catch {
                            failure = error
                            continuation.finish()
                            group.cancelAll()
                        }
                    case .bytes(let bytes, let c):
                        do {
                            try await body.write(bytes)
                            c.resume()
                        } catch {
                            c.resume(throwing: error)
                            failure = error
                            continuation.finish()
                            group.cancelAll()
                        }
                    }
                    lastWrite = ContinuousClock.now
                }
                group.cancelAll()
                if let failure { throw failure }
                // The producer finished (or threw): its error, if any, ends the response.
                while let result = await group.nextResult() {
                    if case .failure(let error) = result, !(error is CancellationError) { throw error }
                }
            }
        })
    }
}
