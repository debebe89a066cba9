// Placeholder until the S3 backend lands (being written on branch s3storage this session).
public struct S3Storage: Storage {
    public init(_ configuration: Configuration) throws {
        throw StorageError.backend("VIDD_STORAGE=s3 is not wired yet")
    }
    public func put(key: String, fromFile path: String, contentType: String?) async throws -> ObjectInfo { fatalError() }
    public func put<Chunks: AsyncSequence & Sendable>(key: String, chunks: Chunks, contentType: String?) async throws -> ObjectInfo
        where Chunks.Element == [UInt8] { fatalError() }
    public func get(key: String, range: ClosedRange<Int64>?) async throws -> [UInt8] { fatalError() }
    public func head(key: String) async throws -> ObjectInfo? { fatalError() }
    public func delete(prefix: String) async throws -> Int { fatalError() }
    public func list(prefix: String) async throws -> [ObjectInfo] { fatalError() }
    public func playableLocation(key: String, expiresIn: Duration) async throws -> PlayableLocation { fatalError() }
    public func checkReachable() async throws { fatalError() }
}
