import VideoCore

/// The HTTP API's routes: the table the server dispatches on and `/openapi.json` is built from,
/// so the document cannot drift from what is served.
public struct APIRoute: Sendable, Equatable, Hashable {
    public enum Handler: String, Sendable, CaseIterable {
        case submitJob, listVideos, getVideo, updateVideo, deleteVideo, retryVideo, progressOne, progressAll
        case healthz, readyz, metrics, openAPI, media
        case tusOptions, tusCreate, tusHead, tusAppend, tusTerminate
        case createWebhook, listWebhooks, webhookDeliveries, deleteWebhook
    }

    public var method: String
    /// `/videos/{id}`; a final `{path}` matches the rest of the path, slashes included.
    public var path: String
    public var handler: Handler
    public var summary: String
    /// Mutating routes need `Authorization: Bearer …` when API tokens are configured.
    public var mutating: Bool
    public var successStatus: Int
    /// `application/json`, `text/event-stream`, `text/plain; version=0.0.4`, or `*/*` for media.
    public var contentType: String

    /// Reads that need a token too when tokens are configured: webhook endpoints expose URLs.
    public static let tokenOnlyReads: Set<Handler> = [.listWebhooks, .webhookDeliveries]

    /// Whether `Authorization: Bearer …` is required (when API tokens are configured).
    public var needsToken: Bool { mutating || Self.tokenOnlyReads.contains(handler) }

    public var parameterNames: [String] {
        path.split(separator: "/").filter { $0.hasPrefix("{") && $0.hasSuffix("}") }.map { String($0.dropFirst().dropLast()) }
    }
}

public enum RouteMatch: Sendable, Equatable {
    case found(APIRoute, parameters: [String: String])
    /// The path exists with other methods (405 with an `Allow` header).
    case methodNotAllowed(allowed: [String])
    case notFound
}

