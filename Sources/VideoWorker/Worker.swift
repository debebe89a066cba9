import VideoCore
import Reactor
import RESP
import Synchronization

/// A worker process's job loop: takes jobs from the stream through the consumer group, runs up to
/// `workerConcurrency` of them at once, keeps their leases alive, takes over entries whose owner
/// died, dead-letters what keeps failing, and stops cleanly.
///
/// The decisions are `WorkerStateMachine`'s; this type carries out its actions with RESP commands
/// (`RedisCommands`) and the job runner, and feeds it what happened: one event at a time, from one
/// loop, so the machine needs no lock. Reads block (XREADGROUP BLOCK ≤ 2 s) on a connection of
/// their own, so heartbeats, claims, acknowledgements and progress never wait behind them.
public final class Worker: Sendable {
    public let consumer: String
    public let policy: LeasePolicy
    let context: ServiceContext
    let queue: JobQueue
    let commands: RedisCommands
    let runner: JobRunner
    let logger: Logger

    /// What the loop reacts to.
    enum Event: Sendable {
        case tick
        case read(Result<[RESPStreamEntry], any Error>)
        case claimed(Result<[ClaimedEntry], any Error>)
        case finished(entryID: String, JobOutcome)
        case leaseLost([String])
        case terminate(grace: Duration)
    }

    struct ClaimedEntry: Sendable {
        var entry: RESPStreamEntry
        var deliveryCount: Int
    }

    enum Phase { case idle, running, done }

    struct Shared: Sendable {
        var phase = Phase.idle
        var events: AsyncStream<Event>.Continuation?
        var pendingStop: Duration?
        var stopWaiters: [CheckedContinuation<Void, Never>] = []
        var readConnection: RESPConnection?
        var readsClosed = false
        var claimCursor = "0-0"
        var jobs: [String: RunningJob] = [:]
    }

    private let shared = Mutex(Shared())

    /// The longest XREADGROUP BLOCK: a stop never waits longer for a read to return.
    static let maxReadBlock = Duration.seconds(2)
    /// Pause after a failed read or claim (Redis unreachable) before the next one.
    static let retryDelay = Duration.seconds(1)

    public convenience init(context: ServiceContext, consumer: String = ConsumerName.make(), lease: LeasePolicy? = nil) {
        self.init(context: context, consumer: consumer, lease: lease, runner: JobRunner(context: context))
    }

    init(context: ServiceContext, consumer: String, lease: LeasePolicy?, runner: JobRunner) {
        self.context = context
        self.consumer = consumer
        self.policy = lease ?? LeasePolicy(context.configuration)
        self.commands = RedisCommands(context.configuration, consumer: consumer)
        self.queue = JobQueue(redis: context.redis, commands: commands)
        self.runner = runner
        self.logger = context.logger.with("consumer", consumer)
    }

    /// Jobs running now (entry ids).
    public var runningEntryIDs: [String] { shared.withLock { $0.jobs.keys.sorted() } }

