import Foundation
import PGWire
import RESP
import S3Lite
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

/// One APIService in-process for one test, on the real Redis and PostgreSQL of
/// `scripts/services.sh`: its own PG schema (migrated), its own Redis key names (a unique prefix
/// on every stream, key and channel), file storage in its own temporary directory, and a port
/// picked by the kernel. Clients talk to it over real sockets.
struct APITestEnvironment: Sendable {
    let name: String
    let context: ServiceContext
    let service: APIService
    let database: TestDatabase
    let storageRoot: String
    let logs: LogSink
    /// With S3 storage: the raw client and the test's bucket, to look behind the storage's back.
    var s3: (client: S3Client, bucket: String)? = nil

    var client: TestHTTPClient { TestHTTPClient(port: service.port) }
    var port: Int { service.port }
    var store: VideoStore<PGPool> { context.store }
    /// What the store's state changes take to record their webhook events, as the service makes it.
    var webhookEvents: WebhookEvents { WebhookEvents(configuration: context.configuration) }
    var storage: any Storage { context.storage }
    var redis: RESPClient { context.redis }
    var keys: Configuration.KeyNames { context.configuration.keys }
    var queue: JobQueue { JobQueue(context: context, consumer: "test") }

    /// nil (and a loud skip) when the services are not running locally; a failure in CI.
    static func with(
        _ name: String, tokens: [String] = [], options: APIService.Options = APIService.Options(),
        redisURL overrideRedisURL: String? = nil, postgresURL overridePostgresURL: String? = nil,
        storage kind: StorageBackendKind = .file,
        wrapFileStorage: (FileStorage) -> any Storage = { $0 },
        configure: (inout Configuration) -> Void = { _ in },
        _ body: (APITestEnvironment) async throws -> Void
    ) async throws {
        guard let redisURL = try TestServices.require(TestServices.redisURL, "VIDD_TEST_REDIS_URL"),
              let sharedPostgresURL = try TestServices.require(TestServices.postgresURL, "VIDD_TEST_PG_URL") else { return }
        let pgURL = overridePostgresURL ?? sharedPostgresURL
        var s3: (client: S3Client, bucket: String)?
        if kind == .s3 {
            guard let client = try S3TestServer.client() else { return }
            s3 = (client, try await S3TestServer.makeBucket(client))
        }
        let unique = TestServices.uniqueName("api-" + name)
        let database = try await TestDatabase.fresh(url: pgURL, prefix: unique.replacing("-", with: "_"))
        try await MigrationRunner().run(on: database.pool)

        var configuration = Configuration()
        configuration.listen = .init(host: "127.0.0.1", port: 0)
        configuration.redisURL = overrideRedisURL ?? redisURL
        configuration.databaseURL = pgURL
        configuration.apiTokens = tokens
        configuration.keys.jobStream = "\(unique):jobs"
        configuration.keys.consumerGroup = "\(unique):workers"
        configuration.keys.deadLetterStream = "\(unique):jobs:dead"
        configuration.keys.progressKeyPrefix = "\(unique):progress:"
        configuration.keys.progressChannelPrefix = "\(unique):video:progress:"
        configuration.keys.progressAllChannel = "\(unique):video:progress:all"
        let root = NSTemporaryDirectory() + unique
        configuration.storage = .file(directory: root)
        configure(&configuration)
        let storage: any Storage = if let s3 {
            try S3Storage(client: s3.client, bucket: s3.bucket, keyPrefix: "ns/")
        } else {
            wrapFileStorage(try FileStorage(root: root))
        }

        let logs = LogSink.memory()
        let logger = Logger(level: .debug, redactor: configuration.redactor, sink: logs)
        var redisOptions = RESPPoolOptions()
        redisOptions.waitTimeout = overrideRedisURL == nil ? .seconds(5) : .seconds(1)
        // Named, so a test can find this service's connections in CLIENT LIST (and kill one).
        var redisConfiguration = try RESPConfiguration(url: configuration.redisURL)
        redisConfiguration.clientName = unique.replacing(":", with: "_")
        let redis = RESPClient(configuration: redisConfiguration, options: redisOptions)
        let metrics = MetricsRegistry()
        ServiceMetrics.registerAll(in: metrics)
        let context = ServiceContext(configuration: configuration, logger: logger, metrics: metrics,
                                     database: database.pool, redis: redis, storage: storage)
        let service: APIService
        do {
            service = try await APIService.start(context: context, version: "test", options: options)
        } catch {
            await redis.shutdown()
            await database.drop()
            if let s3 { await S3TestServer.removeBucket(s3.client, s3.bucket) }
            throw error
        }
        let environment = APITestEnvironment(name: unique, context: context, service: service, database: database,
                                             storageRoot: root, logs: logs, s3: s3)
        do {
            try await body(environment)
        } catch {
            await environment.tearDown()
            throw error
        }
        await environment.tearDown()
    }

