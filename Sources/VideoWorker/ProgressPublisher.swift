import VideoCore
import Reactor
import Synchronization

/// A job's progress: one `ProgressTracker` updated from any thread (transcoder callbacks, upload
/// tasks, the job's own steps), and one task that publishes the events it returns — in the order
/// they were made — with `JobQueue.publish` (the `progress:{id}` key and both channels).
///
/// Progress is informative: a failed publish is logged (once) and never fails the job.
final class ProgressPublisher: Sendable {
    private let tracker: Mutex<ProgressTracker>
    private let continuation: AsyncStream<ProgressEvent>.Continuation
    private let task: Task<Void, Never>
    private let origin = ContinuousClock.now

    init(videoID: String, queue: JobQueue, logger: Logger, interval: Duration = .milliseconds(500)) {
        tracker = Mutex(ProgressTracker(videoID: videoID, interval: interval))
        let (events, continuation) = AsyncStream.makeStream(of: ProgressEvent.self)
        self.continuation = continuation
        task = Task(executorPreference: EventLoop.shared) {
            var warned = false
            for await event in events {
                do {
                    try await queue.publish(event)
                } catch {
                    if !warned { logger.warning("cannot publish progress", ["error": "\(error)"]) }
                    warned = true
                }
            }
        }
    }

    /// Applies `body` to the tracker; the event it returns (if any) is published after every
    /// earlier one.
    func update(_ body: (inout ProgressTracker, Duration) -> ProgressEvent?) {
        tracker.withLock { t in
            if let event = body(&t, ContinuousClock.now - origin) { continuation.yield(event) }
        }
    }

    /// An event made from the tracker but not queued (the worker publishes the final `failed`
    /// event itself, once the database says so).
    func event(_ body: (inout ProgressTracker, Duration) -> ProgressEvent) -> ProgressEvent {
        tracker.withLock { t in body(&t, ContinuousClock.now - origin) }
    }

    /// Publishes what is queued, then returns; later updates are dropped.
    func finish() async {
        continuation.finish()
        await task.value
    }
}
