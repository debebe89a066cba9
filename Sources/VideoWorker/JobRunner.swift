import VideoCore
#if canImport(Glibc)
import Glibc
#endif
import Reactor
import Synchronization
import Transcode

/// One job taken from the stream, while it runs: what it is, its logger and progress, and the
/// means to stop it (the transcoder and the uploads it started).
final class RunningJob: Sendable {
    let delivery: Delivery
    let message: JobMessage
    let logger: Logger
    let progress: ProgressPublisher
    let started = ContinuousClock.now
    private let parts = Mutex<(cancelled: Bool, handBack: Bool, transcoder: Transcoder?, uploader: OutputUploader?)>((false, false, nil, nil))

    init(delivery: Delivery, message: JobMessage, logger: Logger, progress: ProgressPublisher) {
        self.delivery = delivery
        self.message = message
        self.logger = logger
        self.progress = progress
    }

    var isCancelled: Bool { parts.withLock { $0.cancelled } }
    /// Cancelled at shutdown: once stopped, its entry is handed back for another worker.
    var handsBack: Bool { parts.withLock { $0.handBack } }

    /// Stops the job at its next step: the transcoder stops promptly, queued uploads are dropped.
    func cancel(handingBack: Bool = false) {
        let (transcoder, uploader) = parts.withLock { p in
            p.cancelled = true
            p.handBack = p.handBack || handingBack
            return (p.transcoder, p.uploader)
        }
        transcoder?.cancel()
        uploader?.cancel()
        cancelStep()
    }

    func checkCancelled() throws(JobRunner.StepError) {
        if isCancelled { throw .cancelled }
    }

    /// Registers what `cancel()` must stop; throws when the job was cancelled already.
    func attach(_ transcoder: Transcoder, _ uploader: OutputUploader) throws(JobRunner.StepError) {
        let cancelled = parts.withLock { p -> Bool in
            if p.cancelled { return true }
            p.transcoder = transcoder
            p.uploader = uploader
            return false
        }
        if cancelled { throw .cancelled }
    }

    var uploader: OutputUploader? { parts.withLock { $0.uploader } }

    private let canceller = Mutex<Task<ObjectInfo, any Error>?>(nil)

    /// Runs a step that has no transcoder to stop (the source download) as a task `cancel()`
    /// cancels, so shutdown does not wait for a long download.
    func cancellable(_ body: @escaping @Sendable () async throws -> ObjectInfo) async throws -> ObjectInfo {
        let task = Task(executorPreference: EventLoop.shared) { try await body() }
        canceller.withLock { $0 = task }
        defer { canceller.withLock { $0 = nil } }
        if isCancelled { task.cancel() }
        return try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
    }

    func cancelStep() { canceller.withLock { $0 }?.cancel() }

    /// Records the video playable once its master is stored; awaited before the job ends, whatever happens.
    private let recorder = Mutex<PlayableRecorder?>(nil)
    func attach(_ playable: PlayableRecorder) { recorder.withLock { $0 = playable } }
    var playableRecorder: PlayableRecorder? { recorder.withLock { $0 } }
}

/// Runs a job: `markProcessing` → fetch the source → probe → source metadata → transcode with
/// every output uploaded as it is produced → one `resolutions` row per rung → `markCompleted`.
/// Returns the outcome; the worker acknowledges, fails or retries according to it.
struct JobRunner: Sendable {
    enum StepError: Error, Sendable {
        case badMedia(FailureCode, String)
        case transient(String)
        case cancelled
    }

    let context: ServiceContext
    /// Bytes per ranged GET when a source is copied from a remote bucket.
    var downloadChunk: Int64 = 8 << 20
    /// Downloads `source_url` submissions into storage (the job's first step).
    let ingest: SourceIngest
    /// `rendition.completed`, `video.ready`, `video.completed`, written with the rows.
    let webhooks: WebhookEvents

    init(context: ServiceContext) {
        self.context = context
        self.ingest = SourceIngest(settings: context.configuration.ingest)
        self.webhooks = WebhookEvents(configuration: context.configuration)
    }

    /// The configured preset; the machine's cores shared among the jobs that may run at once.
    var ladder: LadderOptions {
        let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        return LadderOptions(preset: context.configuration.x264Preset,
                             cores: max(1, cores / max(1, context.configuration.workerConcurrency)))
    }

