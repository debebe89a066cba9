#if canImport(Glibc)
import Glibc
#endif
import CLinuxSys
import Synchronization

/// An event loop: one epoll instance waited on by one thread.
///
/// A process has `shared`, where every client (RESP, PGWire, S3Lite) and the service's tasks run.
/// A server that wants more than one core for its connections takes more loops from
/// `EventLoop.loops(_:)` (the first is always `shared`); each connection stays on one loop.
///
/// It is also a Swift executor. Tasks started with `Task(executorPreference: EventLoop.shared)`
/// (or actors whose executor is the loop) run on the loop thread, so when a socket becomes ready
/// the continuation waiting for it is resumed right there, without a hop to another thread.
/// Everything else (the cooperative pool, transcoder threads) may call into the loop from any
/// thread: registrations, timers and the job queue are guarded by mutexes, and the loop is woken
/// through an eventfd only when it is asleep in `epoll_wait`.
public final class EventLoop: SerialExecutor, TaskExecutor, @unchecked Sendable {
    // @unchecked: every mutable field is inside a Mutex or an Atomic; `epfd`/`wakeFD` are immutable.

    /// The process's main loop. Its thread starts on first use.
    public static let shared = EventLoop(index: 0)

    /// Loops beyond `shared`, made on demand and kept for the life of the process (a loop's thread
    /// never ends), so asking for the same count again returns the same loops.
    private static let extra = Mutex<[EventLoop]>([])

    /// `count` loops (at least one), `shared` first. A server spreading connections over them
    /// runs on `count` threads; everything else keeps running on `shared`.
    public static func loops(_ count: Int) -> [EventLoop] {
        guard count > 1 else { return [shared] }
        return [shared] + extra.withLock { loops in
            while loops.count < count - 1 { loops.append(EventLoop(index: loops.count + 1)) }
            return Array(loops.prefix(count - 1))
        }
    }

    /// 0 for `shared`, then 1, 2, … in the order `loops(_:)` made them (the thread is named after it).
    public let index: Int

    let epfd: Int32
    private let wakeFD: Int32
    private let state = Mutex(LoopState())
    private let loopThreadID = Atomic<UInt>(0)

    struct LoopState {
        /// Ready jobs; `isolated` marks jobs of actors whose serial executor is the loop.
        var jobs: [(job: UnownedJob, isolated: Bool)] = []
        var timers = TimerHeap()
        var sleeping = false
        var wakePending = false
        /// Registrations removed from epoll, released only after the current batch of events.
        var retired: [Unmanaged<Registration>] = []
    }

