import VideoCore
import PGWire
import Reactor
import Synchronization

/// Makes a job's video playable once: when the first master playlist is stored (its uploader
/// stores it only after every media playlist and segment it names), the row records
/// `playable_at` and then — never before the database says so — the `playable` progress event
/// goes out. A failure to record it is logged, not fatal: completion makes the video playable
/// anyway.
final class PlayableRecorder: Sendable {
    let store: VideoStore<PGPool>
    let videoID: String
    let progress: ProgressPublisher
    let logger: Logger
    /// `video.ready`, written with `playable_at`.
    let webhooks: WebhookEvents
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(store: VideoStore<PGPool>, videoID: String, progress: ProgressPublisher, logger: Logger, webhooks: WebhookEvents) {
        self.store = store
        self.webhooks = webhooks
        self.videoID = videoID
        self.progress = progress
        self.logger = logger
    }

    /// A master playlist of this job is in the bucket (the first one counts).
    func masterStored() {
        task.withLock { task in
            guard task == nil else { return }
            task = Task(executorPreference: EventLoop.shared) { [self] in
                do {
                    // nil: no longer processing (failed, deleted): nothing to announce.
                    guard let (playableAt, first) = try await store.markPlayable(id: videoID, events: webhooks) else { return }
                    progress.update { t, now in t.playable(at: playableAt, now: now) }
                    logger.info("playable", ["playable_at": playableAt, "first_time": String(first)])
                } catch {
                    logger.warning("cannot record that the video is playable (it will be once completed)", ["error": "\(error)"])
                }
            }
        }
    }

    /// Returns once the recording started by `masterStored` (if any) is done: before completion,
    /// so `playable` is never published after `completed`.
    func settled() async {
        await task.withLock { $0 }?.value
    }
}