    func run(_ job: RunningJob) async -> JobOutcome {
        let result: Result<JobOutcome, StepError>
        var workDirectory: WorkDirectory?
        do throws(StepError) {
            let root = context.configuration.workDirectory
            let dir: WorkDirectory
            do { dir = try await OffThread.run { try WorkDirectory.create(in: root) } } catch let e as StepError { throw e } catch {
                throw .transient("\(error)")
            }
            workDirectory = dir
            result = .success(try await perform(job, in: dir.path))
        } catch {
            result = .failure(error)
        }
        // Nothing the job started outlives it: uploads end before their files are deleted.
        if let uploader = job.uploader {
            if case .failure = result { uploader.cancel() }
            await uploader.waitForAll()
        }
        await job.playableRecorder?.settled()
        await job.progress.finish()
        await workDirectory?.remove()
        switch result {
        case .success(let outcome): return outcome
        case .failure(.cancelled): return .cancelled
        case .failure(.badMedia(let code, let m)): return .failed(.badMedia(code, m))
        case .failure(.transient(let m)): return .failed(.transient(m))
        }
    }

    private func perform(_ job: RunningJob, in directory: String) async throws(StepError) -> JobOutcome {
        let id = job.message.videoID
        let sourceKey = job.message.sourceKey
        let store = context.store

        guard let attempt = try await database("mark processing", logger: job.logger, { try await store.markProcessing(id: id) }) else {
            job.logger.info("video already finished or deleted: nothing to do")
            return .alreadyFinished
        }
        job.logger.info("job started", ["attempt": String(attempt), "source_key": sourceKey])
        // An earlier attempt may have made the video playable: its events say so, and its
        // playlists in the bucket are not to be shortened (`OutputUploader.playlistFloor`).
        let playableAt = try await database("read video", logger: job.logger) { try await store.video(id: id) }?.playableAt
        job.progress.update { t, _ in
            t.resumePlayable(at: playableAt)
            return nil
        }
        let playlistFloor = playableAt == nil ? [:] : try await storedPlaylistFloor(videoID: id)
        var phases = PhaseClock()
        if let url = try await pendingSourceURL(videoID: id, key: sourceKey) {
            job.progress.update { t, now in t.fetching(bytes: 0, total: nil, now: now) }
            guard try await ingest(url, key: sourceKey, job: job) else {
                job.logger.info("video deleted while its source was fetched: the download is removed")
                return .alreadyFinished
            }
            phases.mark("ingest")
            job.progress.update { t, now in t.stage(.probing, now: now) }
        } else {
            job.progress.update { t, now in t.started(now: now) }
        }

        try job.checkCancelled()
        let sourcePath = try await fetchSource(key: sourceKey, into: directory, job: job)
        phases.mark("fetch")
        try job.checkCancelled()

        let info: MediaInfo
        do {
            info = try await OffThread.run { try Prober.probe(sourcePath) }
        } catch let e as TranscodeError {
            throw Self.classify(e, localPath: sourcePath, sourceKey: sourceKey)
        } catch {
            throw .transient("probe of \(sourceKey): \(error)")
        }
        guard let video = info.video else { throw .badMedia(.noVideoStream, "\(sourceKey): the file has no video stream") }
        try await database("update source metadata", logger: job.logger) {
            try await store.updateSourceMetadata(id: id, SourceMetadata(
                durationSeconds: info.duration, width: video.displayWidth, height: video.displayHeight,
                frameRate: video.frameRate, videoCodec: video.codec, audioCodec: info.audio?.codec,
                sizeBytes: info.sizeBytes, rotation: video.rotation))
        }
        let plan: LadderPlan
        do { plan = try LadderPlanner.plan(for: info, options: ladder) } catch {
            throw Self.classify(error, localPath: sourcePath, sourceKey: sourceKey)
        }
        phases.mark("probe")
        job.logger.info("probed", ["width": String(video.displayWidth), "height": String(video.displayHeight),
                                   "duration": String(info.duration), "rungs": plan.rungs.map(\.name).joined(separator: ",")])
        let heightOfRung = Dictionary(plan.rungs.map { ($0.name, $0.height) }, uniquingKeysWith: { a, _ in a })
        job.progress.update { t, now in
            t.planned(sizes: plan.rungs.map { ($0.width, $0.height) }, totalFrames: video.frameCount > 0 ? video.frameCount : nil,
                      sourceFrameRate: video.frameRate, now: now)
        }

        let progress = job.progress
        let playable = PlayableRecorder(store: store, videoID: id, progress: progress, logger: job.logger, webhooks: webhooks)
        job.attach(playable)
        let uploader = OutputUploader(
            storage: context.storage, videoID: id, playlistFloor: playlistFloor,
            onQueued: { file in
                guard file.kind == .mp4, let h = file.rendition.flatMap({ heightOfRung[$0] }) else { return }
                progress.update { t, now in t.rendition(height: h, .uploading, now: now) }
            },
            onStored: { file, _ in
                if file.kind == .masterPlaylist { playable.masterStored() }
                guard file.kind == .mp4, let h = file.rendition.flatMap({ heightOfRung[$0] }) else { return }
                progress.update { t, now in t.rendition(height: h, .done, now: now) }
            })
        let transcoder = Transcoder(
            source: sourcePath, outputDirectory: directory + "/out",
            options: TranscodeOptions(ladder: ladder, requireVideo: true, thumbnails: true),
            sink: uploader,
            progress: { p in progress.update { t, now in t.framesProcessed(Int64(p.framesDecoded), now: now) } })
        try job.attach(transcoder, uploader)
        let result: TranscodeResult
        do {
            result = try await transcoder.run()
        } catch {
            throw Self.classify(error, localPath: sourcePath, sourceKey: sourceKey)
        }
        phases.mark("transcode")
        try job.checkCancelled()

        job.progress.update { t, now in t.stage(.uploading, now: now) }
        let stored: [String: ObjectInfo]
        do { stored = try await uploader.finish() } catch { throw .transient(error.description) }
        phases.mark("upload_tail")
        try job.checkCancelled()

        job.progress.update { t, now in t.stage(.finalizing, now: now) }
        for rung in result.plan.rungs {
            let mp4Key = ObjectKeys.mp4(videoID: id, height: rung.spec.shortSide)
            guard let mp4 = stored[mp4Key] else { throw .transient("the \(rung.name) MP4 was not stored (\(mp4Key))") }
            let playlistKey = ObjectKeys.hlsPlaylist(videoID: id, height: rung.spec.shortSide)
            let duration = result.source.duration
            let rendition = Rendition(
                videoID: id, height: rung.height, width: rung.width,
                bitrate: duration > 0 ? Int((Double(mp4.size) * 8 / duration).rounded()) : 0,
                sizeBytes: mp4.size, codec: "h264", mp4Key: mp4Key,
                hlsPlaylistKey: stored[playlistKey] != nil ? playlistKey : nil)
            try await database("upsert rendition \(rung.name)", logger: job.logger) { try await store.upsertRendition(rendition, events: webhooks) }
        }
        await playable.settled()
        let dashKey = ObjectKeys.dashManifest(videoID: id)
        let dashManifest = stored[dashKey] != nil ? dashKey : nil
        var retried = false
        let completed = try await database("mark completed", logger: job.logger, retried: &retried) {
            try await store.markCompleted(id: id, dashManifestKey: dashManifest, events: webhooks)
        }
        if !completed {
            let current = try await database("read video", logger: job.logger) { try await store.video(id: id) }
            // A retry after a lost reply (failover) finds the video completed by its first try.
            if !(retried && current?.status == .completed) {
                // Deleted or failed by someone else meanwhile: do not resurrect it.
                if current == nil {
                    _ = try? await context.storage.delete(prefix: ObjectKeys.processedDirectory(videoID: id))
                }
                job.logger.warning("video changed state while processing: not completed")
                return .alreadyFinished
            }
        }
        job.progress.update { t, now in t.completed(now: now) }
        await abortOrphanUploads(videoID: id, logger: job.logger)
        phases.mark("finalize")
        // Where the job's time went: fetch, probe, transcode (outputs uploaded meanwhile), the
        // uploads still running when encoding ended, and rows + completion. The rest of a video's
        // created_at → completed_at is queueing. scripts/bench-pipeline.sh reads these.
        job.logger.log(.info, "outputs recorded", fields: [
            ("rungs", String(result.plan.rungs.count)), ("objects", String(stored.count)),
            ("frames", String(result.framesDecoded)),
        ] + phases.fields + [("transcode_cpu_s", String(format: "%.2f", result.cpu.total))])
        return .completed
    }

