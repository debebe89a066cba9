import VideoCore

/// A `Storage` that passes every call to `inner`: a test's wrapper implements only what it
/// changes (fails, slows down, checks) and inherits the rest from here.
protocol ForwardingStorage: Storage {
    associatedtype Inner: Storage
    var inner: Inner { get }
}

extension ForwardingStorage {
    func put(key: String, fromFile path: String, contentType: String?) async throws -> ObjectInfo {
        try await inner.put(key: key, fromFile: path, contentType: contentType)
    }
    func put<Chunks: AsyncSequence & Sendable>(key: String, chunks: Chunks, contentType: String?) async throws -> ObjectInfo
        where Chunks.Element == [UInt8] {
        try await inner.put(key: key, chunks: chunks, contentType: contentType)
    }
    func get(key: String, range: ClosedRange<Int64>?) async throws -> [UInt8] { try await inner.get(key: key, range: range) }
    func head(key: String) async throws -> ObjectInfo? { try await inner.head(key: key) }
    func delete(prefix: String) async throws -> Int { try await inner.delete(prefix: prefix) }
    func abortUnfinishedUploads(prefix: String) async throws -> Int { try await inner.abortUnfinishedUploads(prefix: prefix) }
    func delete(key: String) async throws { try await inner.delete(key: key) }
    func list(prefix: String) async throws -> [ObjectInfo] { try await inner.list(prefix: prefix) }
    func playableLocation(key: String, expiresIn: Duration) async throws -> PlayableLocation {
        try await inner.playableLocation(key: key, expiresIn: expiresIn)
    }
    func checkReachable() async throws { try await inner.checkReachable() }
    var resumableLayout: ResumableLayout { inner.resumableLayout }
    func beginResumable(key: String, contentType: String?) async throws -> String {
        try await inner.beginResumable(key: key, contentType: contentType)
    }
    func writeResumable(key: String, handle: String, partNumber: Int, offset: Int64, bytes: [UInt8]) async throws -> String {
        try await inner.writeResumable(key: key, handle: handle, partNumber: partNumber, offset: offset, bytes: bytes)
    }
    func completeResumable(key: String, handle: String, parts: [ResumablePart], size: Int64) async throws -> ObjectInfo {
        try await inner.completeResumable(key: key, handle: handle, parts: parts, size: size)
    }
    func abortResumable(key: String, handle: String) async throws { try await inner.abortResumable(key: key, handle: handle) }
}
