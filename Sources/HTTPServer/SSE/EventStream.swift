import Reactor
import Synchronization

/// Sends events of a `text/event-stream` response; each `send` returns once the event was written
/// to the socket (flushed), and throws once the client is gone.
public struct EventStreamWriter: Sendable {
    let body: HTTPBodyWriter
    let state: EventStreamState

    public func send(_ event: ServerSentEvent) async throws {
        try await send(encoded: event.encoded)
    }

    /// Sends an event already encoded with `ServerSentEvent.encoded`: a fan-out to many clients
    /// encodes each event once.
    public func send(encoded bytes: [UInt8]) async throws {
        try Task.checkCancellation()
        try await state.withWriteLock { try await body.write(bytes) }
    }

    /// A comment line (ignored by clients).
    public func comment(_ text: String) async throws {
        try await send(encoded: ServerSentEvent.comment(text))
    }
}

/// Serializes the producer's events and the heartbeats on one connection (a connection has one
/// writer at a time) without a task hop per event: the producer writes directly, and a heartbeat
/// that finds a write in progress skips its turn — the stream is evidently not idle.
final class EventStreamState: Sendable {
    struct State {
        var writing = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var lastWrite = ContinuousClock.now
        /// Set when the producer returned: no heartbeat may follow its last event.
        var finished = false
    }
    private let state = Mutex(State())

    func withWriteLock<R: Sendable>(_ body: () async throws -> R) async throws -> R {
        let mustWait = state.withLock { s -> Bool in
            if s.writing { return true }
            s.writing = true
            return false
        }
        if mustWait {
            // Woken with the lock handed over.
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let acquired = state.withLock { s -> Bool in
                    if !s.writing {
                        s.writing = true
                        return true
                    }
                    s.waiters.append(c)
                    return false
                }
                if acquired { c.resume() }
            }
        }
        defer {
            let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
                s.lastWrite = .now
                if s.waiters.isEmpty {
                    s.writing = false
                    return nil
                }
                return s.waiters.removeFirst()  // stays locked: handed to the next writer
            }
            next?.resume()
        }
        return try await body()
    }

    /// For the heartbeat: takes the lock only if it is free and nothing was written for `idle`.
    func tryLockIfIdle(for idle: Duration) -> Bool {
        state.withLock { s in
            guard !s.finished, !s.writing, ContinuousClock.now - s.lastWrite >= idle else { return false }
            s.writing = true
            return true
        }
    }

    /// Called when the producer returns (or throws), before the heartbeat task is cancelled, so a
    /// heartbeat scheduled in between can never land after the stream's last event.
    func finish() {
        state.withLock { $0.finished = true }
    }

    func unlockAfterHeartbeat() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.lastWrite = .now
            if s.waiters.isEmpty {
                s.writing = false
                return nil
            }
            return s.waiters.removeFirst()
        }
        next?.resume()
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
        return HTTPResponse(status: .ok, headers: eventStreamHeaders, body: .stream { body in
            let state = EventStreamState()
            let writer = EventStreamWriter(body: body, state: state)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    while true {
                        try await EventLoop.shared.sleep(for: heartbeat)
                        guard state.tryLockIfIdle(for: heartbeat) else { continue }
                        defer { state.unlockAfterHeartbeat() }
                        // A failed heartbeat means the client is gone: ending the group cancels
                        // the producer.
                        try await body.write(ServerSentEvent.comment())
                    }
                }
                group.addTask {
                    defer { state.finish() }
                    try await produce(lastEventID, writer)
                }
                // Whichever ends first ends the stream: the producer finishing, or a heartbeat
                // failing because the client is gone (which cancels the producer).
                defer { group.cancelAll() }
                try await group.next()
            }
        })
    }
}
