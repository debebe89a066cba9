import VideoCore
import HTTPServer
import PGWire
import Reactor
import RESP

/// The API's handlers and what they share. One instance per `APIService`; the handlers for each
/// group of routes live in the extensions beside this file.
final class APIHandlers: Sendable {
    let context: ServiceContext
    let queue: JobQueue
    let outbox: EnqueueOutbox
    let authorization: BearerAuthorization
    let options: APIService.Options
    let openAPIText: String
    let progressStreams = ProgressStreamRegistry()
    /// tus uploads (`/uploads`): their engine over this process's storage and PostgreSQL pool.
    let uploads: ResumableUploads
    let rateLimiter: RateLimiter
    let webApp: WebApp
    /// Private playback (nil without `VIDD_SIGNING_KEYS`: no video can be made private).
    let signer: MediaSigner?
    /// Videos' visibility for `/media` and the public progress feed (`VisibilityCache`).
    let visibilities: VisibilityCache
    /// `video.deleted` is written with the delete.
    let webhookEvents: WebhookEvents
    let webhooks: WebhookStore<PGPool>

    init(context: ServiceContext, version: String, options: APIService.Options) {
        self.context = context
        // The API only enqueues and reads progress; the consumer name is never used to read.
        self.queue = JobQueue(context: context, consumer: "api")
        self.outbox = EnqueueOutbox(context: context)
        self.authorization = BearerAuthorization(tokens: context.configuration.apiTokens)
        self.options = options
        self.signer = MediaSigner(context.configuration.mediaSigning)
        self.visibilities = VisibilityCache(store: context.store)
        self.webhookEvents = WebhookEvents(configuration: context.configuration)
        self.webhooks = WebhookStore(db: context.database)
        self.openAPIText = OpenAPIDocument.make(version: version).text
        let c = context.configuration
        self.uploads = ResumableUploads(
            storage: context.storage, store: ResumableUploadStore(pool: context.database),
            settings: .init(maxSize: c.tusMaxSize, expiry: c.tusExpiry, partSize: c.tusPartSize), logger: context.logger)
        self.rateLimiter = RateLimiter(redis: context.redis, configuration: context.configuration,
                                       metrics: context.metrics, logger: context.logger)
        self.webApp = WebApp(mediaOrigin: (context.storage as? S3Storage)?.playbackOrigin)
    }

    var store: VideoStore<PGPool> { context.store }
    var storage: any Storage { context.storage }
    var keys: Configuration.KeyNames { context.configuration.keys }

    func handle(_ handler: APIRoute.Handler, _ request: HTTPRequest, _ parameters: [String: String]) async throws -> HTTPResponse {
        switch handler {
        case .submitJob: try await submitJob(request)
        case .listVideos: try await listVideos(request)
        case .getVideo: try await getVideo(request, id: parameters["id"] ?? "")
        case .updateVideo: try await updateVideo(request, id: parameters["id"] ?? "")
        case .deleteVideo: try await deleteVideo(id: parameters["id"] ?? "")
        case .retryVideo: try await retryVideo(id: parameters["id"] ?? "")
        case .progressOne: try await progress(request, videoID: parameters["id"] ?? "")
        case .createWebhook: try await createWebhook(request)
        case .listWebhooks: try await listWebhooks()
        case .webhookDeliveries: try await webhookDeliveries(request, id: parameters["id"] ?? "")
        case .deleteWebhook: try await deleteWebhook(id: parameters["id"] ?? "")
        case .progressAll: try await progress(request, videoID: nil)
        case .healthz: APIResponse.json(["status": "ok"])
        case .readyz: await readiness()
        case .metrics:
            HTTPResponse(status: .ok, headers: ["Content-Type": MetricsRegistry.contentType, "Cache-Control": "no-store"],
                         body: .string(context.metrics.render()))
        case .openAPI: APIResponse.json(text: openAPIText)
        case .media: try await media(request, id: parameters["id"] ?? "", path: parameters["path"] ?? "")
        case .tusOptions: tusOptions()
        case .tusCreate: try await createUpload(request)
        case .tusHead: try await uploadState(request, id: parameters["id"] ?? "")
        case .tusAppend: try await appendToUpload(request, id: parameters["id"] ?? "")
        case .tusTerminate: try await terminateUpload(request, id: parameters["id"] ?? "")
        }
    }

    /// The row of `id`, or a 404 (also for text that is not a UUID, which no video can have).
    /// With `visibleTo`, a private video is a 404 too for a caller without a token: the same
    /// answer as for a video that does not exist, so its existence does not leak.
    func existingVideo(_ rawID: String, visibleTo request: HTTPRequest? = nil) async throws -> Video {
        guard let id = VideoID.normalize(rawID), let video = try await store.video(id: id),
              video.visibility == .public || request.map(callerSeesPrivate) ?? true else {
            throw APIError(.notFound, "no video with id \(RequestText.shown(rawID))")
        }
        return video
    }

    // MARK: Errors

    /// Every failure as `{"error":{"code","message"}}`. Expected refusals keep their message;
    /// anything else is logged (with the video id) and answered with a generic message, so a
    /// backend's error text — which may carry a host name or worse — never reaches a client.
    func errorResponse(_ error: any Error, route: String, method: String, videoID: String?) -> HTTPResponse {
        let apiError: APIError
        switch error {
        case let e as APIError:
            apiError = e
        case let e as RateLimited:
            var response = APIResponse.error(e.error)
            for (name, value) in e.fields.pairs { response.headers[name] = value }
            return response
        case let e as HTTPError:
            // From the request body: over a limit, a broken chunked encoding, a body timeout.
            switch e.status.code {
            case 413 where e.message.hasPrefix(HTTPParseError.Kind.bodyTooLarge.rawValue):
                apiError = APIError(.payloadTooLarge,
                                    "uploads are limited to \(context.configuration.maxUploadBytes) bytes (VIDD_MAX_UPLOAD_BYTES); \(e.message)")
            case 413: apiError = APIError(.payloadTooLarge, e.message)
            case 500...: apiError = .internalError
            default: apiError = APIError(.badRequest, e.message)
            }
        case let e as NetworkError:
            // The client went away or stalled mid-body: its request, not our failure.
            apiError = APIError(.badRequest, "the request body was cut short (\(e))")
        case let e as MultipartParser.ParseError:
            apiError = APIError(.badRequest, e.description)
        case let e as StorageError:
            switch e {
            case .invalidKey(let k): apiError = APIError(.validationFailed, k.description)
            case .notFound(let key): apiError = APIError(.notFound, "object not found: \(key)")
            case .unavailable: apiError = APIError(.unavailable, "storage is unavailable; try again later")
            default: apiError = .internalError
            }
        default:
            if let backend = TransientFailure.backend(of: error) {
                apiError = APIError(.unavailable, "\(backend.rawValue) is unavailable; try again later")
            } else {
                apiError = .internalError
            }
        }
        if apiError.status >= 500 {
            var fields: [(String, String)] = [("method", method), ("route", route), ("error", "\(error)")]
            if let videoID { fields.insert(("video_id", videoID), at: 0) }
            var logger = context.logger
            for (k, v) in fields { logger = logger.with(k, v) }
            // A bug is an error; a backend that is down (503) is already reported by /readyz.
            logger.log(apiError.status == 500 ? .error : .warning, "request failed")
        }
        return APIResponse.error(apiError)
    }

}
