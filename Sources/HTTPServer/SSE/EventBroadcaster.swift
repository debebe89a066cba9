import Reactor
import Synchronization

/// Fans Server-Sent Events out to many clients without a task wake-up per client per event.
///
/// `publish` (from any thread) appends the event to a log kept once for all subscribers (framed
/// once as HTTP chunks, and raw for HTTP/1.0 streams). A rotation on the loop thread visits the
/// subscribers in turn, a few hundred per turn of the loop, and gives each one everything
/// published since its last visit with one non-blocking `send`. No event waits more than one round
/// for a subscriber, and under load a round carries several events per `send` instead of falling
/// behind. A subscriber whose socket buffer is full gets the rest queued, and its own task (the
/// stream's producer, asleep otherwise) writes it, waiting for the socket as any write does;
/// meanwhile its new events are queued behind. A subscriber whose queue grows past
/// `maxQueuedBytes` is dropped: its connection is reset (EventSource reconnects with
/// `Last-Event-ID`), `onDrop` is told, and nobody else waits for it.
///
/// One timer serves every subscriber's heartbeat: a comment goes to each one that was sent nothing
/// for `heartbeat` (so comments go out between 1 and 1.5 × `heartbeat` apart on an idle stream).
///
///     let progress = EventBroadcaster()
///     router.get("/progress") { request in .eventStream(for: request, from: progress) }
///     progress.publish(ServerSentEvent(event: "progress", data: "{\"n\":1}", id: "1"))
public final class EventBroadcaster: Sendable {
    public struct Configuration: Sendable {
        /// A comment goes to a subscriber that was sent nothing for this long.
        public var heartbeat: Duration
        /// Bytes a subscriber may have queued behind a full socket buffer before it is dropped.
        public var maxQueuedBytes: Int

        public init(heartbeat: Duration = .seconds(15), maxQueuedBytes: Int = 256 * 1024) {
            self.heartbeat = heartbeat
            self.maxQueuedBytes = maxQueuedBytes
        }
    }

    /// Thrown by a stream's producer when its subscriber was dropped for falling behind.
    public struct SubscriberDropped: Error, CustomStringConvertible {
        public let remoteAddress: String?
        /// What was queued for it when it was dropped.
        public let queuedBytes: Int
        public let maxQueuedBytes: Int

        public var description: String {
            "SSE subscriber \(remoteAddress ?? "(unknown address)") dropped: \(queuedBytes) bytes queued behind its full "
                + "socket buffer (limit \(maxQueuedBytes)); it reads more slowly than events are published"
        }
    }

    public let configuration: Configuration
    private let onDrop: (@Sendable (SubscriberDropped) -> Void)?
    private let queue = Mutex(Queue())
    private let subscribers = Mutex(Subscribers())

    /// `onDrop` is called (on the loop thread) for every subscriber dropped for falling behind — the
    /// place to log it.
    public init(_ configuration: Configuration = Configuration(), onDrop: (@Sendable (SubscriberDropped) -> Void)? = nil) {
        self.configuration = configuration
        self.onDrop = onDrop
    }

    /// Queues an event for every current subscriber; returns at once (callable from any thread).
    public func publish(_ event: ServerSentEvent) {
        publish(encoded: event.encoded)
    }

    /// Queues bytes already in `text/event-stream` form (one or more whole events or comments).
    public func publish(encoded bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        let start = queue.withLock { q -> Bool in
            q.bytes.append(contentsOf: bytes)
            return q.startRotation()
        }
        if start { scheduleSlice() }
    }

    /// Ends every current subscriber's stream after the events published before this call.
    public func finish() {
        let start = queue.withLock { q -> Bool in
            q.finish = true
            return q.startRotation()
        }
        if start { scheduleSlice() }
    }

    public var subscriberCount: Int { subscribers.withLock { $0.slots.count } }
    /// Subscribers dropped so far for falling behind.
    public var droppedCount: Int { subscribers.withLock { $0.dropped } }

    /// Subscribers served per turn of the loop: between turns the loop accepts, reads and runs
    /// timers, so a rotation over 10 000 sockets never stalls it for long.
    static let sliceSize = 256

    // MARK: State

    /// What publishers hand over (from any thread) to the rotation on the loop thread.
    struct Queue {
        var bytes: [UInt8] = []
        var finish = false
        var rotating = false

        /// True when the caller must schedule the rotation.
        mutating func startRotation() -> Bool {
            if rotating { return false }
            rotating = true
            return true
        }
    }

    enum Ending {
        case finished, cancelled
        case dropped(SubscriberDropped)
        case failed(any Error)
    }