    private init(index: Int) {
        self.index = index
        serialExecutor = LoopSerialExecutor()
        // Writing to a socket whose peer is gone must fail with EPIPE, not kill the process.
        signal(SIGPIPE, SIG_IGN)
        _ = openSSLInitialized
        epfd = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epfd >= 0, "epoll_create1 failed: \(String(cString: strerror(errno)))")
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        precondition(wakeFD >= 0, "eventfd failed: \(String(cString: strerror(errno)))")
        var ev = epoll_event()
        ev.events = EPOLLIN.rawValue
        ev.data.u64 = 0  // 0 marks the wake-up eventfd; registrations carry a pointer
        precondition(epoll_ctl(epfd, EPOLL_CTL_ADD, wakeFD, &ev) == 0)
        serialExecutor.loop = self
        let unmanaged = Unmanaged.passRetained(self)
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, { arg in
            let loop = Unmanaged<EventLoop>.fromOpaque(arg!).takeRetainedValue()
            loop.runLoop()
            return nil
        }, unmanaged.toOpaque())
        precondition(rc == 0, "pthread_create failed")
        pthread_detach(tid)
    }

    /// True on the loop's own thread.
    public var inLoopThread: Bool { loopThreadID.load(ordering: .relaxed) == UInt(bitPattern: Int(bitPattern: pthread_self())) }

    // MARK: Executor

    /// The loop as an actor's serial executor. Kept apart from the loop's task-executor role so
    /// that the two kinds of job can run differently: a task that merely prefers the loop runs
    /// its job "on" the task executor, so calling a nonisolated async function does not look
    /// like leaving an actor and costs no extra trip through the job queue.
    private let serialExecutor: LoopSerialExecutor

    /// Jobs of tasks that prefer the loop (`Task(executorPreference: EventLoop.shared)`).
    public func enqueue(_ job: consuming ExecutorJob) {
        enqueue(UnownedJob(job), isolated: false)
    }

    func enqueue(_ unowned: UnownedJob, isolated: Bool) {
        let onLoop = inLoopThread
        let wake = state.withLock { s -> Bool in
            s.jobs.append((unowned, isolated))
            if !onLoop && s.sleeping && !s.wakePending {
                s.wakePending = true
                return true
            }
            return false
        }
        if wake { signalWake() }
    }

    /// For actors that live on the loop: `nonisolated var unownedExecutor: UnownedSerialExecutor
    /// { EventLoop.shared.asUnownedSerialExecutor() }`.
    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: serialExecutor)
    }

    public func asUnownedTaskExecutor() -> UnownedTaskExecutor {
        UnownedTaskExecutor(ordinary: self)
    }

    public func checkIsolated() {
        precondition(inLoopThread, "expected to run on the EventLoop thread")
    }

    // MARK: Timers

    /// Runs `body` on the loop thread after `delay`. Cancel with `cancel(_:)`.
    @discardableResult
    public func schedule(after delay: Duration, _ body: @escaping @Sendable () -> Void) -> TimerHandle {
        schedule(atNanos: deadline(after: delay), body)
    }

    func schedule(atNanos when: UInt64, _ body: @escaping @Sendable () -> Void) -> TimerHandle {
        let onLoop = inLoopThread
        let (handle, wake) = state.withLock { s -> (TimerHandle, Bool) in
            let earliest = s.timers.nextDeadline()
            let h = s.timers.schedule(at: when, body)
            // The sleeping loop computed its timeout from the old earliest deadline.
            var wake = false
            if !onLoop && s.sleeping && !s.wakePending && (earliest == nil || when < earliest!) {
                s.wakePending = true
                wake = true
            }
            return (h, wake)
        }
        if wake { signalWake() }
        return handle
    }

    /// Cancels a timer; harmless if it already fired.
    public func cancel(_ timer: TimerHandle) {
        _ = state.withLock { $0.timers.cancel(timer) }
    }

    /// Suspends the calling task for `duration` (throws CancellationError when cancelled).
    public func sleep(for duration: Duration) async throws {
        let box = SleepState()
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (cont: UnsafeContinuation<Void, Error>) in
                box.install(cont)
                let handle = schedule(after: duration) { box.resume(nil) }
                box.setTimer(handle, loop: self)
                if Task.isCancelled { box.resume(CancellationError()) }
            }
        } onCancel: {
            box.resume(CancellationError())
        }
    }

    // MARK: Registrations

    func register(_ reg: Registration) throws {
        var ev = epoll_event()
        ev.events = EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue
        let ptr = Unmanaged.passRetained(reg)
        ev.data.u64 = UInt64(UInt(bitPattern: ptr.toOpaque()))
        if epoll_ctl(epfd, EPOLL_CTL_ADD, reg.fd, &ev) != 0 {
            let e = errno
            ptr.release()
            throw NetworkError.fromErrno("epoll_ctl(ADD)", e)
        }
    }

    /// Adds or removes write interest. Called with the registration's lock held so that the
    /// mask and the waiter list never disagree.
    func modify(_ reg: Registration, wantWrite: Bool) {
        var ev = epoll_event()
        ev.events = EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue | (wantWrite ? EPOLLOUT.rawValue : 0)
        ev.data.u64 = UInt64(UInt(bitPattern: Unmanaged.passUnretained(reg).toOpaque()))
        _ = epoll_ctl(epfd, EPOLL_CTL_MOD, reg.fd, &ev)
    }

    /// Removes the fd from epoll; the reference held by epoll is dropped after the current batch
    /// of events, so an event already returned for this fd never touches freed memory.
    func deregister(_ reg: Registration) {
        _ = epoll_ctl(epfd, EPOLL_CTL_DEL, reg.fd, nil)
        let ptr = Unmanaged.passUnretained(reg)
        state.withLock { $0.retired.append(ptr) }
    }

    // MARK: The loop

    private func signalWake() {
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { Glibc.write(wakeFD, $0.baseAddress, 8) }
    }

    /// Hands one epoll event to its registration (or drains the wake-up eventfd).
    private func dispatch(_ ev: epoll_event) {
        if ev.data.u64 == 0 {
            var value: UInt64 = 0
            _ = withUnsafeMutableBytes(of: &value) { Glibc.read(wakeFD, $0.baseAddress, 8) }
            state.withLock { $0.wakePending = false }
            return
        }
        Unmanaged<Registration>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(ev.data.u64))!)
            .takeUnretainedValue()
            .handle(events: ev.events)
    }

    private func runLoop() {
        clinuxsys_set_thread_name(index == 0 ? "reactor" : "reactor-\(index)")
        loopThreadID.store(UInt(bitPattern: Int(bitPattern: pthread_self())), ordering: .relaxed)
        let maxEvents = 256
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: maxEvents)
        var batch: [(job: UnownedJob, isolated: Bool)] = []
        batch.reserveCapacity(64)
        let serial = asUnownedSerialExecutor()
        let task = asUnownedTaskExecutor()
        while true {
            // 1. Jobs that are ready, and the jobs they enqueue in turn (an actor call and its
            // return are hops through this queue: a query is several of them). Bounded, so I/O
            // is still polled between rounds when jobs keep producing jobs.
            for _ in 0..<8 {
                state.withLock { s in swap(&s.jobs, &batch) }
                if batch.isEmpty { break }
                for (job, isolated) in batch {
                    if isolated {
                        job.runSynchronously(isolatedTo: serial, taskExecutor: task)
                    } else {
                        job.runSynchronously(on: task)
                    }
                }
                batch.removeAll(keepingCapacity: true)
            }

            // 2. Wait for I/O, or just poll when work is queued or a timer is due.
            let timeoutMs: Int32 = state.withLock { s in
                if !s.jobs.isEmpty { return 0 }
                s.sleeping = true
                guard let next = s.timers.nextDeadline() else { return -1 }
                let now = monotonicNanos()
                if next <= now { s.sleeping = false; return 0 }
                // Round up so we never wake just before the deadline and spin.
                return Int32(clamping: (next - now + 999_999) / 1_000_000)
            }
            // A full batch may leave ready fds behind: drain them (bounded, so a flood of I/O
            // cannot starve timers forever) before any deadline is judged in step 3.
            var wait = timeoutMs
            for _ in 0..<16 {
                let n = epoll_wait(epfd, events, Int32(maxEvents), wait)
                let err = errno  // before the lock, whose futex calls may overwrite it
                state.withLock { $0.sleeping = false }
                if n < 0 {
                    if err == EINTR { break }
                    fatalError("epoll_wait failed: \(String(cString: strerror(err)))")
                }
                for i in 0..<Int(n) { dispatch(events[i]) }
                if n < maxEvents { break }
                wait = 0
            }
            let retired = state.withLock { s -> [Unmanaged<Registration>] in
                defer { s.retired.removeAll(keepingCapacity: true) }
                return s.retired
            }
            for r in retired { r.release() }

            // 3. Timers that are due, only now: I/O that became ready while the thread was busy
            // has just resumed its waiters (and cancelled their deadlines), so a deadline that
            // passed only because the loop could not look never beats bytes that are there.
            let due = state.withLock { s in s.timers.isEmpty ? [] : s.timers.popDue(now: monotonicNanos()) }
            for cb in due { cb() }
        }
    }
}

