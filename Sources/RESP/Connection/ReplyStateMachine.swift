/// The connection's bookkeeping without I/O: which replies are outstanding and in what order, what
/// each arriving frame means, which requests are past their deadline, and what closing fails.
///
/// Rules (RESP3): replies answer requests strictly in order; push frames (`>`) are never replies;
/// (P|S)(UN)SUBSCRIBE requests are answered by one push confirmation per channel, or by an error
/// reply when refused; a reply with nothing outstanding means the stream is out of sync; the
/// server closes the connection once it has answered QUIT, at a moment of its choosing — a command
/// written after QUIT could be lost with it, so none is accepted behind QUIT, and the connection
/// closes as soon as QUIT's reply is in (`completeAndClose`).
/// `Waiter` is whatever resumes a caller (a continuation in `RESPConnection`, a value in tests).
struct ReplyStateMachine<Waiter: Sendable>: Sendable {
    private(set) var queue = ReplyQueue<Waiter>()
    /// Results that arrived (or failures that happened) before their caller started waiting.
    private var parked: [UInt64: Result<RESPValue, any Error>] = [:]
    private var nextID: UInt64 = 1
    private(set) var closeReason: RESPClientError?
    /// The request carrying QUIT, once one was enqueued: nothing may follow it.
    private var quitID: UInt64?

    enum ReceiveAction: Sendable {
        /// The request `id` is complete: resume `waiter` with `value` (nil waiter: parked for it).
        case complete(id: UInt64, waiter: Waiter?, value: RESPValue)
        /// Like `complete`, for the request carrying QUIT: then close the connection with `reason`.
        case completeAndClose(id: UInt64, waiter: Waiter?, value: RESPValue, reason: RESPClientError)
        /// Part of a pipeline's replies; nothing to do yet.
        case partial
        /// Hand the frame to the push handler; when `completing` is set it was the last confirmation
        /// of a subscription request, whose caller must be resumed too.
        case push(RESPValue, completing: Completion?)
        /// A reply with no request outstanding: close the connection.
        case unsolicited(RESPValue)
    }

    struct Completion: Sendable {
        let id: UInt64
        let waiter: Waiter?
    }

    static var confirmationKinds: Set<String> {
        ["subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe"]
    }

    /// Registers a request before its bytes are written; once closed, or behind a QUIT, throws
    /// `notSent` (the request's bytes are then never written). `closesConnection`: the request
    /// carries QUIT.
    mutating func enqueue(name: String, replies: Int, collects: Bool, isSubscription: Bool, closesConnection: Bool = false,
                          deadline: ContinuousClock.Instant?, timeout: Duration?) throws(RESPClientError) -> UInt64 {
        if let reason = closeReason { throw .notSent(command: name, reason: Self.reasonText(reason)) }
        if quitID != nil { throw .notSent(command: name, reason: Self.quitText) }
        let id = nextID
        nextID += 1
        if closesConnection { quitID = id }
        queue.append(PendingReply(id: id, name: name, remaining: replies, collects: collects,
                                  isSubscription: isSubscription, deadline: deadline, timeout: timeout))
        return id
    }

    /// The result of `id` if it is known (the reply arrived, or the request failed), taking it out;
    /// nil while the reply is still outstanding.
    mutating func result(for id: UInt64) -> Result<RESPValue, any Error>? {
        if let result = parked.removeValue(forKey: id) { return result }
        guard queue.index(of: id) != nil else {
            return .failure(closeReason ?? RESPClientError.connectionClosed(reason: "reply lost"))
        }
        return nil
    }

    /// The caller of `id` starts waiting: returns its result if already known, else attaches `waiter`.
    mutating func attach(_ waiter: Waiter, to id: UInt64) -> Result<RESPValue, any Error>? {
        if let result = result(for: id) { return result }
        queue.setWaiter(waiter, at: queue.index(of: id)!)
        return nil
    }

