/// A command (or pipeline, or subscription request) whose replies have not all arrived yet.
/// `Waiter` is what resumes the caller: a continuation in the connection, a plain value in tests.
struct PendingReply<Waiter: Sendable>: Sendable {
    let id: UInt64
    /// Command name for timeout errors (never the arguments, which may hold secrets).
    let name: String
    /// Replies still expected: one per pipelined command, or one subscription confirmation per channel.
    var remaining: Int
    /// True for pipelines: the result is `.array(values)`; otherwise the single reply itself.
    let collects: Bool
    /// SUBSCRIBE-style requests are answered by push frames (RESP3), not by replies.
    let isSubscription: Bool
    /// When the caller gives up (nil = never); checked by the connection's watchdog timer.
    let deadline: ContinuousClock.Instant?
    let timeout: Duration?
    var values: [RESPValue] = []
    var single: RESPValue = .null
    var waiter: Waiter?
}

/// FIFO of pending replies in request order. IDs are consecutive (entries leave only from the front,
/// or all at once when the connection closes), so finding an entry by ID is an index computation.
struct ReplyQueue<Waiter: Sendable>: Sendable {
    typealias Entry = PendingReply<Waiter>
    private var storage: [Entry] = []
    private var head = 0

    var isEmpty: Bool { head == storage.count }
    var count: Int { storage.count - head }

    mutating func append(_ entry: Entry) { storage.append(entry) }

    /// Whether the front entry is a subscription request (nil when empty), without copying it.
    var firstIsSubscription: Bool? { isEmpty ? nil : storage[head].isSubscription }

    /// Mutates the front entry in place.
    mutating func updateFirst<R>(_ body: (inout Entry) -> R) -> R { body(&storage[head]) }

    mutating func removeFirst() -> Entry {
        let entry = storage[head]
        head += 1
        if head == storage.count {
            storage.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 256, head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return entry
    }

    func index(of id: UInt64) -> Int? {
        guard !isEmpty, id >= storage[head].id else { return nil }
        let i = head + Int(id - storage[head].id)
        return i < storage.count && storage[i].id == id ? i : nil
    }

    subscript(index: Int) -> Entry { storage[index] }

    /// Sets one entry's waiter in place (a subscript get/set would copy the whole entry).
    mutating func setWaiter(_ waiter: Waiter, at index: Int) { storage[index].waiter = waiter }

    /// Entries with a waiter attached (for tests).
    var waiterCount: Int { storage[head...].count { $0.waiter != nil } }

    /// Removes and returns the waiter of the frontmost entry that has one.
    mutating func detachFirstWaiter() -> Waiter? {
        for i in head..<storage.count where storage[i].waiter != nil {
            defer { storage[i].waiter = nil }
            return storage[i].waiter
        }
        return nil
    }

    /// Entries whose deadline passed, and the earliest deadline still ahead.
    func expired(at now: ContinuousClock.Instant) -> (ids: [UInt64], next: ContinuousClock.Instant?) {
        var ids: [UInt64] = []
        var next: ContinuousClock.Instant?
        for i in head..<storage.count {
            guard let d = storage[i].deadline else { continue }
            if d <= now { ids.append(storage[i].id) } else if next == nil || d < next! { next = d }
        }
        return (ids, next)
    }

    mutating func removeAll() -> ArraySlice<Entry> {
        let all = storage[head...]
        storage = []
        head = 0
        return all
    }
}
