import PGWire
import Reactor
import RESP

/// Finishes enqueues that failed: every vidd process (API or worker) runs one. Each pass takes the
/// `queued` rows with no recorded enqueue that are older than `delay` (younger ones may still be
/// in their API's hands), locked with SKIP LOCKED so reconcilers running at once share the work
/// instead of repeating it, and enqueues each (`EnqueueOutbox`'s rule: a live snapshot only
/// repairs the mark). A pass stops at the first Redis failure; what it did not finish is rolled
/// back and found again by the next pass.
public struct EnqueueReconciler: Sendable {
    public struct Options: Sendable {
        /// A row younger than this is left to the API that is recording it.
        public var delay: Duration = .seconds(30)
        /// Between passes.
        public var interval: Duration = .seconds(15)
        /// Rows per pass (the rest waits for the next one).
        public var batch = 100
        /// Longest each Redis command of a pass may take.
        public var redisTimeout: Duration = .seconds(5)
        public init() {}
    }

    let context: ServiceContext
    let options: Options
    let outbox: EnqueueOutbox

    public init(context: ServiceContext, options: Options = Options()) {
        self.context = context
        self.options = options
        self.outbox = EnqueueOutbox(context: context)
    }

    /// One pass; the ids it enqueued (those only repaired are not listed).
    @discardableResult
    public func reconcileOnce() async throws -> [String] {
        let outbox = self.outbox
        let delay = String(options.delay.wholeMilliseconds)
        let timeout = RESPTimeout.after(options.redisTimeout)
        let logger = context.logger
        return try await context.store.db.inTransaction { tx in
            let rows = try await tx.query(SQL.lockPendingEnqueues, [delay, String(options.batch)])
            var enqueued: [String] = []
            for row in rows {
                let video = try Video(row: row)
                let onStream = try await outbox.isOnStream(videoID: video.id, timeout: timeout)
                if !onStream { try await outbox.putOnStream(video, timeout: timeout) }
                _ = try await tx.query(SQL.markEnqueued, [video.id])
                guard !onStream else { continue }
                enqueued.append(video.id)
                logger.with("video_id", video.id).info("enqueued a video whose enqueue had failed")
            }
            return enqueued
        }
    }

    /// Passes every `interval` until the task is cancelled.
    public func run() async {
        while !Task.isCancelled {
            do {
                try await reconcileOnce()
            } catch {
                if Task.isCancelled { return }
                context.logger.log(TransientFailure.isTransient(error) ? .warning : .error,
                                   "finishing failed enqueues failed; trying again later", fields: [("error", "\(error)")])
            }
            guard (try? await EventLoop.shared.sleep(for: options.interval)) != nil else { return }
        }
    }
}
