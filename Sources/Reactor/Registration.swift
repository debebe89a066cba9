#if canImport(Glibc)
import Glibc
#endif
import CLinuxSys
import Synchronization

/// One file descriptor in the loop's epoll set, with the tasks waiting for it to become readable
/// or writable.
///
/// The fd is registered edge-triggered for input. Write interest (EPOLLOUT) is added only when a
/// writer actually hit EAGAIN and is dropped at the first write edge that finds no writer waiting,
/// so an idle connection never wakes the loop for writability.
///
/// Lost wake-ups are impossible by construction: every syscall on the fd runs under `state`'s
/// lock and records the edge counters as they were just before it. A task that saw EAGAIN waits
/// for "an edge after counter N"; if an edge arrived in between, the counter moved and it retries
/// at once instead of sleeping. Holding the lock around the syscall also means `close()` can never
/// close the fd (and let the number be reused) under a read or write in progress.
final class Registration: @unchecked Sendable {
    // @unchecked: mutable state is only touched inside `state`'s lock; `fd` and `loop` are constants.

    enum Direction { case read, write }

    struct Waiter {
        let token: UInt64
        let continuation: UnsafeContinuation<Void, Error>
        var timer: TimerHandle?
    }

    struct State {
        var readEdges: UInt64 = 0
        /// `readEdges` as the latest read syscall found it (see `hasReadEdgeSinceLastRead`).
        var readEdgesAtLastRead: UInt64 = 0
        /// The peer hung up (RDHUP, HUP or ERR) and no read has seen the end yet. Kept apart from
        /// the edge count: when the last bytes and the FIN come in one event, the read that takes
        /// the bytes also catches up with that edge, and the end it has not read yet would be lost
        /// (no edge ever follows a FIN).
        var hangupUnread = false
        var writeEdges: UInt64 = 0
        var readWaiters: [Waiter] = []
        var writeWaiters: [Waiter] = []
        var writeInterest = false
        var closed = false
        /// `interruptRead()` found no reader waiting: the next read wait ends at once.
        var readInterruptPending = false
    }

    let fd: Int32
    let loop: EventLoop
    private let state = Mutex(State())
    private static let tokens = Atomic<UInt64>(1)

    init(fd: Int32, loop: EventLoop) throws {
        self.fd = fd
        self.loop = loop
        try loop.register(self)
    }