    struct Slot {
        let id: Int
        /// The socket for direct writes: nil for TLS (records go through the connection's writer)
        /// or a body writer that does not come from the server.
        let connection: Connection?
        let chunked: Bool
        let remoteAddress: String?
        /// How far into its log (chunked or raw) this subscriber was served, as an absolute offset.
        var cursor: Int
        var queued: [UInt8] = []
        /// The subscriber's task owns the socket's writing (it writes `queued`, or replays events
        /// before joining): the rotation may only queue.
        var taskWrites = true
        var ending: Ending?
        var waiter: UnsafeContinuation<Void, Never>?
        var lastSent: ContinuousClock.Instant

        mutating func takeWaiter() -> UnsafeContinuation<Void, Never>? {
            defer { waiter = nil }
            return waiter
        }
    }

    /// Bytes published and not yet served to every subscriber: `bytes[0]` is absolute offset `base`.
    struct Log {
        var bytes: [UInt8] = []
        var base = 0
        var end: Int { base + bytes.count }

        mutating func trim(upTo offset: Int) {
            let n = min(offset, end) - base
            guard n > 0 else { return }
            bytes.removeFirst(n)
            base += n
        }
    }

    struct Subscribers {
        var slots: [Slot] = []
        var index: [Int: Int] = [:]
        var nextID = 0
        var dropped = 0
        var heartbeatScheduled = false
        /// Every event as one HTTP chunk per publishing batch (any range of whole batches is valid
        /// chunked coding), and the same bytes unframed for HTTP/1.0 streams.
        var chunkedLog = Log()
        var rawLog = Log()
        /// The next slot the rotation visits, and how many visits in a row found nothing to send.
        var position = 0
        var idleVisits = 0
        /// A `finish()` being carried out: subscribers up to `lastID` end once served up to the ends.
        var finishing: (lastID: Int, chunkedEnd: Int, rawEnd: Int)?

        mutating func remove(_ id: Int) {
            guard let i = index.removeValue(forKey: id) else { return }
            let last = slots.count - 1
            if i != last {
                slots.swapAt(i, last)
                index[slots[i].id] = i
            }
            slots.removeLast()
            // The moved slot may sit where this round already went: make the rotation go round again.
            idleVisits = 0
            if slots.isEmpty {
                chunkedLog.trim(upTo: chunkedLog.end)
                rawLog.trim(upTo: rawLog.end)
            }
        }

        /// Drops what every subscriber has been served.
        mutating func trimLogs() {
            var chunked = chunkedLog.end, raw = rawLog.end
            for slot in slots {
                if slot.chunked { chunked = min(chunked, slot.cursor) } else { raw = min(raw, slot.cursor) }
            }
            chunkedLog.trim(upTo: chunked)
            rawLog.trim(upTo: raw)
        }
    }

    /// Side effects of a turn, carried out after the lock is released.
    struct Effects {
        var woken: [UnsafeContinuation<Void, Never>] = []
        var reset: [Connection] = []
        var dropped: [SubscriberDropped] = []

        func perform(_ onDrop: (@Sendable (SubscriberDropped) -> Void)?) {
            for c in reset { c.abort() }
            for w in woken { w.resume() }
            if let onDrop { for d in dropped { onDrop(d) } }
        }
    }

    // MARK: The rotation (loop thread)

    // Every subscriber is visited in turn and sent everything published since its last visit, in
    // one `send`. An event published mid-round reaches the rest of this round's subscribers at
    // once and the others on their next visit, so no event waits longer than one round, and a
    // round that takes longer (more subscribers, a slower machine) carries more events per `send`.

    private func scheduleSlice() {
        EventLoop.shared.schedule(after: .zero) { self.slice() }
    }

    private func slice() {
        let (bytes, finish) = queue.withLock { q -> ([UInt8], Bool) in
            defer { q.bytes = []; q.finish = false }
            return (q.bytes, q.finish)
        }
        let limit = configuration.maxQueuedBytes
        let now = ContinuousClock.now
        var effects = Effects()
        let caughtUp = subscribers.withLock { s -> Bool in
            if !bytes.isEmpty {
                HTTPResponseHeadEncoder.appendChunk(bytes, to: &s.chunkedLog.bytes)
                s.rawLog.bytes.append(contentsOf: bytes)
                s.idleVisits = 0
            }
            if finish { s.finishing = (s.nextID, s.chunkedLog.end, s.rawLog.end) }
            if s.slots.isEmpty {
                s.trimLogs()
                s.finishing = nil
                return true
            }
            for _ in 0..<Self.sliceSize {
                if s.position >= s.slots.count {
                    s.position = 0
                    s.trimLogs()
                }
                if visit(&s, s.position, limit: limit, now: now, &effects) {
                    s.idleVisits = 0
                } else {
                    s.idleVisits += 1
                }
                s.position += 1
                if s.idleVisits >= s.slots.count { break }
            }
            if let f = s.finishing, !s.slots.contains(where: { $0.id <= f.lastID && $0.ending == nil }) {
                s.finishing = nil
            }
            return s.idleVisits >= s.slots.count && s.finishing == nil
        }
        effects.perform(onDrop)
        // Stop only when everyone is served and nothing new came in meanwhile.
        let goOn = !caughtUp || queue.withLock { q -> Bool in
            if q.bytes.isEmpty && !q.finish {
                q.rotating = false
                return false
            }
            return true
        }
        if goOn { scheduleSlice() }
    }

