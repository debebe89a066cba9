import Synchronization

/// Where nothing should be uploading any more — a video completed, failed for good or deleted, a
/// refused submission's source — an upload still open is an orphan: S3 made it for a
/// CreateMultipartUpload whose answer was lost (the request sent again made another), and nobody
/// knows its id. Its parts stay stored, and billed, in no listing, until it is aborted.
///
/// Best effort: a failure is logged, never thrown — the change that calls this has happened and
/// must not fail for it. Credentials that may not list multipart uploads
/// (`s3:ListBucketMultipartUploads`) are said once per process, then left to the bucket's
/// lifecycle rule.
public enum OrphanUploads {
    private static let refusalLogged = Atomic<Bool>(false)

    public static func abort(under prefixes: [String], storage: any Storage, logger: Logger) async {
        for prefix in prefixes {
            do {
                let aborted = try await storage.abortUnfinishedUploads(prefix: prefix)
                if aborted > 0 { logger.info("aborted orphan uploads", ["prefix": prefix, "uploads": String(aborted)]) }
            } catch StorageError.backend(let message) {
                refused(prefix: prefix, message, logger: logger)
            } catch {
                logger.warning("cannot look for orphan uploads now", ["prefix": prefix, "error": "\(error)"])
            }
        }
    }

    /// The storage refused to list or abort uploads (credentials, an S3 without the operation):
    /// not worth retrying; said at warning once per process.
    public static func refused(prefix: String, _ message: String, logger: Logger) {
        let first = !refusalLogged.exchange(true, ordering: .relaxed)
        logger.log(first ? .warning : .debug,
                   "cannot look for orphan uploads; the bucket's AbortIncompleteMultipartUpload lifecycle rule must remove them",
                   fields: [("prefix", prefix), ("error", message)])
    }
}
