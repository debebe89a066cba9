import PGWire
import RESP

/// Putting a recorded video's job on the stream, with the row as the durable intent (an outbox):
/// a `queued` row whose enqueue is not recorded (`enqueued_at` NULL) still has to go on the
/// stream — its API answered 503 because Redis was down, or stopped between the two steps —
/// and `EnqueueReconciler` (in every vidd process), a re-submission or `retry` finishes it.
///
/// The entry and the video's `queued` snapshot are written in one MULTI/EXEC, then the row is
/// marked. A live (not final) snapshot without the mark therefore means "enqueued, mark lost":
/// the mark is repaired and nothing is enqueued twice.
public struct EnqueueOutbox: Sendable {
    public let store: VideoStore<PGPool>
    public let queue: JobQueue
    let logger: Logger

    public init(context: ServiceContext) {
        self.store = context.store
        self.queue = JobQueue(context: context, consumer: "outbox")
        self.logger = context.logger
    }

    /// The job message for a recorded video's current run.
    public static func job(for video: Video, at now: String) -> JobMessage {
        JobMessage(videoID: video.id, sourceKey: video.sourceKey, attempt: 1, enqueuedAt: now,
                   title: video.title, originalName: video.originalName)
    }

    /// XADD + the `queued` snapshot (one MULTI/EXEC), then the mark on the row. A failed mark is
    /// only logged: the snapshot tells `needsEnqueue` (and the reconciler) that the entry exists.
    public func enqueue(_ video: Video) async throws {
        try await putOnStream(video)
        do {
            try await store.markEnqueued(id: video.id)
        } catch {
            logger.with("video_id", video.id).warning("enqueued, but not recorded on the row (repaired later from the snapshot)",
                                                      ["error": "\(error)"])
        }
    }

    /// Whether a queued video's job still has to be enqueued (when it is on the stream already,
    /// the lost mark is repaired here).
    public func needsEnqueue(_ video: Video) async throws -> Bool {
        guard video.status == .queued, try await !store.isEnqueueRecorded(id: video.id) else { return false }
        guard try await isOnStream(videoID: video.id) else { return true }
        try await store.markEnqueued(id: video.id)
        return false
    }

    /// The rule for a video whose enqueue is not recorded: a live (not final) snapshot is written
    /// only with the entry (`putOnStream`), so it means "enqueued, mark lost" — the mark is to be
    /// repaired and nothing enqueued again.
    func isOnStream(videoID: String, timeout: RESPTimeout = .default) async throws -> Bool {
        guard let snapshot = try await queue.latestProgress(videoID: videoID, timeout: timeout) else { return false }
        return !snapshot.status.isFinal
    }

    /// XADD + the `queued` snapshot, in one MULTI/EXEC: either both exist or neither does.
    func putOnStream(_ video: Video, timeout: RESPTimeout = .default) async throws {
        let now = Timestamp.now()
        try await queue.enqueueAnnouncingQueued(Self.job(for: video, at: now), event: ProgressEvent(videoID: video.id, status: .queued, timestamp: now),
                                                timeout: timeout, logger: logger.with("video_id", video.id))
    }
}
