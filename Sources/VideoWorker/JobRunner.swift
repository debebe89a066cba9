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
        case badMedia(String)
        case transient(String)
        case cancelled
    }

    let context: ServiceContext
    /// Bytes per ranged GET when a source is copied from a remote bucket.
    var downloadChunk: Int64 = 8 << 20

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
        case .failure(.badMedia(let m)): return .failed(.badMedia(m))
        case .failure(.transient(let m)): return .failed(.transient(m))
        }
    }

    private func perform(_ job: RunningJob, in directory: String) async throws(StepError) -> JobOutcome {
        let id = job.message.videoID
        let sourceKey = job.message.sourceKey
        let store = context.store

        guard let attempt = try await database("mark processing", { try await store.markProcessing(id: id) }) else {
            job.logger.info("video already finished or deleted: nothing to do")
            return .alreadyFinished
        }
        job.logger.info("job started", ["attempt": String(attempt), "source_key": sourceKey])
        // An earlier attempt may have made the video playable: its events say so, and its
        // playlists in the bucket are not to be shortened (`OutputUploader.playlistFloor`).
        let playableAt = try await database("read video") { try await store.video(id: id) }?.playableAt
        job.progress.update { t, now in
            t.resumePlayable(at: playableAt)
            return t.started(now: now)
        }
        let playlistFloor = playableAt == nil ? [:] : try await storedPlaylistFloor(videoID: id)
        var phases = PhaseClock()

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
        guard let video = info.video else { throw .badMedia("\(sourceKey): the file has no video stream") }
        try await database("update source metadata") {
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
            t.planned(heights: plan.rungs.map(\.height), totalFrames: video.frameCount > 0 ? video.frameCount : nil,
                      sourceFrameRate: video.frameRate, now: now)
        }

        let progress = job.progress
        let playable = PlayableRecorder(store: store, videoID: id, progress: progress, logger: job.logger)
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
            try await database("upsert rendition \(rung.name)") { try await store.upsertRendition(rendition) }
        }
        await playable.settled()
        let dashKey = ObjectKeys.dashManifest(videoID: id)
        let dashManifest = stored[dashKey] != nil ? dashKey : nil
        guard try await database("mark completed", { try await store.markCompleted(id: id, dashManifestKey: dashManifest) }) else {
            // Deleted or failed by someone else meanwhile: do not resurrect it.
            if try await database("read video", { try await store.video(id: id) }) == nil {
                _ = try? await context.storage.delete(prefix: ObjectKeys.processedDirectory(videoID: id))
            }
            job.logger.warning("video changed state while processing: not completed")
            return .alreadyFinished
        }
        job.progress.update { t, now in t.completed(now: now) }
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

    /// Segments listed by each media playlist of the video already in the bucket, by key.
    private func storedPlaylistFloor(videoID: String) async throws(StepError) -> [String: Int] {
        let storage = context.storage
        do {
            var floor: [String: Int] = [:]
            for object in try await storage.list(prefix: ObjectKeys.processedDirectory(videoID: videoID) + "hls/")
            where object.key.hasSuffix("/index.m3u8") {
                do {
                    floor[object.key] = MediaPlaylistText.segmentCount(String(decoding: try await storage.get(key: object.key), as: UTF8.self))
                } catch StorageError.notFound {
                    continue  // gone since the listing: nothing to protect
                }
            }
            return floor
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

    /// Every database failure is retried (after the lease); an outage is called one, so the log
    /// tells a restarting PostgreSQL from a statement that fails.
    private func database<T: Sendable>(_ what: String, _ body: () async throws -> T) async throws(StepError) -> T {
        do { return try await body() } catch {
            let kind = TransientFailure.isTransient(error) ? "PostgreSQL unavailable" : "database"
            throw .transient("\(kind) (\(what)): \(error)")
        }
    }

    /// Problems of the file itself fail the video at once; anything else is retried.
    static func classify(_ error: TranscodeError, localPath: String, sourceKey: String) -> StepError {
        let message = error.description.replacing(localPath, with: sourceKey)
        switch error {
        case .emptyFile, .notMedia, .truncated, .corrupt, .noVideoStream, .noMediaStreams, .unsupportedCodec,
             .limitExceeded, .undecodable:
            return .badMedia(message)
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
