/// An object's size and last change, as `head` and `list` report it.
public struct ObjectInfo: Sendable, Equatable {
    public var key: String
    public var size: Int64
    /// Seconds since 1970 (UTC).
    public var modified: Int64
    public var contentType: String?

    public init(key: String, size: Int64, modified: Int64, contentType: String? = nil) {
        self.key = key
        self.size = size
        self.modified = modified
        self.contentType = contentType
    }
}

/// How a client gets an output: from this process (local files, with Range support) or from a
/// presigned URL it is redirected to.
public enum PlayableLocation: Sendable, Equatable {
    case localFile(path: String, size: Int64)
    case redirect(url: String, expiresIn: Duration)
}

/// Object storage errors, with what a user needs to act on them.
public enum StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidKey(ObjectKeys.InvalidKey)
    case notFound(key: String)
    case invalidRange(key: String, size: Int64, requested: ClosedRange<Int64>)
    case io(operation: String, path: String, errno: Int32, message: String)
    case backend(String)
    /// The store did not answer, or answered that it cannot serve now (connection refused or
    /// reset, 5xx, SlowDown), after the client's own retries: worth trying again later.
    case unavailable(String)

    public var description: String {
        switch self {
        case .invalidKey(let e): e.description
        case .notFound(let key): "object not found: \(key)"
        case .invalidRange(let key, let size, let r): "range \(r.lowerBound)-\(r.upperBound) outside \(key) (\(size) bytes)"
        case .io(let op, let path, let errno, let message): "\(op) \(path): \(message) (errno \(errno))"
        case .backend(let m), .unavailable(let m): m
        }
    }
}

/// The bucket: one interface over the local directory backend and S3 (via S3Lite).
/// Keys are validated by `ObjectKeys.validate` in every backend.
public protocol Storage: Sendable {
    /// Stores a local file (a finished rendition) under `key`, replacing any previous object.
    func put(key: String, fromFile path: String, contentType: String?) async throws -> ObjectInfo

    /// Stores a stream of chunks (an upload as it arrives). The object appears only once complete.
    func put<Chunks: AsyncSequence & Sendable>(key: String, chunks: Chunks, contentType: String?) async throws -> ObjectInfo
        where Chunks.Element == [UInt8]

    /// Bytes `range` (inclusive) of the object, or all of it.
    func get(key: String, range: ClosedRange<Int64>?) async throws -> [UInt8]

    /// nil when there is no such object.
    func head(key: String) async throws -> ObjectInfo?

    /// Deletes every object whose key starts with `prefix`; returns how many.
    @discardableResult
    func delete(prefix: String) async throws -> Int

    /// Aborts the uploads begun under `prefix` and never completed nor aborted; returns how many.
    /// S3 keeps such an upload's parts (stored and billed, in no listing) until it is aborted: one
    /// is left when a CreateMultipartUpload's answer is lost and the request is sent again, or a
    /// process dies mid-upload. A writer still uploading under `prefix` loses its upload, so call
    /// this only where nothing should be (`OrphanUploads`). The file backend has none (its
    /// unfinished writes are temporary files outside every prefix).
    @discardableResult
    func abortUnfinishedUploads(prefix: String) async throws -> Int

    /// Deletes exactly the object `key` (not others it is a prefix of); nothing when it is absent.
    func delete(key: String) async throws

    /// Objects whose key starts with `prefix`, sorted by key.
    func list(prefix: String) async throws -> [ObjectInfo]

    /// Where a client fetches `key` from.
    func playableLocation(key: String, expiresIn: Duration) async throws -> PlayableLocation

    /// For `/readyz`: throws when the backend cannot be used.
    func checkReachable() async throws

    // MARK: Resumable uploads (tus)
    // These calls keep no state: the upload's offset, parts and tail live in PostgreSQL
    // (`ResumableUploadStore`), so any API instance, or the same one after a restart, continues it.

    /// How this backend takes a resumable upload's bytes.
    var resumableLayout: ResumableLayout { get }

    /// Starts an upload that will become `key`; returns the backend's handle for it (S3: the
    /// multipart upload id; file: the partial file's name).
    func beginResumable(key: String, contentType: String?) async throws -> String

    /// Stores `bytes`, which start at byte `offset` of the upload, durably before returning (S3:
    /// UploadPart as part `partNumber`, returns its ETag; file: written in place and fsync'd,
    /// returns ""). Rewriting a range is allowed (an append that lost a race may have written it).
    func writeResumable(key: String, handle: String, partNumber: Int, offset: Int64, bytes: [UInt8]) async throws -> String

    /// Makes the object `key` of exactly `size` bytes from what was written (S3:
    /// CompleteMultipartUpload with `parts`; file: truncated to `size`, fsync'd and renamed into
    /// place). Idempotent: when an earlier call already made the object (its size is `size`), done.
    func completeResumable(key: String, handle: String, parts: [ResumablePart], size: Int64) async throws -> ObjectInfo

    /// Discards an unfinished upload (S3: AbortMultipartUpload; file: the partial file). Idempotent.
    func abortResumable(key: String, handle: String) async throws
}

/// How a backend stores a resumable upload (see `AppendPlan`).
public enum ResumableLayout: Sendable, Equatable {
    /// Numbered parts assembled at the end (S3 multipart): every part but the last at least
    /// `minimumPartSize`.
    case parts(minimumPartSize: Int)
    /// One file, each byte written at its offset.
    case inPlace
}

/// A stored part of a resumable upload, as PostgreSQL records it.
public struct ResumablePart: Sendable, Equatable {
    public var number: Int
    public var etag: String
    public var size: Int64
    /// Upload offset of its first byte.
    public var offset: Int64

    public init(number: Int, etag: String, size: Int64, offset: Int64) {
        self.number = number
        self.etag = etag
        self.size = size
        self.offset = offset
    }
}

extension Storage {
    public func get(key: String) async throws -> [UInt8] { try await get(key: key, range: nil) }
}
