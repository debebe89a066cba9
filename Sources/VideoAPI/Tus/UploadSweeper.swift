import VideoCore
import Reactor

/// The upload sweep, every `interval`, in each API process: expired uploads' multipart uploads
/// aborted (or partial files removed) and their rows dropped, and uploads whose bytes all arrived
/// but which were not finished (an outage at the end) finished. Several instances may sweep at
/// once: expiring is one UPDATE per row, releasing and finishing are idempotent.
final class UploadSweeper: Sendable {
    private let task: Task<Void, Never>

    init(handlers: APIHandlers, interval: Duration) {
        task = Task(executorPreference: EventLoop.shared) {
            while !Task.isCancelled {
                do { try await Task.sleep(for: interval) } catch { return }
                _ = await handlers.sweepUploads()
            }
        }
    }

    func stop() async {
        task.cancel()
        await task.value
    }
}

extension APIHandlers {
    /// One sweep (the sweeper's, or a test's).
    func sweepUploads() async -> ResumableUploads.SweepReport {
        var report = await uploads.sweep()
        if !report.expired.isEmpty {
            context.metrics.increment(ServiceMetrics.tusUploads, by: Double(report.expired.count), labels: [("event", "expired")])
            context.logger.info("uploads expired", ["count": String(report.expired.count), "ids": report.expired.joined(separator: ",")])
        }
        do {
            for upload in try await uploads.store.fullButUnfinished(idleFor: options.uploadFinishRetryAfter) {
                do { try await finishUpload(upload) } catch {
                    report.failures.append("\(upload.id): \(error)")
                    context.logger.with("upload_id", upload.id).warning("could not finish a complete upload; will retry", ["error": "\(error)"])
                }
            }
        } catch {
            report.failures.append("\(error)")
        }
        return report
    }
}