public enum APIRoutes {
    public static let all: [APIRoute] = [
        APIRoute(method: "POST", path: "/jobs", handler: .submitJob, summary: "Submit a video: JSON for a stored object or a source_url to fetch, a raw upload, or multipart/form-data with a file field", mutating: true, successStatus: 202, contentType: "application/json"),
        APIRoute(method: "GET", path: "/videos", handler: .listVideos, summary: "List videos, newest first", mutating: false, successStatus: 200, contentType: "application/json"),
        APIRoute(method: "GET", path: "/videos/{id}", handler: .getVideo, summary: "A video with its renditions, playable URLs and latest progress", mutating: false, successStatus: 200, contentType: "application/json"),
        APIRoute(method: "PATCH", path: "/videos/{id}", handler: .updateVideo, summary: "Change a video's title or visibility (a JSON object of the fields to change)", mutating: true, successStatus: 200, contentType: "application/json"),
        APIRoute(method: "DELETE", path: "/videos/{id}", handler: .deleteVideo, summary: "Delete a video, its rows and its objects", mutating: true, successStatus: 204, contentType: "application/json"),
        APIRoute(method: "POST", path: "/videos/{id}/retry", handler: .retryVideo, summary: "Queue a failed video again", mutating: true, successStatus: 202, contentType: "application/json"),
        APIRoute(method: "GET", path: "/progress/{id}", handler: .progressOne, summary: "Server-sent events: the current snapshot, then every update until completed or failed", mutating: false, successStatus: 200, contentType: "text/event-stream"),
        APIRoute(method: "GET", path: "/progress", handler: .progressAll, summary: "Server-sent events for all videos", mutating: false, successStatus: 200, contentType: "text/event-stream"),
        APIRoute(method: "GET", path: "/healthz", handler: .healthz, summary: "Liveness", mutating: false, successStatus: 200, contentType: "application/json"),
        APIRoute(method: "GET", path: "/readyz", handler: .readyz, summary: "Readiness: Redis, PostgreSQL and storage reachable", mutating: false, successStatus: 200, contentType: "application/json"),
        APIRoute(method: "GET", path: "/metrics", handler: .metrics, summary: "Prometheus metrics", mutating: false, successStatus: 200, contentType: "text/plain; version=0.0.4"),
        APIRoute(method: "GET", path: "/openapi.json", handler: .openAPI, summary: "This API, described (OpenAPI 3.1)", mutating: false, successStatus: 200, contentType: "application/json"),
        APIRoute(method: "GET", path: "/media/{id}/{path}", handler: .media, summary: "An output file: served with Range support (file storage) or redirected to a presigned URL (S3)", mutating: false, successStatus: 200, contentType: "*/*"),
        // tus 1.0 resumable uploads (TusProtocol): a finished upload becomes a video as POST /jobs makes one.
        APIRoute(method: "OPTIONS", path: "/uploads", handler: .tusOptions, summary: "tus: the server's tus versions, extensions, maximum size and checksum algorithms", mutating: false, successStatus: 204, contentType: "application/json"),
        APIRoute(method: "POST", path: "/uploads", handler: .tusCreate, summary: "tus creation: start a resumable upload (Upload-Length or Upload-Defer-Length: 1, Upload-Metadata filename/title; may carry the first bytes)", mutating: true, successStatus: 201, contentType: "application/json"),
        APIRoute(method: "HEAD", path: "/uploads/{id}", handler: .tusHead, summary: "tus: the upload's offset (where to resume), length, metadata and expiry", mutating: false, successStatus: 200, contentType: "application/json"),
        APIRoute(method: "PATCH", path: "/uploads/{id}", handler: .tusAppend, summary: "tus: append application/offset+octet-stream bytes at Upload-Offset (optional Upload-Checksum)", mutating: true, successStatus: 204, contentType: "application/json"),
        APIRoute(method: "DELETE", path: "/uploads/{id}", handler: .tusTerminate, summary: "tus termination: discard an unfinished upload", mutating: true, successStatus: 204, contentType: "application/json"),
        // delivery: webhooks (issue 17).
        APIRoute(method: "POST", path: "/webhooks", handler: .createWebhook, summary: "Add a webhook endpoint: {\"url\", \"events\"?}; answers its id and signing secret (shown once)", mutating: true, successStatus: 201, contentType: "application/json"),
        APIRoute(method: "GET", path: "/webhooks", handler: .listWebhooks, summary: "The webhook endpoints (without their secrets)", mutating: false, successStatus: 200, contentType: "application/json"),
        APIRoute(method: "GET", path: "/webhooks/{id}/deliveries", handler: .webhookDeliveries, summary: "An endpoint's deliveries, newest first, each with every attempt", mutating: false, successStatus: 200, contentType: "application/json"),
        APIRoute(method: "DELETE", path: "/webhooks/{id}", handler: .deleteWebhook, summary: "Remove a webhook endpoint and its deliveries", mutating: true, successStatus: 204, contentType: "application/json"),
        APIRoute(method: "OPTIONS", path: "/uploads/{id}", handler: .tusOptions, summary: "tus: the server's tus versions, extensions, maximum size and checksum algorithms", mutating: false, successStatus: 204, contentType: "application/json"),
    ]

    /// Matches a request path (without the query string). Parameters are percent-decoded.
    public static func match(method: String, path: String, routes: [APIRoute] = all) -> RouteMatch {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard path.hasPrefix("/") else { return .notFound }
        var allowed: [String] = []
        for route in routes {
            guard let params = bind(route.path, segments) else { continue }
            if route.method == method || (method == "HEAD" && route.method == "GET") {
                return .found(route, parameters: params)
            }
            allowed.append(route.method)
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed)
    }

    private static func bind(_ template: String, _ segments: ArraySlice<Substring>) -> [String: String]? {
        let parts = template.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        var params: [String: String] = [:]
        var s = segments.startIndex
        for (i, part) in zip(parts.indices, parts) {
            let isLast = i == parts.index(before: parts.endIndex)
            if part == "{path}" && isLast {
                guard s < segments.endIndex else { return nil }
                let rest = segments[s...]
                guard !rest.contains(where: \.isEmpty) else { return nil }
                params["path"] = rest.map { QueryString.percentDecodePath($0) }.joined(separator: "/")
                return params
            }
            guard s < segments.endIndex else { return nil }
            let segment = segments[s]
            if part.hasPrefix("{") && part.hasSuffix("}") {
                guard !segment.isEmpty else { return nil }
                params[String(part.dropFirst().dropLast())] = QueryString.percentDecodePath(segment)
            } else if part != segment {
                return nil
            }
            s += 1
        }
        return s == segments.endIndex ? params : nil
    }
}

extension QueryString {
    /// Path segments: `%XX` decoded, `+` kept (it is only a space in query strings).
    static func percentDecodePath(_ s: some StringProtocol) -> String {
        percentDecode(String(s).replacing("+", with: "%2B"))
    }
}
