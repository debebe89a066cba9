/// A worker's queue decisions, without I/O: events in (time passing, entries delivered, jobs
/// ending, SIGTERM), actions out, executed in order by the worker's Redis/database code.
///
/// Time is a monotonic `Duration` since any fixed origin (the caller's clock), so tests drive it.
public struct WorkerStateMachine: Sendable {
    public enum Action: Sendable, Equatable {
        /// XREADGROUP GROUP g consumer COUNT n BLOCK ms STREAMS stream >; report with `received(_:from: .read)`.
        case read(count: Int, block: Duration)
        /// XAUTOCLAIM stream g consumer minIdle 0-0 COUNT n (then XPENDING for each entry's delivery
        /// count); report with `received(_:from: .autoclaim)`.
        case autoclaim(minIdle: Duration, count: Int)
        /// XCLAIM stream g consumer 0 ids… JUSTID: resets the entries' idle time (our lease).
        case heartbeat(entryIDs: [String])
        /// Run the job (markProcessing, probe, transcode, upload, upsert, markCompleted).
        case start(Delivery)
        /// Give up: XADD to the dead-letter stream (entry fields + reason), mark the video failed
        /// with `reason`, then XACK.
        case deadLetter(Delivery, reason: String)
        /// Bad media: mark the video failed with `code` and `message`, then XACK (no retry).
        case failPermanently(Delivery, code: FailureCode, message: String)
        /// XACK (the database already records the outcome).
        case acknowledge(entryID: String)
        /// Do nothing with the entry: it stays pending, and after `lease` of idleness any worker's
        /// XAUTOCLAIM takes it (a retry after a failed attempt: the lease is its back-off).
        case leaveUnacknowledged(entryID: String, reason: String)
        /// Hand back an entry this worker will not run (delivered while stopping, or with no slot
        /// free): still pending under this consumer, but with an idle time no lease reaches, so
        /// any worker's next XAUTOCLAIM takes it at once — checked and set in one script, so an
        /// entry another worker took over meanwhile is never touched.
        case release(entryID: String, reason: String)
        /// Stop these running jobs now; each, once stopped (`.cancelled`), is handed back as by
        /// `release`, and its progress says it waits for a worker again.
        case cancelJobs(entryIDs: [String])
        /// Housekeeping, at start and every `sweepInterval`: remove work directories of dead workers
        /// on this machine (older than a lease, not locked by a live job) and consumers of the group
        /// idle longer than `consumerIdle` with nothing pending.
        case sweep(consumerIdle: Duration)
        /// sd_notify STOPPING=1, stop accepting work.
        case notifyStopping
        /// Every job is settled: the worker loop may return.
        case exit
    }

    public enum Source: Sendable, Equatable { case read, autoclaim }

    public enum Phase: Sendable, Equatable {
        case running
        case draining(deadline: Duration)
        case stopped
    }

    struct ActiveJob: Sendable, Equatable {
        var delivery: Delivery
        var lastHeartbeat: Duration
    }

    public let policy: LeasePolicy
    public let capacity: Int
    public private(set) var phase = Phase.running
    private(set) var active: [String: ActiveJob] = [:]
    private var readInFlight = false
    private var claimInFlight = false
    private var lastClaim: Duration?
    private var lastSweep: Duration?

    public init(policy: LeasePolicy, capacity: Int) {
        precondition(capacity >= 1)
        self.policy = policy
        self.capacity = capacity
    }

    public var activeEntryIDs: [String] { active.keys.sorted() }
    private var freeSlots: Int { capacity - active.count }

    /// Call on every wake-up (at least by `nextDeadline(now:)`).
    public mutating func tick(now: Duration) -> [Action] {
        var actions: [Action] = []
        switch phase {
        case .stopped:
            return []
        case .draining(let deadline):
            if active.isEmpty {
                phase = .stopped
                return [.exit]
            }
            if now >= deadline {
                let ids = activeEntryIDs
                active = [:]
                phase = .stopped
                return [.cancelJobs(entryIDs: ids), .exit]
            }
            actions += heartbeats(now: now)
        case .running:
            actions += heartbeats(now: now)
            if lastSweep.map({ now - $0 >= policy.sweepInterval }) ?? true {
                lastSweep = now
                actions.append(.sweep(consumerIdle: policy.consumerIdleLimit))
            }
            if freeSlots > 0, !claimInFlight, lastClaim.map({ now - $0 >= policy.claimInterval }) ?? true {
                claimInFlight = true
                lastClaim = now
                actions.append(.autoclaim(minIdle: policy.lease, count: freeSlots))
            }
            if freeSlots > 0, !readInFlight, !claimInFlight {
                readInFlight = true
                actions.append(.read(count: freeSlots, block: policy.readBlock))
            }
        }
        return actions
    }

