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

    /// Objects whose key starts with `prefix`, sorted by key.
    func list(prefix: String) async throws -> [ObjectInfo]

    /// Where a client fetches `key` from.
    func playableLocation(key: String, expiresIn: Duration) async throws -> PlayableLocation

    /// For `/readyz`: throws when the backend cannot be used.
    func checkReachable() async throws
}

extension Storage {
    public func get(key: String) async throws -> [UInt8] { try await get(key: key, range: nil) }
}