    /// Takes the waiter of the oldest outstanding request that has one, leaving that request
    /// without a waiter (its result is then parked for its caller): how the connection wakes a
    /// waiting caller for something other than its reply (to read the socket in turn).
    mutating func detachFirstWaiter() -> Waiter? { queue.detachFirstWaiter() }

    func isPending(_ id: UInt64) -> Bool { queue.index(of: id) != nil }

    private static var quitText: String { "QUIT was sent on it before, after whose reply the server closes it" }

    /// The close reason as `notSent` shows it (without repeating "connection closed").
    private static func reasonText(_ reason: RESPClientError) -> String {
        if case .connectionClosed(let text) = reason { return text }
        return "\(reason)"
    }

    /// Routes one frame from the server. `reader` is the request whose caller is reading the socket
    /// itself: its result is returned in the action only, not parked (the caller has no waiter).
    mutating func received(_ value: RESPValue, reader: UInt64? = nil) -> ReceiveAction {
        // An attribute may precede any reply, errors included (RESP3). Classified here, once, for
        // every caller: an error is an error whatever came before it; its attribute is dropped.
        var value = value
        if case .attributed(_, let inner) = value, case .error(let e) = inner.withoutAttributes { value = .error(e) }
        if case .push(let items) = value.withoutAttributes {
            guard queue.firstIsSubscription == true, let kind = items.first?.string,
                Self.confirmationKinds.contains(kind)
            else { return .push(value, completing: nil) }
            let done = queue.updateFirst { e -> Bool in
                e.remaining -= 1
                return e.remaining <= 0
            }
            guard done else { return .push(value, completing: nil) }
            let e = queue.removeFirst()
            if e.waiter == nil, e.id != reader { parked[e.id] = .success(.null) }
            return .push(value, completing: Completion(id: e.id, waiter: e.waiter))
        }
        guard let isSubscription = queue.firstIsSubscription else { return .unsolicited(value) }
        if isSubscription {
            // A subscription request answered by a reply instead of pushes: refused (e.g. NOPERM).
            return finish(queue.removeFirst(), with: value, reader: reader)
        }
        let done = queue.updateFirst { e -> Bool in
            if e.collects { e.values.append(value) } else { e.single = value }
            e.remaining -= 1
            return e.remaining == 0
        }
        guard done else { return .partial }
        let e = queue.removeFirst()
        return finish(e, with: e.collects ? .array(e.values) : e.single, reader: reader)
    }

    private mutating func finish(_ e: PendingReply<Waiter>, with value: RESPValue, reader: UInt64?) -> ReceiveAction {
        if e.waiter == nil, e.id != reader { parked[e.id] = .success(value) }
        if e.id == quitID {
            return .completeAndClose(id: e.id, waiter: e.waiter, value: value, reason: .connectionClosed(reason: "closed after QUIT"))
        }
        return .complete(id: e.id, waiter: e.waiter, value: value)
    }

    /// Requests past their deadline (each with its timeout error) and the next deadline ahead.
    func expired(at now: ContinuousClock.Instant) -> (errors: [UInt64: any Error], next: ContinuousClock.Instant?) {
        let (ids, next) = queue.expired(at: now)
        var errors: [UInt64: any Error] = [:]
        for id in ids {
            if let i = queue.index(of: id) {
                errors[id] = RESPClientError.timedOut(command: queue[i].name, after: queue[i].timeout ?? .zero)
            }
        }
        return (errors, next)
    }

    /// Closes: every outstanding request fails — with its own error from `specific` (timeout,
    /// cancellation) or with `reason`. Returns the waiters to resume; the rest are parked. Returns
    /// nil when already closed.
    mutating func close(_ reason: RESPClientError, failing specific: [UInt64: any Error] = [:]) -> [(Waiter, any Error)]? {
        guard closeReason == nil else { return nil }
        closeReason = reason
        var resumes: [(Waiter, any Error)] = []
        for e in queue.removeAll() {
            let error = specific[e.id] ?? reason
            if let w = e.waiter { resumes.append((w, error)) } else { parked[e.id] = .failure(error) }
        }
        return resumes
    }
}