/// A loop's serial-executor face (see `EventLoop.asUnownedSerialExecutor`).
final class LoopSerialExecutor: SerialExecutor, @unchecked Sendable {
    // @unchecked: `loop` is set once, in the loop's init, before any job can reach this executor.
    // Loops live as long as the process (their threads hold them), so it never dangles.
    unowned(unsafe) var loop: EventLoop!

    func enqueue(_ job: consuming ExecutorJob) {
        loop.enqueue(UnownedJob(job), isolated: true)
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    func checkIsolated() {
        precondition(loop.inLoopThread, "expected to run on the EventLoop thread")
    }
}

/// One sleeping task: resumed exactly once, by its timer or by cancellation.
private final class SleepState: @unchecked Sendable {
    // @unchecked: all fields are behind `lock`.
    private let lock = Mutex<(UnsafeContinuation<Void, Error>?, TimerHandle?, EventLoop?, Bool)>((nil, nil, nil, false))

    func install(_ c: UnsafeContinuation<Void, Error>) { lock.withLock { $0.0 = c } }

    func setTimer(_ t: TimerHandle, loop: EventLoop) {
        let alreadyDone = lock.withLock { s -> Bool in
            if s.3 { return true }
            s.1 = t; s.2 = loop
            return false
        }
        if alreadyDone { loop.cancel(t) }
    }

    func resume(_ error: Error?) {
        let (c, t, loop) = lock.withLock { s -> (UnsafeContinuation<Void, Error>?, TimerHandle?, EventLoop?) in
            if s.3 { return (nil, nil, nil) }
            guard let c = s.0 else {
                // Cancelled before the continuation existed: the body will see Task.isCancelled.
                return (nil, nil, nil)
            }
            s.3 = true
            s.0 = nil
            return (c, s.1, s.2)
        }
        if let t, let loop { loop.cancel(t) }
        if let c {
            if let error { c.resume(throwing: error) } else { c.resume() }
        }
    }
}
