import VideoCore
import HTTPServer
import Reactor

/// The HTTP API (`vidd serve`): `APIRoutes.all` served over HTTPServer on
/// `configuration.listen`, plus the web page at `/`.
///
///     let api = try await APIService.start(context: context, version: "1.0.0")
///     // on SIGTERM:
///     await api.shutdown(grace: context.configuration.shutdownGrace)
public final class APIService: Sendable {
    public struct Options: Sendable {
        /// A comment line goes out on a progress stream idle this long.
        public var heartbeat: Duration = .seconds(15)
        /// Lifetime of the presigned URLs `/media` redirects to (S3 storage).
        public var presignExpiry: Duration = .seconds(3600)
        /// `retry:` sent first on every progress stream: how long EventSource waits to reconnect.
        public var reconnectDelay: Duration = .seconds(2)
        /// Header, idle and write-stall timeouts (the body timeout is `VIDD_BODY_TIMEOUT_SECONDS`).
        public var timeouts = HTTPTimeouts()
        /// Longest each `/readyz` check may take before it counts as failed.
        public var readinessTimeout: Duration = .seconds(2)
        /// Longest `GET /videos/{id}` waits for the progress snapshot (Redis) before it answers
        /// from PostgreSQL alone, with `progress: null` and `X-Progress-Unavailable`.
        public var progressBudget: Duration = .milliseconds(500)
        /// Longest a submission waits for its enqueue (Redis) before it answers 503; the row is
        /// recorded, and the outbox enqueues it later (`EnqueueReconciler`).
        public var enqueueBudget: Duration = .seconds(2)
        /// How often this instance sweeps tus uploads (expired ones aborted and forgotten).
        public var uploadSweepInterval: Duration = .seconds(60)
        /// A full upload left unfinished this long (its own request failed to finish it) is
        /// finished by the sweep.
        public var uploadFinishRetryAfter: Duration = .seconds(30)
        /// Tests only: runs after a progress stream has subscribed and before it reads the
        /// snapshot, so a test can publish exactly in the window the ordering has to cover.
        var afterSubscribe: (@Sendable (_ videoID: String?) async -> Void)?

        public init() {}
    }

    let server: HTTPServer
    let handlers: APIHandlers
    let sweeper: UploadSweeper

    public var port: Int { server.port }

    private init(server: HTTPServer, handlers: APIHandlers, sweeper: UploadSweeper) {
        self.server = server
        self.handlers = handlers
        self.sweeper = sweeper
    }

    /// Listens on `context.configuration.listen` (port 0 picks a free port: see `port`).
    public static func start(context: ServiceContext, version: String) async throws -> APIService {
        try await start(context: context, version: version, options: Options())
    }

    public static func start(context: ServiceContext, version: String, options: Options) async throws -> APIService {
        ServiceMetrics.registerAll(in: context.metrics)
        let handlers = APIHandlers(context: context, version: version, options: options)
        // The worker creates the group too; whichever starts first wins. Redis being down now
        // must not keep the API from starting: /readyz reports it, and XADD creates the stream.
        do {
            try await handlers.queue.ensureGroup()
        } catch {
            context.logger.warning("could not create the consumer group; workers will", ["error": "\(error)"])
        }
        let listen = context.configuration.listen
        var configuration = HTTPServer.Configuration(host: listen.host, port: listen.port)
        configuration.timeouts = options.timeouts
        // A body that stalls (its client gone quiet mid-upload) is cut off, and an upload is
        // refused above the limit: from Content-Length before `100 Continue`, or as it streams.
        configuration.timeouts.bodyProgress = context.configuration.bodyTimeout
        configuration.limits.maxStreamedBodyBytes = Int(clamping: context.configuration.maxUploadBytes)
        configuration.eventLoops = context.configuration.httpEventLoops
        let server = try await HTTPServer.start(configuration, responder: APIResponder(handlers: handlers))
        handlers.progressStreams.follow(context.redis.pubSub)
        context.logger.info("API listening", ["address": "\(listen.host):\(server.port)"])
        let sweeper = UploadSweeper(handlers: handlers, interval: options.uploadSweepInterval)
        return APIService(server: server, handlers: handlers, sweeper: sweeper)
    }

    /// Stops accepting connections, ends every progress stream (their clients reconnect to
    /// another instance), lets in-flight requests finish within `grace`, then returns.
    public func shutdown(grace: Duration) async {
        await handlers.progressStreams.endAll()
        await sweeper.stop()
        await server.shutdown(gracePeriod: grace)
        handlers.context.logger.info("API stopped")
    }
}