    /// Once a video is complete (or failed for good) nothing uploads under its source or
    /// outputs any more: what is still open there is an orphan (`OrphanUploads`).
    func abortOrphanUploads(videoID: String, logger: Logger) async {
        await OrphanUploads.abort(under: [ObjectKeys.sourceDirectory(videoID: videoID), ObjectKeys.processedDirectory(videoID: videoID)],
                                  storage: context.storage, logger: logger)
    }

    /// The `source_url` to fetch first, when the video has one and its source is not stored yet
    /// (a retry after a complete download does not fetch again).
    private func pendingSourceURL(videoID: String, key: String) async throws(StepError) -> String? {
        guard let url = try await database("read source URL", { try await context.store.sourceURL(id: videoID) }) else { return nil }
        do {
            return try await context.storage.head(key: key) == nil ? url : nil
        } catch {
            throw .transient("storage: \(error)")
        }
    }

    /// URL ingest: the body goes straight into storage at `key`, reported as `fetching` progress.
    /// False when the video was deleted meanwhile (its download is then removed, not left behind).
    private func ingest(_ url: String, key: String, job: RunningJob) async throws(StepError) -> Bool {
        let metrics = context.metrics
        let progress = job.progress
        let started = ContinuousClock.now
        let stored: ObjectInfo
        do {
            let (ingest, storage) = (self.ingest, context.storage)
            stored = try await job.cancellable {
                try await ingest.ingest(url, into: storage, key: key) { bytes, total in
                    progress.update { t, now in t.fetching(bytes: bytes, total: total, now: now) }
                }
            }
        } catch SourceIngest.Failure.permanent(let code, let message, let rule) {
            if let rule { metrics.increment(ServiceMetrics.ingestRefused, labels: [("rule", rule)]) }
            throw .badMedia(code, message)
        } catch SourceIngest.Failure.transient(let message) {
            throw .transient(message)
        } catch {
            try job.checkCancelled()
            throw .transient("source_url: \(error)")
        }
        metrics.increment(ServiceMetrics.ingestBytes, by: Double(stored.size))
        job.logger.info("source fetched", ["bytes": String(stored.size), "seconds": String(describing: ContinuousClock.now - started)])
        let id = job.message.videoID
        if try await database("read video", { try await context.store.video(id: id) }) == nil {
            _ = try? await context.storage.delete(prefix: ObjectKeys.sourceDirectory(videoID: id))
            return false
        }
        return true
    }