    /// Serves one subscriber everything since its last visit; true when it had something to get.
    private func visit(_ s: inout Subscribers, _ i: Int, limit: Int, now: ContinuousClock.Instant, _ effects: inout Effects) -> Bool {
        let chunked = s.slots[i].chunked
        let end = chunked ? s.chunkedLog.end : s.rawLog.end
        var served = false
        if s.slots[i].cursor < end {
            served = true
            if s.slots[i].ending == nil {
                let log = chunked ? s.chunkedLog : s.rawLog
                let from = s.slots[i].cursor - log.base
                let drops = log.bytes.withUnsafeBytes { raw in
                    Self.offer(UnsafeRawBufferPointer(rebasing: raw[from...]), to: &s.slots[i], limit: limit, now: now, &effects)
                }
                if drops { s.dropped += 1 }
            }
            s.slots[i].cursor = end
        }
        if let f = s.finishing, s.slots[i].id <= f.lastID, s.slots[i].ending == nil,
            s.slots[i].cursor >= (chunked ? f.chunkedEnd : f.rawEnd)
        {
            s.slots[i].ending = .finished
            if let w = s.slots[i].takeWaiter() { effects.woken.append(w) }
        }
        return served
    }

    /// Writes to the socket what it takes now and queues the rest; true when this drops the subscriber.
    private static func offer(
        _ bytes: UnsafeRawBufferPointer, to slot: inout Slot, limit: Int, now: ContinuousClock.Instant, _ effects: inout Effects
    ) -> Bool {
        guard slot.ending == nil else { return false }
        slot.lastSent = now
        var sent = 0
        if !slot.taskWrites, let connection = slot.connection {
            do {
                sent = try connection.writeNow(bytes) ?? 0
            } catch {
                slot.ending = .failed(error)
                if let w = slot.takeWaiter() { effects.woken.append(w) }
                return false
            }
            if sent == bytes.count { return false }
        }
        slot.queued.append(contentsOf: bytes[sent...])
        if slot.queued.count > limit {
            let dropped = SubscriberDropped(remoteAddress: slot.remoteAddress, queuedBytes: slot.queued.count, maxQueuedBytes: limit)
            slot.ending = .dropped(dropped)
            slot.queued = []
            effects.dropped.append(dropped)
            if let c = slot.connection { effects.reset.append(c) }
            if let w = slot.takeWaiter() { effects.woken.append(w) }
            return true
        }
        slot.taskWrites = true
        if let w = slot.takeWaiter() { effects.woken.append(w) }
        return false
    }

    /// One timer for every subscriber: a comment to each that is served up to date and was sent
    /// nothing for `heartbeat`.
    private func heartbeatTick() {
        let interval = configuration.heartbeat
        let comment = ServerSentEvent.comment()
        var chunkedComment: [UInt8] = []
        HTTPResponseHeadEncoder.appendChunk(comment, to: &chunkedComment)
        let limit = configuration.maxQueuedBytes
        let now = ContinuousClock.now
        var effects = Effects()
        let keepGoing = comment.withUnsafeBytes { raw in
            chunkedComment.withUnsafeBytes { chunked in
                subscribers.withLock { s -> Bool in
                    for i in s.slots.indices {
                        let slot = s.slots[i]
                        guard slot.ending == nil, !slot.taskWrites, slot.queued.isEmpty, now - slot.lastSent >= interval,
                            slot.cursor == (slot.chunked ? s.chunkedLog.end : s.rawLog.end)
                        else { continue }
                        if Self.offer(slot.chunked ? chunked : raw, to: &s.slots[i], limit: limit, now: now, &effects) {
                            s.dropped += 1
                        }
                    }
                    s.heartbeatScheduled = !s.slots.isEmpty
                    return s.heartbeatScheduled
                }
            }
        }
        effects.perform(onDrop)
        if keepGoing { EventLoop.shared.schedule(after: interval / 2) { self.heartbeatTick() } }
    }

    // MARK: A subscriber's task

