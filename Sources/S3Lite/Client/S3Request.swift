import Reactor

/// A request body. Every kind can be sent again, so every request can be retried: streams of
/// unknown length are cut into parts held in memory before they are sent (see multipart).
enum RequestPayload: Sendable {
    case empty
    /// In memory; `sha256` computed once, reused across retries.
    case bytes([UInt8], sha256: [UInt8]?)
    /// A region of a file, re-read on each attempt; `sha256` computed once, reused across
    /// retries (nil: aws-chunked or unsigned, per the configuration).
    case file(FileHandle, offset: Int64, length: Int64, sha256: [UInt8]? = nil)

    var length: Int64 {
        switch self {
        case .empty: return 0
        case .bytes(let b, _): return Int64(b.count)
        case .file(_, _, let length, _): return length
        }
    }
}

/// One S3 API call before addressing and signing.
struct S3Request: Sendable {
    var operation: String
    var method: String
    var bucket: String?
    /// nil for bucket operations; an object operation always has one (checked by `validate`).
    var key: String?
    var query: [QueryItem] = []
    var headers = HTTPHeaders()
    var payload: RequestPayload = .empty
    /// CopyObject's source object (sent as `x-amz-copy-source`).
    var copySource: (bucket: String, key: String)?
    /// Keys the request carries in its body (DeleteObjects).
    var keysInBody: [String] = []

    /// Refuses names S3 would read otherwise than meant, before anything is signed or sent. Every
    /// request goes through here (`S3Client.execute`, `presignedURL`), so every operation that
    /// takes a key — in the path, the copy source or the body — is held to the same rules:
    /// - a key is not empty: `/bucket/` addresses the bucket itself (GET lists it, HEAD "finds" a
    ///   0-byte object, PUT creates the bucket, DELETE deletes it);
    /// - a key is at most 1024 bytes of UTF-8, S3's limit (a `String` is always valid UTF-8);
    /// - a bucket name is not empty (`/` is the whole service) and has no `/` (it would name an
    ///   object in another bucket).
    func validate() throws(S3ClientError) {
        if let bucket { try Self.check(bucket: bucket, operation) }
        if let key { try Self.check(key: key, operation) }
        if let (sourceBucket, sourceKey) = copySource {
            try Self.check(bucket: sourceBucket, operation)
            try Self.check(key: sourceKey, operation)
        }
        for key in keysInBody { try Self.check(key: key, operation) }
    }

    static let maxKeyBytes = 1024

    private static func check(key: String, _ operation: String) throws(S3ClientError) {
        if key.isEmpty {
            throw .invalidKey(operation: operation, key: key, reason: "the key is empty (the request would address the bucket itself)")
        }
        let length = key.utf8.count
        if length > maxKeyBytes {
            throw .invalidKey(operation: operation, key: String(key.prefix(64)) + "…",
                              reason: "the key is \(length) bytes of UTF-8; S3 allows at most \(maxKeyBytes)")
        }
    }

    private static func check(bucket: String, _ operation: String) throws(S3ClientError) {
        if bucket.isEmpty {
            throw .invalidBucketName(operation: operation, bucket: bucket, reason: "the name is empty (the request would address the whole service)")
        }
        if bucket.contains("/") {
            throw .invalidBucketName(operation: operation, bucket: bucket, reason: "the name contains '/' (the request would address an object)")
        }
    }
}

/// The streamed body of a successful response; valid only inside the handler it is passed to.
public final class S3ResponseBody: @unchecked Sendable {
    // @unchecked: used only by the task running the handler (see HTTPClientConnection).
    let connection: HTTPClientConnection
    private(set) var finished = false

    init(connection: HTTPClientConnection) { self.connection = connection }

    /// The next piece of the body, nil at its end.
    public func next() async throws -> [UInt8]? {
        if finished { return nil }
        guard let part = try await connection.nextPart() else { return nil }
        switch part {
        case .body(let bytes): return bytes
        case .end: finished = true; return nil
        case .head: throw HTTPMessageError.unexpectedData
        }
    }

    /// The whole body, refusing more than `limit` bytes (XML documents, small objects).
    public func collect(limit: Int = 16 * 1024 * 1024) async throws -> [UInt8] {
        var out = [UInt8]()
        while let chunk = try await next() {
            out += chunk
            if out.count > limit { throw S3ClientError.invalidResponse(operation: "read", reason: "body larger than \(limit) bytes") }
        }
        return out
    }
}
