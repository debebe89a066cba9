import Reactor

/// Where a resumable (tus) upload stands. `completed`: every byte arrived, the object exists and
/// the video is recorded. `expired` and `terminated` rows are tombstones (answered with 410) kept
/// for a while after their storage was released.
public enum ResumableUploadStatus: String, Sendable, CaseIterable {
    case uploading, completed, expired, terminated
}

/// One resumable upload as PostgreSQL keeps it (`tus_uploads`): everything an API instance needs
/// to continue it, so a restart or another instance can take the next request.
public struct ResumableUpload: Sendable, Equatable {
    /// Also the id of the video it becomes.
    public var id: String
    public var status: ResumableUploadStatus
    /// nil while deferred (`Upload-Defer-Length: 1`).
    public var length: Int64?
    /// Bytes stored and counted: every byte below it is durable (in parts, the tail or the file).
    public var offset: Int64
    /// `Upload-Metadata` as the client sent it ("" for none).
    public var metadata: String
    public var filename: String
    public var title: String?
    public var contentType: String?
    /// The object it becomes (`source/{id}/{filename}`).
    public var objectKey: String
    /// The backend's handle: the S3 multipart upload id, or the partial file's name.
    public var storageHandle: String
    /// S3: every part but the last has exactly this size; file: bytes written per flush.
    public var partSize: Int
    /// Bytes in recorded parts (S3). `offset - partsBytes` bytes wait in the tail (`tus_upload_tail`).
    public var partsBytes: Int64
    /// Seconds since 1970: unfinished uploads are swept after it; finished ones forgotten.
    public var expiresAt: Int64
    /// The storage of an expired or terminated upload was released (aborted / removed).
    public var released: Bool

    public init(id: String, status: ResumableUploadStatus, length: Int64?, offset: Int64, metadata: String, filename: String,
                title: String?, contentType: String?, objectKey: String, storageHandle: String, partSize: Int,
                partsBytes: Int64, expiresAt: Int64, released: Bool) {
        self.id = id
        self.status = status
        self.length = length
        self.offset = offset
        self.metadata = metadata
        self.filename = filename
        self.title = title
        self.contentType = contentType
        self.objectKey = objectKey
        self.storageHandle = storageHandle
        self.partSize = partSize
        self.partsBytes = partsBytes
        self.expiresAt = expiresAt
        self.released = released
    }

    /// Bytes held in PostgreSQL because they do not yet make a whole part (S3 only).
    public var tailLength: Int64 { offset - partsBytes }
    /// Every byte arrived (the object may still be being assembled: see `status`).
    public var isFull: Bool { length == offset }
}

/// A request body's `Upload-Checksum`: verified once the body is in, before anything is counted.
public struct UploadChecksum: Sendable, Equatable {
    public var algorithm: Crypto.Digest.Algorithm
    public var digest: [UInt8]

    public init(algorithm: Crypto.Digest.Algorithm, digest: [UInt8]) {
        self.algorithm = algorithm
        self.digest = digest
    }
}