    /// Runs a syscall on the fd under the lock. Returns its result, the edge counter of
    /// `direction` observed just before the call and `errno`. Throws `.closed` when the fd is closed.
    @inline(__always)
    /// `errno` is captured right after the call, before unlocking can disturb it.
    func perform<R>(_ direction: Direction, _ body: (Int32) throws -> R) throws -> (result: R, edges: UInt64, errno: Int32) {
        try state.withLock { s in
            if s.closed { throw NetworkError.closed }
            let edges = direction == .read ? s.readEdges : s.writeEdges
            if direction == .read { s.readEdgesAtLastRead = edges }
            errno = 0
            let r = try body(fd)
            return (r, edges, Glibc.errno)
        }
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    /// Whether a read edge arrived after the latest read syscall on the fd began (false once closed).
    /// A hang-up no read has seen yet counts as such an edge until one does.
    var hasReadEdgeSinceLastRead: Bool {
        state.withLock { !$0.closed && ($0.readEdges != $0.readEdgesAtLastRead || $0.hangupUnread) }
    }

    /// The read-edge count, if no read edge arrived since the latest read syscall began and no
    /// hang-up is unread (nil otherwise, and once closed). See `Connection.replyMark()`.
    var readEdgesIfQuietSinceLastRead: UInt64? {
        state.withLock { s in !s.closed && !s.hangupUnread && s.readEdges == s.readEdgesAtLastRead ? s.readEdges : nil }
    }

    /// A read returned the end of stream or an error: the hang-up has been seen.
    func hangupRead() {
        state.withLock { $0.hangupUnread = false }
    }

    /// Tasks currently suspended on this fd (tests use it to prove no continuation is left behind).
    var waiterCount: Int { state.withLock { $0.readWaiters.count + $0.writeWaiters.count } }

    /// Suspends until an edge in `direction` newer than `edges`, the deadline, cancellation or close.
    nonisolated(nonsending) func wait(_ direction: Direction, after edges: UInt64, deadline: UInt64?, operation: String) async throws {
        let token = Self.tokens.add(1, ordering: .relaxed).newValue
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (cont: UnsafeContinuation<Void, Error>) in
                enum Outcome { case waiting, ready, closed, cancelled, interrupted }
                let outcome = state.withLock { s -> Outcome in
                    if s.closed { return .closed }
                    let current = direction == .read ? s.readEdges : s.writeEdges
                    if current != edges { return .ready }
                    if Task.isCancelled { return .cancelled }
                    if direction == .read && s.readInterruptPending {
                        s.readInterruptPending = false
                        return .interrupted
                    }
                    let w = Waiter(token: token, continuation: cont, timer: nil)
                    if direction == .read {
                        s.readWaiters.append(w)
                    } else {
                        s.writeWaiters.append(w)
                        if !s.writeInterest {
                            s.writeInterest = true
                            loop.modify(self, wantWrite: true)
                        }
                    }
                    return .waiting
                }
                switch outcome {
                case .ready: cont.resume(); return
                case .closed: cont.resume(throwing: NetworkError.closed); return
                case .cancelled: cont.resume(throwing: CancellationError()); return
                case .interrupted: cont.resume(throwing: NetworkError.timedOut("\(operation) (interrupted)")); return
                case .waiting: break
                }
                guard let deadline else { return }
                let timer = loop.schedule(atNanos: deadline) { [self] in
                    self.fail(token: token, direction, NetworkError.timedOut(operation))
                }
                let stillWaiting = state.withLock { s -> Bool in
                    if direction == .read, let i = s.readWaiters.firstIndex(where: { $0.token == token }) {
                        s.readWaiters[i].timer = timer
                        return true
                    }
                    if direction == .write, let i = s.writeWaiters.firstIndex(where: { $0.token == token }) {
                        s.writeWaiters[i].timer = timer
                        return true
                    }
                    return false
                }
                if !stillWaiting { loop.cancel(timer) }
            }
        } onCancel: {
            self.fail(token: token, direction, CancellationError())
        }
    }

    /// Ends the read waits under way now as if their deadline had passed (`NetworkError.timedOut`),
    /// or, when nobody waits to read, the next one: for a reader whose deadline another task has
    /// just changed, so it looks again instead of sleeping until the old one.
    func interruptRead() {
        var woken: [Waiter] = []
        state.withLock { s in
            if s.closed { return }
            if s.readWaiters.isEmpty {
                s.readInterruptPending = true
            } else {
                woken = s.readWaiters
                s.readWaiters.removeAll(keepingCapacity: true)
            }
        }
        for w in woken {
            if let t = w.timer { loop.cancel(t) }
            w.continuation.resume(throwing: NetworkError.timedOut("read (interrupted)"))
        }
    }

    /// Resumes one specific waiter with an error, if it is still waiting.
    private func fail(token: UInt64, _ direction: Direction, _ error: Error) {
        let waiter = state.withLock { s -> Waiter? in
            if direction == .read {
                guard let i = s.readWaiters.firstIndex(where: { $0.token == token }) else { return nil }
                return s.readWaiters.remove(at: i)
            } else {
                guard let i = s.writeWaiters.firstIndex(where: { $0.token == token }) else { return nil }
                return s.writeWaiters.remove(at: i)
            }
        }
        guard let waiter else { return }
        if let t = waiter.timer { loop.cancel(t) }
        waiter.continuation.resume(throwing: error)
    }

    /// Called on the loop thread with the events epoll reported for this fd.
    func handle(events: UInt32) {
        let readable = events & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0
        let hangup = events & (EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0
        let writable = events & (EPOLLOUT.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0
        // Usually one task waits (the connection's reader): no array is allocated for it.
        var first: Waiter?
        var more: [Waiter] = []
        state.withLock { s in
            if s.closed { return }
            if readable {
                s.readEdges &+= 1
                if hangup { s.hangupUnread = true }
                Self.take(&s.readWaiters, first: &first, more: &more)
            }
            if writable {
                s.writeEdges &+= 1
                if s.writeWaiters.isEmpty {
                    if s.writeInterest && events & EPOLLOUT.rawValue != 0 {
                        s.writeInterest = false
                        loop.modify(self, wantWrite: false)
                    }
                } else {
                    Self.take(&s.writeWaiters, first: &first, more: &more)
                }
            }
        }
        if let first { resume(first) }
        for w in more { resume(w) }
    }

    /// Moves `waiters` out, keeping the list's storage for the next waiter.
    private static func take(_ waiters: inout [Waiter], first: inout Waiter?, more: inout [Waiter]) {
        for w in waiters {
            if first == nil { first = w } else { more.append(w) }
        }
        waiters.removeAll(keepingCapacity: true)
    }

    private func resume(_ w: Waiter) {
        if let t = w.timer { loop.cancel(t) }
        w.continuation.resume()
    }

    /// Closes the fd (optionally with an RST) and fails every waiter with `.closed`. Idempotent.
    func close(abort: Bool = false) {
        var woken: [Waiter] = []
        let first = state.withLock { s -> Bool in
            if s.closed { return false }
            s.closed = true
            woken = s.readWaiters + s.writeWaiters
            s.readWaiters.removeAll()
            s.writeWaiters.removeAll()
            loop.deregister(self)
            if abort {
                var l = linger(l_onoff: 1, l_linger: 0)
                _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
            }
            _ = Glibc.close(fd)
            return true
        }
        guard first else { return }
        for w in woken {
            if let t = w.timer { loop.cancel(t) }
            w.continuation.resume(throwing: NetworkError.closed)
        }
    }
}