    /// Runs until `stop(grace:)` has settled every job. Creates the consumer group first (an
    /// error there — Redis unreachable — is thrown; later Redis errors are retried). Call it from
    /// a task on the event loop (`Task(executorPreference: EventLoop.shared)`); a second call
    /// returns at once.
    public func run() async throws {
        let (events, continuation) = AsyncStream.makeStream(of: Event.self)
        let alreadyStopped = shared.withLock { s -> Bool in
            guard s.phase == .idle else { return true }
            s.phase = .running
            s.events = continuation
            if let grace = s.pendingStop { continuation.yield(.terminate(grace: grace)) }
            return false
        }
        guard !alreadyStopped else { return }
        do {
            try await queue.ensureGroup()
        } catch {
            finishRun()
            throw error
        }
        logger.info("worker started", ["stream": commands.keys.jobStream, "group": commands.keys.consumerGroup,
                                       "concurrency": String(context.configuration.workerConcurrency)])
        let origin = ContinuousClock.now
        var machine = WorkerStateMachine(policy: policy, capacity: context.configuration.workerConcurrency)
        var messages: [String: JobMessage] = [:]
        var timer: TimerHandle?
        await withDiscardingTaskGroup { group in
            continuation.yield(.tick)
            loop: for await event in events {
                let now = ContinuousClock.now - origin
                var actions: [WorkerStateMachine.Action] = []
                switch event {
                case .tick:
                    actions += machine.tick(now: now)
                case .read(.success(let entries)):
                    actions += machine.received(deliveries(entries.map { ClaimedEntry(entry: $0, deliveryCount: 1) }, &messages, &group),
                                                from: .read, now: now)
                case .read(.failure(let error)):
                    if !isStopping { logger.warning("reading the job stream failed", ["error": "\(error)"]) }
                    machine.requestFailed(.read)
                    actions += machine.tick(now: now)
                case .claimed(.success(let claimed)):
                    actions += machine.received(deliveries(claimed, &messages, &group), from: .autoclaim, now: now)
                case .claimed(.failure(let error)):
                    logger.warning("claiming abandoned jobs failed", ["error": "\(error)"])
                    machine.requestFailed(.autoclaim)
                    actions += machine.tick(now: now)
                case .finished(let entryID, let outcome):
                    jobFinished(entryID, outcome)
                    actions += machine.finished(entryID: entryID, outcome, now: now)
                case .leaseLost(let ids):
                    for id in ids {
                        guard let job = shared.withLock({ $0.jobs[id] }) else { continue }
                        job.logger.warning("lease lost (another worker took the job over): stopping this run")
                        job.cancel()
                    }
                case .terminate(let grace):
                    closeReads()
                    actions += machine.terminationRequested(now: now, grace: grace)
                }
                for action in actions {
                    if execute(action, &messages, &group) { break loop }
                }
                if let timer { EventLoop.shared.cancel(timer) }
                timer = machine.nextDeadline(now: now).map { deadline in
                    EventLoop.shared.schedule(after: max(.milliseconds(1), deadline - (ContinuousClock.now - origin))) {
                        continuation.yield(.tick)
                    }
                }
            }
            if let timer { EventLoop.shared.cancel(timer) }
            closeReads()
            shared.withLock { $0.events = nil }
            continuation.finish()
        }
        // Jobs cancelled at the deadline ended (and were handed back) after the loop: nothing
        // runs any more.
        shared.withLock { $0.jobs = [:] }
        context.metrics.set(ServiceMetrics.jobsActive, 0)
        await removeOwnConsumer()
        logger.info("worker stopped")
        finishRun()
    }

