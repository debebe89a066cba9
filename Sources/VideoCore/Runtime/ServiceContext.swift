import PGWire
import RESP

/// Everything the API and the worker share in one process: configuration, logger, metrics and the
/// three backends (PostgreSQL pool, Redis client, object storage). Built once by the daemon.
public final class ServiceContext: Sendable {
    public let configuration: Configuration
    public let logger: Logger
    public let metrics: MetricsRegistry
    public let database: PGPool
    public let store: VideoStore<PGPool>
    public let redis: RESPClient
    public let storage: any Storage

    public init(configuration: Configuration, logger: Logger, metrics: MetricsRegistry,
                database: PGPool, redis: RESPClient, storage: any Storage) {
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        self.database = database
        self.store = VideoStore(db: database)
        self.redis = redis
        self.storage = storage
    }

    /// Connects to nothing yet: pools open connections on first use. Fails on a malformed URL
    /// or an unusable storage directory.
    public static func make(_ configuration: Configuration, logger: Logger) throws -> ServiceContext {
        let metrics = MetricsRegistry()
        ServiceMetrics.registerAll(in: metrics)
        var pg = try PGConfiguration(url: configuration.databaseURL)
        pg.applicationName = pg.applicationName ?? "vidd"
        var poolOptions = PGPool.Options()
        poolOptions.maxConnections = 8
        let redis = try RESPClient(url: configuration.redisURL)
        return ServiceContext(
            configuration: configuration, logger: logger, metrics: metrics,
            database: PGPool(configuration: pg, options: poolOptions), redis: redis,
            storage: try makeStorage(configuration, logger: logger, metrics: metrics))
    }

    /// With `logger` and `metrics`, S3 retries are logged at debug and counted (`S3Storage.retryReporter`).
    public static func makeStorage(_ configuration: Configuration, logger: Logger? = nil, metrics: MetricsRegistry? = nil) throws -> any Storage {
        switch configuration.storage {
        case .file(let directory):
            return try FileStorage(root: directory)
        case .s3:
            let reporter = metrics.map { S3Storage.retryReporter(logger: logger ?? Logger(level: .warning), metrics: $0) }
            return try S3Storage(configuration, onRetry: reporter)
        }
    }

    /// Applies pending migrations (under the advisory lock, over one connection).
    @discardableResult
    public func migrate() async throws -> [Int] {
        try await MigrationRunner().run(on: database)
    }

    public func shutdown() async {
        await database.close()
        await redis.shutdown()
    }
}
