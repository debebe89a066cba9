import VideoCore
import Reactor

/// What a refused submission stored goes, even when the storage is failing right then.
///
/// A failed upload is not proof that nothing was stored: S3 may have written the object and only
/// its answer was lost (a reset after the write), and the client's retries then failed. Nothing
/// refers to a refused submission's `source/{id}/`, so it is deleted (and its orphan uploads
/// aborted, `OrphanUploads`) — in the background, so the
/// client gets its answer at once, and again with backoff while the storage keeps failing (it
/// usually fails for the same reason the upload did). A deletion that never succeeds is logged
/// with the prefix, for an operator to remove.
extension APIHandlers {
    /// Pauses before each deletion attempt: about two minutes in all.
    static let unreferencedUploadRetryDelays: [Duration] = [.zero, .seconds(1), .seconds(2), .seconds(4), .seconds(8),
                                                           .seconds(15), .seconds(30), .seconds(30), .seconds(30)]

    func removeUnreferencedUpload(videoID: String) {
        let prefix = ObjectKeys.sourceDirectory(videoID: videoID)
        let storage = self.storage
        let logger = context.logger.with("video_id", videoID)
        Task(executorPreference: EventLoop.shared) {
            var failure: (any Error)?
            var objectsGone = false
            for delay in Self.unreferencedUploadRetryDelays {
                if delay > .zero { try? await EventLoop.shared.sleep(for: delay) }
                do {
                    if !objectsGone {
                        if try await storage.delete(prefix: prefix) > 0 {
                            logger.info("removed the upload of a refused submission", ["prefix": prefix])
                        }
                        objectsGone = true
                    }
                    // Retried like the objects: the storage failing now is likely why the upload
                    // failed, and may be what lost a CreateMultipartUpload's answer.
                    if try await storage.abortUnfinishedUploads(prefix: prefix) > 0 {
                        logger.info("aborted orphan uploads of a refused submission", ["prefix": prefix])
                    }
                    return
                } catch StorageError.backend(let message) where objectsGone {
                    OrphanUploads.refused(prefix: prefix, message, logger: logger)  // refused, not failing
                    return
                } catch {
                    failure = error
                }
            }
            logger.warning("could not remove the upload of a refused submission: remove it by hand",
                           ["prefix": prefix, "error": "\(failure.map { "\($0)" } ?? "")"])
        }
    }
}