    /// Segments listed by each media playlist of the video already in the bucket, by key.
    private func storedPlaylistFloor(videoID: String) async throws(StepError) -> [String: Int] {
        do {
            let playlists = try await context.storage.storedMediaPlaylists(videoID: videoID)
            return Dictionary(playlists.map { ($0.key, MediaPlaylistText.segmentCount($0.text)) }, uniquingKeysWith: max)
        } catch {
            throw .transient("storage (reading the playlists an earlier attempt published): \(error)")
        }
    }

    /// The source as a local file: the file backend's own path, or a copy made with ranged GETs.
    private func fetchSource(key: String, into directory: String, job: RunningJob) async throws(StepError) -> String {
        let storage = context.storage
        let head: ObjectInfo?
        do { head = try await storage.head(key: key) } catch { throw .transient("storage: \(error)") }
        // Missing is retried: an upload may still be completing (or a replica lagging); after the
        // last attempt the job is dead-lettered with this reason.
        guard let head else { throw .transient("source object not found: \(key)") }
        if let files = storage as? FileStorage {
            do { return try files.path(for: key) } catch { throw .transient("\(error)") }
        }
        let name = ObjectKeys.sanitizeFileName(String(key.split(separator: "/").last ?? "source"))
        let path = directory + "/source-" + name
        let fd: Int32
        do {
            fd = try await OffThread.io { () throws(StorageError) -> Int32 in
                let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
                guard fd >= 0 else { throw FileStorage.ioError("open", path) }
                return fd
            }
        } catch {
            throw .transient("\(error)")
        }
        defer { close(fd) }  // a close of a regular file does not wait
        var offset: Int64 = 0
        while offset < head.size {
            try job.checkCancelled()
            let end = min(head.size, offset + downloadChunk) - 1
            let bytes: [UInt8]
            do { bytes = try await storage.get(key: key, range: offset...end) } catch { throw .transient("download of \(key): \(error)") }
            guard !bytes.isEmpty else { throw .transient("download of \(key): empty range \(offset)-\(end)") }
            do {
                try await OffThread.io { try FileStorage.writeAll(fd, bytes[...], path: path) }
            } catch {
                throw .transient("\(error)")
            }
            offset += Int64(bytes.count)
        }
        return path
    }