    /// When `tick` next has something to do (a heartbeat, a claim or the grace deadline).
    public func nextDeadline(now: Duration) -> Duration? {
        var times = active.values.map { $0.lastHeartbeat + policy.heartbeatInterval }
        switch phase {
        case .running:
            times.append((lastClaim ?? now) + policy.claimInterval)
            times.append((lastSweep ?? now) + policy.sweepInterval)
        case .draining(let deadline): times.append(deadline)
        case .stopped: return nil
        }
        return times.min()
    }

    /// Entries returned by a `.read` or `.autoclaim` action (possibly none).
    public mutating func received(_ deliveries: [Delivery], from source: Source, now: Duration) -> [Action] {
        switch source {
        case .read: readInFlight = false
        case .autoclaim: claimInFlight = false
        }
        var actions: [Action] = []
        for d in deliveries {
            if active[d.entryID] != nil { continue }  // our own entry, already running
            guard case .running = phase else {
                actions.append(.release(entryID: d.entryID, reason: "shutting down"))
                continue
            }
            if d.deliveryCount > policy.maxAttempts {
                actions.append(.deadLetter(d, reason: "gave up after \(policy.maxAttempts) attempt\(policy.maxAttempts == 1 ? "" : "s") (delivered \(d.deliveryCount) times)"))
                continue
            }
            guard freeSlots > 0 else {
                actions.append(.release(entryID: d.entryID, reason: "no free slot"))
                continue
            }
            active[d.entryID] = ActiveJob(delivery: d, lastHeartbeat: now)
            actions.append(.start(d))
        }
        return actions + tick(now: now)
    }

    /// A `.read` or `.autoclaim` failed (e.g. Redis went away): allow it again on the next tick.
    public mutating func requestFailed(_ source: Source) {
        switch source {
        case .read: readInFlight = false
        case .autoclaim: claimInFlight = false
        }
    }

    /// A started job ended.
    public mutating func finished(entryID: String, _ outcome: JobOutcome, now: Duration) -> [Action] {
        guard let job = active.removeValue(forKey: entryID) else { return [] }
        var actions: [Action]
        switch outcome {
        case .completed, .alreadyFinished:
            actions = [.acknowledge(entryID: entryID)]
        case .failed(.badMedia(let code, let message)):
            actions = [.failPermanently(job.delivery, code: code, message: message)]
        case .failed(.transient(let message)):
            if job.delivery.deliveryCount >= policy.maxAttempts {
                actions = [.deadLetter(job.delivery, reason: "attempt \(job.delivery.deliveryCount) of \(policy.maxAttempts) failed: \(message)")]
            } else {
                actions = [.leaveUnacknowledged(entryID: entryID, reason: "attempt \(job.delivery.deliveryCount) failed, retried after the lease: \(message)")]
            }
        case .cancelled:
            actions = [.release(entryID: entryID, reason: "cancelled")]
        }
        return actions + tick(now: now)
    }

    /// SIGTERM (or SIGINT). The first stops taking jobs and lets running ones finish within the
    /// grace period (`grace`, else the policy's); a second one cancels them at once (they are
    /// handed back for another worker to take at once).
    public mutating func terminationRequested(now: Duration, grace: Duration? = nil) -> [Action] {
        switch phase {
        case .running:
            phase = .draining(deadline: now + (grace ?? policy.shutdownGrace))
            return [.notifyStopping] + tick(now: now)
        case .draining:
            phase = .draining(deadline: now)
            return tick(now: now)
        case .stopped:
            return []
        }
    }

    private mutating func heartbeats(now: Duration) -> [Action] {
        let due = active.filter { now - $0.value.lastHeartbeat >= policy.heartbeatInterval }.keys.sorted()
        guard !due.isEmpty else { return [] }
        for id in due { active[id]!.lastHeartbeat = now }
        return [.heartbeat(entryIDs: due)]
    }
}