    func tearDown() async {
        await service.shutdown(grace: .seconds(2))
        if let keys = try? await redis.send("KEYS", "\(name):*").elements?.compactMap(\.string), !keys.isEmpty {
            _ = try? await redis.del(keys)
        }
        await redis.shutdown()
        await database.drop()
        try? FileManager.default.removeItem(atPath: storageRoot)
        if let s3 { await S3TestServer.removeBucket(s3.client, s3.bucket) }
    }

    // MARK: Helpers

    /// Runs `body` against a second API on the same database and storage whose Redis is a closed
    /// port (a Redis outage as the API sees it), then stops that API.
    func withAPIWhoseRedisIsDown<T: Sendable>(_ body: (TestHTTPClient) async throws -> T) async throws -> T {
        var configuration = context.configuration
        configuration.redisURL = "redis://127.0.0.1:\(try FreePorts.one())"
        var redisOptions = RESPPoolOptions()
        redisOptions.waitTimeout = .seconds(2)
        var redisConfiguration = try RESPConfiguration(url: configuration.redisURL)
        redisConfiguration.connectTimeout = .seconds(2)
        let brokenRedis = RESPClient(configuration: redisConfiguration, options: redisOptions)
        let broken = ServiceContext(configuration: configuration, logger: context.logger, metrics: MetricsRegistry(),
                                    database: context.database, redis: brokenRedis, storage: storage)
        let api = try await APIService.start(context: broken, version: "test")
        let result: Result<T, any Error>
        do { result = .success(try await body(TestHTTPClient(port: api.port))) } catch { result = .failure(error) }
        await api.shutdown(grace: .seconds(1))
        await brokenRedis.shutdown()
        return try result.get()
    }

    /// Another API instance on the same database, Redis names and storage, with pools of its own
    /// (as a second vidd behind a load balancer). The caller shuts it down.
    func secondInstance(options: APIService.Options = APIService.Options()) async throws -> APIService {
        let pool = PGPool(configuration: try TestDatabase.configuration(url: database.url, schema: database.schema))
        let redis = try RESPClient(url: context.configuration.redisURL)
        let metrics = MetricsRegistry()
        ServiceMetrics.registerAll(in: metrics)
        let storage: any Storage = if let s3 {
            try S3Storage(client: s3.client, bucket: s3.bucket, keyPrefix: "ns/")
        } else {
            try FileStorage(root: storageRoot)
        }
        let other = ServiceContext(configuration: context.configuration, logger: context.logger.with("instance", "2"),
                                   metrics: metrics, database: pool, redis: redis, storage: storage)
        return try await APIService.start(context: other, version: "test", options: options)
    }

    /// The stream's entries as field maps, oldest first.
    func streamEntries() async throws -> [[String: String]] {
        let reply = try await redis.send("XRANGE", keys.jobStream, "-", "+")
        return (reply.elements ?? []).map { entry in
            let fields = entry.elements?.last?.elements?.compactMap(\.string) ?? []
            var map: [String: String] = [:]
            var i = 0
            while i + 1 < fields.count { map[fields[i]] = fields[i + 1]; i += 2 }
            return map
        }
    }

    func put(_ key: String, _ bytes: [UInt8]) async throws {
        _ = try await storage.put(key: key, chunks: OneChunk(bytes: bytes), contentType: nil)
    }

    /// A video recorded directly through the store (as the worker would leave it).
    func recordVideo(title: String? = nil, status: VideoStatus = .queued, error: String = "boom", failureCode: FailureCode? = nil,
                     originalName: String = "clip.mp4") async throws -> Video {
        let id = VideoID.generate()
        let key = ObjectKeys.source(videoID: id, originalName: originalName)
        _ = try await store.createVideo(id: id, title: title, sourceKey: key, originalName: originalName)
        switch status {
        case .queued: break
        case .processing: _ = try await store.markProcessing(id: id)
        case .completed:
            _ = try await store.markProcessing(id: id)
            _ = try await store.markCompleted(id: id, dashManifestKey: nil, events: webhookEvents)
        case .failed:
            _ = try await store.markProcessing(id: id)
            _ = try await store.markFailed(id: id, message: error, code: failureCode, events: webhookEvents)
        }
        return try await store.video(id: id)!
    }
}

struct OneChunk: AsyncSequence, Sendable {
    typealias Element = [UInt8]
    let bytes: [UInt8]
    struct AsyncIterator: AsyncIteratorProtocol {
        var bytes: [UInt8]?
        mutating func next() async -> [UInt8]? { defer { bytes = nil }; return bytes }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(bytes: bytes) }
}

/// Deterministic bytes that are not all alike (so a misplaced chunk shows).
func patternBytes(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt8(truncatingIfNeeded: state >> 33)
    }
}