    /// How long a job waits for PostgreSQL to come back (a failover: the primary stopped, a
    /// standby being promoted) before its attempt fails and is retried after the lease.
    static let databaseOutageBudget = Duration.seconds(30)

    private func database<T: Sendable>(_ what: String, logger: Logger? = nil, _ body: () async throws -> T) async throws(StepError) -> T {
        var retried = false
        return try await database(what, logger: logger, retried: &retried, body)
    }

    /// Runs one store call; while PostgreSQL is unavailable (`TransientFailure`), retries it with
    /// backoff for up to `databaseOutageBudget`, so a failover costs the job a pause, not an
    /// attempt. Every statement is safe to repeat (upserts, guarded updates), except that a
    /// repeated `markProcessing` whose first reply was lost counts one attempt more.
    private func database<T: Sendable>(_ what: String, logger: Logger?, retried: inout Bool,
                                       _ body: () async throws -> T) async throws(StepError) -> T {
        let deadline = ContinuousClock.now + Self.databaseOutageBudget
        var delay = Duration.milliseconds(100)
        while true {
            do { return try await body() } catch {
                guard TransientFailure.isTransient(error), ContinuousClock.now + delay < deadline,
                      (try? await EventLoop.shared.sleep(for: delay)) != nil else {
                    let kind = TransientFailure.isTransient(error) ? "PostgreSQL unavailable" : "database"
                    throw .transient("\(kind) (\(what)): \(error)")
                }
                if !retried { logger?.warning("database unavailable; retrying", ["step": what, "error": "\(error)"]) }
                retried = true
                delay = min(delay * 2, .seconds(2))
            }
        }
    }

    /// Problems of the file itself fail the video at once; anything else is retried.
    static func classify(_ error: TranscodeError, localPath: String, sourceKey: String) -> StepError {
        let message = error.description.replacing(localPath, with: sourceKey)
        switch error {
        case .emptyFile: return .badMedia(.emptyFile, message)
        case .notMedia: return .badMedia(.notMedia, message)
        case .truncated: return .badMedia(.truncated, message)
        case .corrupt: return .badMedia(.corrupt, message)
        case .noVideoStream, .noMediaStreams: return .badMedia(.noVideoStream, message)
        case .unsupportedCodec: return .badMedia(.unsupportedCodec, message)
        case .limitExceeded: return .badMedia(.limitExceeded, message)
        case .undecodable: return .badMedia(.undecodable, message)
        case .cancelled:
            return .cancelled
        case .fileNotFound, .libav, .output, .invalidOptions:
            return .transient(message)
        }
    }
}

/// Milliseconds spent in each step of a job, for the completion log.
struct PhaseClock {
    private var last = ContinuousClock.now
    private var phases: [(String, Duration)] = []

    mutating func mark(_ name: String) {
        let now = ContinuousClock.now
        phases.append((name, now - last))
        last = now
    }

    /// `<step>_ms` for each step, then `job_ms`: their sum.
    var fields: [(String, String)] {
        func ms(_ d: Duration) -> String { String(d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000) }
        let total = phases.reduce(Duration.zero) { $0 + $1.1 }
        return phases.map { ("\($0.0)_ms", ms($0.1)) } + [("job_ms", ms(total))]
    }
}