    /// Runs one subscriber's stream: optional replay, then whatever the passes could not write
    /// directly. Returns when `finish()` was called; throws when the client is gone (cancellation,
    /// write failure) or was dropped.
    func serve(
        _ body: HTTPBodyWriter, remoteAddress: String?, lastEventID: String?,
        replay: (@Sendable (_ lastEventID: String?, EventStreamWriter) async throws -> Void)?
    ) async throws {
        let direct = body.transport
        let (id, startHeartbeat) = subscribers.withLock { s -> (Int, Bool) in
            s.nextID += 1
            let chunked = direct?.chunked ?? false
            let slot = Slot(
                id: s.nextID, connection: direct.flatMap { $0.connection.isTLS ? nil : $0.connection }, chunked: chunked,
                remoteAddress: remoteAddress, cursor: chunked ? s.chunkedLog.end : s.rawLog.end, lastSent: .now)
            s.index[slot.id] = s.slots.count
            s.slots.append(slot)
            defer { s.heartbeatScheduled = true }
            return (slot.id, !s.heartbeatScheduled)
        }
        if startHeartbeat {
            EventLoop.shared.schedule(after: configuration.heartbeat / 2) { self.heartbeatTick() }
        }
        defer { subscribers.withLock { $0.remove(id) } }

        // Events published during the replay are queued (the slot starts with `taskWrites`), so
        // they follow it without a gap.
        if let replay {
            try await replay(lastEventID, EventStreamWriter(body: body, state: EventStreamState()))
        }
        // Bytes already framed for the socket go through the connection's writer as they are; a
        // body writer from elsewhere frames them itself.
        let write = direct?.writeFramed ?? { try await body.write($0) }
        while true {
            let step = try await nextStep(id)
            do {
                guard let bytes = step else { return }
                try await write(bytes)
            } catch {
                // A drop resets the connection under a stalled write: report the drop, not the reset.
                if let dropped = subscribers.withLock({ s in s.index[id].flatMap { i -> SubscriberDropped? in
                    if case .dropped(let d) = s.slots[i].ending { return d }
                    return nil
                } }) {
                    throw dropped
                }
                throw error
            }
        }
    }

    /// The queued bytes to write, nil at the end, or an error; suspends while there is nothing to do.
    private func nextStep(_ id: Int) async throws -> [UInt8]? {
        while true {
            enum Step { case write([UInt8]), end, fail(any Error), wait }
            let step = subscribers.withLock { s -> Step in
                guard let i = s.index[id] else { return .end }
                switch s.slots[i].ending {
                case .dropped(let d): return .fail(d)
                case .failed(let e): return .fail(e)
                case .cancelled: return .fail(CancellationError())
                case .finished, nil: break
                }
                if !s.slots[i].queued.isEmpty {
                    defer { s.slots[i].queued = [] }
                    return .write(s.slots[i].queued)
                }
                if case .finished = s.slots[i].ending { return .end }
                return .wait
            }
            switch step {
            case .write(let bytes): return bytes
            case .end: return nil
            case .fail(let error): throw error
            case .wait: break
            }
            await withTaskCancellationHandler {
                await withUnsafeContinuation { (c: UnsafeContinuation<Void, Never>) in
                    let suspended = subscribers.withLock { s -> Bool in
                        guard let i = s.index[id], s.slots[i].ending == nil, s.slots[i].queued.isEmpty else { return false }
                        if Task.isCancelled {
                            s.slots[i].ending = .cancelled
                            return false
                        }
                        // Nothing queued: passes write to the socket directly again.
                        s.slots[i].taskWrites = false
                        s.slots[i].waiter = c
                        return true
                    }
                    if !suspended { c.resume() }
                }
            } onCancel: {
                let w = subscribers.withLock { s -> UnsafeContinuation<Void, Never>? in
                    guard let i = s.index[id] else { return nil }
                    if s.slots[i].ending == nil { s.slots[i].ending = .cancelled }
                    return s.slots[i].takeWaiter()
                }
                w?.resume()
            }
        }
    }
}

extension HTTPResponse {
    /// A Server-Sent Events response fed by `broadcaster`: every event published from now on, with
    /// the broadcaster's heartbeats. `replay` may first send what the client missed (it gets the
    /// client's `Last-Event-ID`); events published while it runs are queued and follow it.
    /// The stream ends with `broadcaster.finish()`, when the client goes away, or when the client
    /// falls too far behind (then the connection is reset).
    public static func eventStream(
        for request: HTTPRequest, from broadcaster: EventBroadcaster,
        replay: (@Sendable (_ lastEventID: String?, EventStreamWriter) async throws -> Void)? = nil
    ) -> HTTPResponse {
        let lastEventID = request.headers["Last-Event-ID"]
        let remote = request.remoteAddress
        return HTTPResponse(status: .ok, headers: eventStreamHeaders, body: .stream { body in
            try await broadcaster.serve(body, remoteAddress: remote, lastEventID: lastEventID, replay: replay)
        })
    }

    static let eventStreamHeaders: HTTPFields = [
        "Content-Type": "text/event-stream",
        "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no",
    ]
}