    /// Stops taking jobs; running ones get `grace` to finish (and be acknowledged), then are
    /// cancelled and left unacknowledged for another worker. Returns when `run()` has returned.
    /// A second call while draining cancels at once.
    public func stop(grace: Duration) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow = shared.withLock { s -> Bool in
                switch s.phase {
                case .idle:
                    s.phase = .done  // never started: a later run() returns at once
                    return true
                case .running:
                    s.stopWaiters.append(c)
                    if let events = s.events { events.yield(.terminate(grace: grace)) } else { s.pendingStop = grace }
                    return false
                case .done:
                    return true
                }
            }
            if resumeNow { c.resume() }
        }
    }

    private var isStopping: Bool { shared.withLock { $0.readsClosed } }

    private func finishRun() {
        let waiters = shared.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.phase = .done
            s.events = nil
            defer { s.stopWaiters = [] }
            return s.stopWaiters
        }
        for w in waiters { w.resume() }
    }

    private func post(_ event: Event) {
        _ = shared.withLock { $0.events }?.yield(event)
    }

    // MARK: Deliveries

    /// Decodes delivered entries; those that are not jobs at all are dead-lettered at once.
    private func deliveries(_ claimed: [ClaimedEntry], _ messages: inout [String: JobMessage],
                            _ group: inout DiscardingTaskGroup) -> [Delivery] {
        var out: [Delivery] = []
        for c in claimed {
            let entry = c.entry
            if entry.isDeleted {
                // Trimmed away while pending: nothing to run, nothing to keep.
                group.addTask(executorPreference: EventLoop.shared) { [self] in await acknowledge(entry.id, logger: logger) }
                continue
            }
            let fields = entry.fields.map { ($0.name, String(decoding: $0.value, as: UTF8.self)) }
            do throws(JobMessage.DecodingError) {
                let message = try JobMessage(fields: fields)
                if let named = message.sourceBucket, named != context.configuration.bucket {
                    throw JobMessage.DecodingError(reason: "s3_path names bucket \(named); this worker reads sources from bucket \(context.configuration.bucket) only")
                }
                messages[entry.id] = message
                out.append(Delivery(entryID: entry.id, videoID: message.videoID, deliveryCount: c.deliveryCount))
            } catch {
                let reason = error.description
                logger.error("not a job: dead-lettered", ["entry_id": entry.id, "error": reason])
                group.addTask(executorPreference: EventLoop.shared) { [self] in
                    do {
                        try await send(commands.deadLetter(fields: fields, entryID: entry.id, deliveries: c.deliveryCount,
                                                           reason: reason, at: Timestamp.now()))
                        context.metrics.increment(ServiceMetrics.jobsDeadLettered)
                        await acknowledge(entry.id, logger: logger)
                    } catch {
                        logger.error("dead-lettering failed", ["entry_id": entry.id, "error": "\(error)"])
                    }
                }
            }
        }
        return out
    }

    // MARK: Actions

    /// Carries out one action; true on `.exit`.
    private func execute(_ action: WorkerStateMachine.Action, _ messages: inout [String: JobMessage],
                         _ group: inout DiscardingTaskGroup) -> Bool {
        switch action {
        case .read(let count, let block):
            group.addTask(executorPreference: EventLoop.shared) { [self] in await read(count: count, block: min(block, Self.maxReadBlock)) }
        case .autoclaim(let minIdle, let count):
            group.addTask(executorPreference: EventLoop.shared) { [self] in await autoclaim(minIdle: minIdle, count: count) }
        case .heartbeat(let ids):
            group.addTask(executorPreference: EventLoop.shared) { [self] in await heartbeat(ids) }
        case .start(let delivery):
            guard let message = messages[delivery.entryID] else { return false }
            let jobLogger = context.logger.with("video_id", delivery.videoID).with("entry_id", delivery.entryID)
                .with("delivery", String(delivery.deliveryCount))
            let job = RunningJob(delivery: delivery, message: message, logger: jobLogger,
                                 progress: ProgressPublisher(videoID: delivery.videoID, queue: queue, logger: jobLogger))
            let active = shared.withLock { s -> Int in
                s.jobs[delivery.entryID] = job
                return s.jobs.count
            }
            context.metrics.increment(ServiceMetrics.jobsStarted)
            context.metrics.set(ServiceMetrics.jobsActive, Double(active))
            group.addTask(executorPreference: EventLoop.shared) { [self] in
                let outcome = await runner.run(job)
                // Only now, with nothing of the job running any more, may another worker start it.
                if outcome == .cancelled, job.handsBack { await handBack(job) }
                post(.finished(entryID: delivery.entryID, outcome))
            }
        case .acknowledge(let entryID):
            let jobLogger = messages[entryID].map { context.logger.with("video_id", $0.videoID) } ?? logger
            messages[entryID] = nil
            group.addTask(executorPreference: EventLoop.shared) { [self] in await acknowledge(entryID, logger: jobLogger) }
        case .failPermanently(let delivery, let code, let message):
            messages[delivery.entryID] = nil
            let job = shared.withLock { $0.jobs[delivery.entryID] }
            group.addTask(executorPreference: EventLoop.shared) { [self] in await failPermanently(delivery, code: code, message: message, job: job) }
        case .deadLetter(let delivery, let reason):
            guard let message = messages.removeValue(forKey: delivery.entryID) else { return false }
            let job = shared.withLock { $0.jobs[delivery.entryID] }
            group.addTask(executorPreference: EventLoop.shared) { [self] in
                await deadLetter(delivery, message: message, reason: reason, job: job)
            }
        case .leaveUnacknowledged(let entryID, let reason):
            let videoID = messages.removeValue(forKey: entryID)?.videoID
            forget(entryID)
            (videoID.map { context.logger.with("video_id", $0) } ?? logger)
                .warning("left unacknowledged for another attempt", ["entry_id": entryID, "reason": reason])
        case .release(let entryID, let reason):
            let videoID = messages.removeValue(forKey: entryID)?.videoID
            forget(entryID)
            let entryLogger = videoID.map { context.logger.with("video_id", $0) } ?? logger
            group.addTask(executorPreference: EventLoop.shared) { [self] in
                await release(entryID, announcing: nil, reason: reason, logger: entryLogger)
            }
        case .cancelJobs(let ids):
            for id in ids {
                guard let job = shared.withLock({ $0.jobs[id] }) else { continue }
                job.logger.warning("shutdown grace expired: cancelling; the job is handed back for another worker")
                job.cancel(handingBack: true)
                messages[id] = nil
            }
        case .sweep(let consumerIdle):
            group.addTask(executorPreference: EventLoop.shared) { [self] in await sweep(consumerIdle: consumerIdle) }
        case .notifyStopping:
            logger.info("stopping: no new jobs", ["running": String(shared.withLock { $0.jobs.count })])
        case .exit:
            return true
        }
        return false
    }

    /// A job ended: bookkeeping and metrics (the machine decides what happens to its entry).
    private func jobFinished(_ entryID: String, _ outcome: JobOutcome) {
        guard let job = shared.withLock({ $0.jobs[entryID] }) else { return }
        let seconds = (ContinuousClock.now - job.started).fractionalSeconds
        context.metrics.observe(ServiceMetrics.jobDuration, seconds)
        switch outcome {
        case .completed:
            context.metrics.increment(ServiceMetrics.jobsCompleted)
            job.logger.info("job done", ["seconds": String((seconds * 1000).rounded() / 1000)])
        case .alreadyFinished:
            break
        case .failed(.badMedia(_, let m)):
            context.metrics.increment(ServiceMetrics.jobsFailed, labels: [("reason", "bad_media")])
            job.logger.error("the source cannot be used: the video fails without retry", ["error": m])
        case .failed(.transient(let m)):
            context.metrics.increment(ServiceMetrics.jobsFailed, labels: [("reason", "transient")])
            job.logger.error("attempt failed", ["error": m])
        case .cancelled:
            job.logger.warning("job cancelled")
        }
        // Failed jobs stay registered until their failure is recorded (failPermanently/deadLetter use them).
        switch outcome {
        case .failed: break
        default: forget(entryID)
        }
    }

    private func forget(_ entryID: String) {
        let active = shared.withLock { s -> Int in
            s.jobs[entryID] = nil
            return s.jobs.count
        }
        context.metrics.set(ServiceMetrics.jobsActive, Double(active))
    }

    // MARK: Redis

    @discardableResult
    private func send(_ arguments: [String]) async throws -> RESPValue {
        try await context.redis.send(RESPCommand(arguments))
    }

    private func readConnection() async throws -> RESPConnection {
        if let c = shared.withLock({ $0.readConnection }), !(await c.checkClosed()) { return c }
        let c = try await RESPConnection.connect(context.redis.configuration)
        let closed = shared.withLock { s -> Bool in
            if s.readsClosed { return true }
            s.readConnection = c
            return false
        }
        if closed {
            c.close()
            throw RESPClientError.shutDown
        }
        return c
    }

    /// No more reads; one blocked now returns at once (its connection closes).
    private func closeReads() {
        let c = shared.withLock { s -> RESPConnection? in
            s.readsClosed = true
            defer { s.readConnection = nil }
            return s.readConnection
        }
        c?.close()
    }

    private func read(count: Int, block: Duration) async {
        do {
            let connection = try await readConnection()
            let reads = try await connection.xreadgroup(group: commands.keys.consumerGroup, consumer: consumer,
                                                        streams: [(commands.keys.jobStream, ">")], count: count, block: block)
            post(.read(.success(reads.flatMap(\.entries))))
        } catch {
            if !isStopping { try? await EventLoop.shared.sleep(for: Self.retryDelay) }
            post(.read(.failure(error)))
        }
    }

    /// XAUTOCLAIM from where the last scan stopped, then each entry's delivery count (XPENDING).
    private func autoclaim(minIdle: Duration, count: Int) async {
        do {
            let cursor = shared.withLock { $0.claimCursor }
            let redis = context.redis
            let result = try await redis.xautoclaim(commands.keys.jobStream, group: commands.keys.consumerGroup, consumer: consumer,
                                                    minIdle: minIdle, start: cursor, count: count)
            shared.withLock { $0.claimCursor = result.nextStart }
            var claimed: [ClaimedEntry] = []
            if !result.entries.isEmpty {
                let replies = try await redis.pipeline(result.entries.map { RESPCommand(commands.pending(entryID: $0.id)) })
                for (entry, reply) in zip(result.entries, replies) {
                    let row = reply.elements?.first?.elements
                    // Not pending any more (acknowledged meanwhile): nothing to do.
                    guard let row, row.count == 4, let n = row[3].int else { continue }
                    claimed.append(ClaimedEntry(entry: entry, deliveryCount: Int(n)))
                }
                logger.info("took over abandoned jobs", ["entries": claimed.map(\.entry.id).joined(separator: ",")])
            }
            post(.claimed(.success(claimed)))
        } catch {
            try? await EventLoop.shared.sleep(for: Self.retryDelay)
            post(.claimed(.failure(error)))
        }
    }

    private func heartbeat(_ ids: [String]) async {
        do {
            let reply = try await send(commands.heartbeatOwned(entryIDs: ids))
            let owned = Set((reply.elements ?? []).compactMap(\.string))
            let lost = ids.filter { !owned.contains($0) }
            if !lost.isEmpty { post(.leaseLost(lost)) }
        } catch {
            logger.warning("heartbeat failed", ["entries": ids.joined(separator: ","), "error": "\(error)"])
        }
    }

    /// A job cancelled at shutdown, once stopped: its entry is handed back (claimable by any
    /// worker at once) and its progress says it waits for a worker, so a page does not show a
    /// frozen bar until the lease runs out.
    private func handBack(_ job: RunningJob) async {
        let event = ProgressEvent(videoID: job.delivery.videoID, status: .queued, timestamp: Timestamp.now())
        await release(job.delivery.entryID, announcing: event, reason: "cancelled at shutdown", logger: job.logger)
    }

    private func release(_ entryID: String, announcing event: ProgressEvent?, reason: String, logger: Logger) async {
        do {
            let handedBack = try await send(commands.release(entryID: entryID, announcing: event)).int == 1
            if handedBack {
                logger.info("handed back for another worker", ["entry_id": entryID, "reason": reason])
            } else {
                logger.info("not handed back: another worker owns the entry now", ["entry_id": entryID])
            }
        } catch {
            // Still pending under this consumer: any worker takes it after the lease.
            logger.warning("handing back failed; another worker takes the job after the lease",
                           ["entry_id": entryID, "reason": reason, "error": "\(error)"])
        }
    }

    /// Work directories a dead worker left on this machine, and consumers of dead workers.
    private func sweep(consumerIdle: Duration) async {
        let root = context.configuration.workDirectory
        do {
            let removed = try await WorkDirectory.sweep(in: root, olderThan: policy.lease)
            if !removed.isEmpty { logger.info("removed work directories of stopped workers", ["directories": removed.joined(separator: ",")]) }
        } catch {
            logger.warning("sweeping the work directory failed", ["directory": root, "error": "\(error)"])
        }
        do {
            let removed = try await send(commands.removeIdleConsumers(minIdle: consumerIdle)).elements?.compactMap(\.string) ?? []
            if !removed.isEmpty { logger.info("removed idle consumers with nothing pending", ["consumers": removed.joined(separator: ",")]) }
        } catch {
            logger.warning("sweeping idle consumers failed", ["error": "\(error)"])
        }
    }

    /// At a clean stop: this worker's consumer goes unless entries are still pending under it
    /// (handed back ones stay, so another worker can take them).
    private func removeOwnConsumer() async {
        do {
            _ = try await context.redis.send(RESPCommand(commands.removeIdleConsumers(minIdle: .zero, only: consumer)),
                                             timeout: .after(.seconds(2)))
        } catch {
            logger.warning("removing this worker's consumer failed (another worker's sweep removes it later)", ["error": "\(error)"])
        }
    }

    private func acknowledge(_ entryID: String, logger: Logger) async {
        do {
            _ = try await context.redis.xack(commands.keys.jobStream, group: commands.keys.consumerGroup, ids: [entryID])
        } catch {
            // The outcome is in the database: a redelivery finds the video finished and acknowledges then.
            logger.warning("acknowledgement failed", ["entry_id": entryID, "error": "\(error)"])
        }
    }

    /// Bad media: the video is `failed` with the message (no retry), then the entry is acknowledged.
    private func failPermanently(_ delivery: Delivery, code: FailureCode, message: String, job: RunningJob?) async {
        let jobLogger = job?.logger ?? context.logger.with("video_id", delivery.videoID)
        defer { forget(delivery.entryID) }
        let failedNow: Bool
        do {
            failedNow = try await context.store.markFailed(id: delivery.videoID, message: message, code: code,
                                                          events: runner.webhooks)
        } catch {
            jobLogger.log(TransientFailure.isTransient(error) ? .warning : .error, "cannot record the failure: left pending",
                          fields: [("error", "\(error)")])
            return
        }
        if failedNow { await closeFailedOutputs(delivery.videoID, logger: jobLogger) }
        await publishFailure(videoID: delivery.videoID, message: message, job: job, logger: jobLogger)
        await acknowledge(delivery.entryID, logger: jobLogger)
    }

    /// Too many attempts: the entry goes to the dead-letter stream with the reason, the video to
    /// `failed`, and the entry is acknowledged.
    private func deadLetter(_ delivery: Delivery, message: JobMessage, reason: String, job: RunningJob?) async {
        let jobLogger = job?.logger ?? context.logger.with("video_id", delivery.videoID)
        defer { forget(delivery.entryID) }
        let failedNow: Bool
        do {
            try await send(commands.deadLetter(message, entryID: delivery.entryID, deliveries: delivery.deliveryCount,
                                                   reason: reason, at: Timestamp.now()))
            // Only temporary failures reach the last attempt: a retry later may well succeed.
            failedNow = try await context.store.markFailed(id: delivery.videoID, message: reason, code: .temporary,
                                                          events: runner.webhooks)
        } catch {
            jobLogger.log(TransientFailure.isTransient(error) ? .warning : .error, "dead-lettering failed: left pending",
                          fields: [("error", "\(error)")])
            return
        }
        context.metrics.increment(ServiceMetrics.jobsDeadLettered)
        jobLogger.error("dead-lettered", ["reason": reason, "stream": commands.keys.deadLetterStream])
        if failedNow { await closeFailedOutputs(delivery.videoID, logger: jobLogger) }
        await publishFailure(videoID: delivery.videoID, message: reason, job: job, logger: jobLogger)
        await acknowledge(delivery.entryID, logger: jobLogger)
    }

    /// Ends the media playlists a failed video had published (`PlaylistSealer`), and aborts its
    /// orphan uploads; best effort.
    private func closeFailedOutputs(_ videoID: String, logger: Logger) async {
        await runner.abortOrphanUploads(videoID: videoID, logger: logger)
        do {
            let sealed = try await PlaylistSealer.seal(videoID: videoID, storage: context.storage)
            if sealed > 0 { logger.info("media playlists of the failed video ended with #EXT-X-ENDLIST", ["playlists": String(sealed)]) }
        } catch {
            logger.warning("cannot end the failed video's media playlists (players reload them until it is retried or deleted)",
                           ["error": "\(error)"])
        }
    }

    private func publishFailure(videoID: String, message: String, job: RunningJob?, logger: Logger) async {
        let event: ProgressEvent
        if let job {
            event = job.progress.event { t, now in t.failed(message, now: now) }
        } else {
            var tracker = ProgressTracker(videoID: videoID)
            event = tracker.failed(message, now: .zero)
        }
        do { try await queue.publish(event) } catch { logger.warning("cannot publish progress", ["error": "\(error)"]) }
    }
}
