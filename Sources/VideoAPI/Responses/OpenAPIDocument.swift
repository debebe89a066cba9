import VideoCore

/// `GET /openapi.json`: built from `APIRoutes.all`, so every served route is described and
/// nothing else is (a test walks both).
public enum OpenAPIDocument {
    public static func make(routes: [APIRoute] = APIRoutes.all, version: String) -> JSONValue {
        var paths: [(String, JSONValue)] = []
        for route in routes {
            let op = operation(route)
            if let i = paths.firstIndex(where: { $0.0 == route.path }), case .object(var ops) = paths[i].1 {
                ops.append((route.method.lowercased(), op))
                paths[i].1 = .object(ops)
            } else {
                paths.append((route.path, .object([(route.method.lowercased(), op)])))
            }
        }
        return [
            "openapi": "3.1.0",
            "info": ["title": "vidd", "version": .string(version),
                     "description": "Self-hosted video processing: submit, transcode to an MP4 ladder and HLS, follow progress live."],
            "paths": .object(paths),
            "components": ["schemas": schemas, "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer"]]],
        ]
    }

    static func operation(_ route: APIRoute) -> JSONValue {
        var op: [(String, JSONValue)] = [("operationId", .string(route.handler.rawValue)), ("summary", .string(route.summary))]
        var parameters: [JSONValue] = route.parameterNames.map { name in
            ["name": .string(name), "in": "path", "required": true,
             "description": name == "path" ? "Path of the output below processed/{id}/ (may contain slashes)"
                : route.path.hasPrefix(TusProtocol.collectionPath) ? "Upload id (UUID), also the id of the video it becomes" : "Video id (UUID)",
             "schema": name == "id" ? ["type": "string", "format": "uuid"] : ["type": "string"]]
        }
        switch route.handler {
        case .listVideos:
            parameters += [
                query("limit", ["type": "integer", "minimum": 1, "maximum": .integer(PageRequest.maximumLimit), "default": .integer(PageRequest.defaultLimit)]),
                query("offset", ["type": "integer", "minimum": 0, "default": 0]),
                query("status", ["type": "string", "enum": .array(VideoStatus.allCases.map { .string($0.rawValue) })]),
                query("q", ["type": "string", "maxLength": .integer(PageRequest.maximumSearchLength)],
                      "Text the title (or, without one, the file name) contains, case-insensitively; % and _ match themselves"),
            ]
        case .submitJob:
            parameters += [query("name", ["type": "string"], "File name of a raw upload"), query("title", ["type": "string"]),
                           query("visibility", DeliveryOpenAPI.visibility, "Raw and multipart uploads: public (default) or private")]
            op.append(("requestBody", ["required": true, "content": [
                "application/json": ["schema": ref("JobSubmission")],
                "application/octet-stream": ["schema": ["type": "string", "format": "binary"]],
                "video/*": ["schema": ["type": "string", "format": "binary"]],
                "multipart/form-data": ["schema": ["type": "object", "required": ["file"],
                                                   "properties": ["file": ["type": "string", "format": "binary"], "title": ["type": "string"],
                                                                  "visibility": DeliveryOpenAPI.visibility]]],
            ]]))
        case .updateVideo:
            op.append(("requestBody", ["required": true, "content": [
                "application/json": ["schema": ref("VideoUpdate")],
                "application/merge-patch+json": ["schema": ref("VideoUpdate")],
            ]]))
        case .media:
            parameters.append(["name": "Range", "in": "header", "required": false, "schema": ["type": "string"]])
        case .tusOptions, .tusCreate, .tusHead, .tusAppend, .tusTerminate:
            parameters += TusOpenAPI.parameters(route.handler)
            if let body = TusOpenAPI.requestBody(route.handler) { op.append(("requestBody", body)) }
        default:
            break
        }
        parameters += DeliveryOpenAPI.parameters(route.handler)
        if let body = DeliveryOpenAPI.requestBody(route.handler) { op.append(("requestBody", body)) }
        if !parameters.isEmpty { op.append(("parameters", .array(parameters))) }
        if route.needsToken { op.append(("security", [["bearer": []], [:]])) }
        op.append(("responses", responses(route)))
        return .object(op)
    }

    static func responses(_ route: APIRoute) -> JSONValue {
        let success: JSONValue
        switch route.handler {
        case .submitJob, .retryVideo, .updateVideo: success = json(ref("Video"))
        case .getVideo:
            success = ["description": "OK", "content": ["application/json": ["schema": ref("Video")]],
                       "headers": ["X-Progress-Unavailable": [
                           "description": "Present when Redis did not give the progress snapshot in time: `progress` is null, and this says why",
                           "schema": ["type": "string"]]]]
        case .listVideos: success = json(ref("VideoList"))
        case .deleteVideo: success = ["description": "Deleted"]
        case .progressOne, .progressAll:
            success = ["description": "text/event-stream of ProgressEvent JSON (`data:`), each with its event id (`id:`, the Redis stream id; send it back as Last-Event-ID to resume), heartbeat comments, and `event: reset` when a Last-Event-ID could not be honoured",
                       "content": ["text/event-stream": ["schema": ref("ProgressEvent")]]]
        case .metrics: success = ["description": "Prometheus text exposition", "content": ["text/plain": ["schema": ["type": "string"]]]]
        case .openAPI: success = json(["type": "object"])
        case .healthz, .readyz: success = json(["type": "object", "properties": ["status": ["type": "string"]]])
        case .media: success = ["description": "The file (206 for a Range request; playlists and manifests always whole), or 302 to a presigned URL; playlists and manifests are always served here, so their relative URIs resolve to /media. A private video's files need exp and sig (403 otherwise); its playlists come back with every URL signed alike"]
        case .tusOptions, .tusCreate, .tusHead, .tusAppend, .tusTerminate: success = TusOpenAPI.success(route.handler)
        case .createWebhook, .listWebhooks, .webhookDeliveries, .deleteWebhook:
            success = DeliveryOpenAPI.success(route.handler) ?? ["description": "OK"]
        }
        var out: [(String, JSONValue)] = [(String(route.successStatus), success)]
        if route.handler == .submitJob {
            out.insert(("200", ["description": "A re-submitted video_id that is already queued or done: the existing video, nothing enqueued",
                                "content": ["application/json": ["schema": ref("Video")]]]), at: 0)
        }
        if route.handler == .media {
            out.append(("206", ["description": "Partial content"]))
            out.append(("302", ["description": "Redirect to a presigned URL"]))
            out.append(("304", ["description": "Not modified (If-None-Match / If-Modified-Since)"]))
        }
        var errors = [400, 404, 500]
        if route.needsToken { errors.append(401) }
        // 408: an upload that stalls longer than VIDD_BODY_TIMEOUT_SECONDS; 413: over VIDD_MAX_UPLOAD_BYTES.
        if route.handler == .submitJob { errors += [408, 413, 415, 422] }
        if route.handler == .progressOne { out.append(("204", ["description": "Last-Event-ID names the video's final event: nothing follows (EventSource stops reconnecting)"])) }
        if route.handler == .retryVideo { errors.append(409) }
        if route.handler == .updateVideo { errors += [415, 422] }
        if route.handler == .media { errors += [412, 416] }
        // 503: a backend unreachable or restarting (readiness; PostgreSQL for every route that
        // reads or writes rows; an enqueue that failed after the row was recorded — it is queued
        // automatically later), or the server shutting down (progress streams).
        if [.readyz, .submitJob, .retryVideo, .progressOne, .progressAll, .listVideos, .getVideo, .deleteVideo].contains(route.handler) {
            errors.append(503)
        }
        errors += TusOpenAPI.errors(route.handler)
        errors += DeliveryOpenAPI.errors(route.handler)
        // 429: over VIDD_RATE_LIMIT_SUBMIT or VIDD_RATE_LIMIT_READ (when configured).
        if APIHandlers.rateLimit(for: route) != nil { errors.append(429) }
        for status in errors.sorted() {
            var error: [(String, JSONValue)] = [("description", .string(errorDescription(status, route))),
                                                ("content", ["application/json": ["schema": ref("Error")]])]
            if status == 429 {
                error.append(("headers", [
                    "Retry-After": ["description": "Seconds until a request is let through again", "schema": ["type": "integer"]],
                    "RateLimit-Policy": rateLimitPolicyHeader, "RateLimit": rateLimitHeader,
                ]))
            }
            out.append((String(status), .object(error)))
        }
        if APIHandlers.rateLimit(for: route) != nil, case .object(var success) = out.first(where: { $0.0 == String(route.successStatus) })?.1,
           let i = out.firstIndex(where: { $0.0 == String(route.successStatus) }) {
            success.append(("headers", ["RateLimit-Policy": rateLimitPolicyHeader, "RateLimit": rateLimitHeader]))
            out[i].1 = .object(success)
        }
        return .object(out)
    }

    static func errorDescription(_ status: Int, _ route: APIRoute) -> String {
        switch (status, route.handler) {
        case (422, .submitJob):
            "Validation failed; for a source_url the SSRF guard refused, code source_url_refused and `rule` names the rule "
                + "(\(OutboundRefusal.Rule.allCases.map(\.rawValue).joined(separator: ", ")))"
        case (429, _): "Rate limited: over the budget of this API token (or client address); retry after Retry-After"
        default: "Error"
        }
    }

    /// draft-ietf-httpapi-ratelimit-headers: a Structured Field List of quota policies.
    static let rateLimitPolicyHeader: JSONValue = [
        "description": "The limit that applies, e.g. \"submit\";q=10;w=60 (q requests per w seconds), when rate limits are configured",
        "schema": ["type": "string"]]
    static let rateLimitHeader: JSONValue = [
        "description": "What is left of it, e.g. \"submit\";r=3;t=12 (r requests remaining, more in t seconds)",
        "schema": ["type": "string"]]

    static func query(_ name: String, _ schema: JSONValue, _ description: String? = nil) -> JSONValue {
        var p: [(String, JSONValue)] = [("name", .string(name)), ("in", "query"), ("required", false), ("schema", schema)]
        if let description { p.append(("description", .string(description))) }
        return .object(p)
    }

    static func ref(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }
    static func json(_ schema: JSONValue) -> JSONValue { ["description": "OK", "content": ["application/json": ["schema": schema]]] }

    static let nullableNumber: JSONValue = ["type": ["number", "null"]]
    static let nullableInteger: JSONValue = ["type": ["integer", "null"]]
    static let nullableString: JSONValue = ["type": ["string", "null"]]

    static var schemas: JSONValue {
        let status: JSONValue = ["type": "string", "enum": .array(VideoStatus.allCases.map { .string($0.rawValue) })]
        let base: JSONValue = [
            "Error": ["type": "object", "required": ["error"], "properties": ["error": [
                "type": "object", "required": ["code", "message"],
                "properties": ["code": ["type": "string", "enum": .array(APIError.Code.allCases.map { .string($0.rawValue) })], "message": ["type": "string"],
                               "rule": ["type": "string", "enum": .array(OutboundRefusal.Rule.allCases.map { .string($0.rawValue) }),
                                        "description": "source_url_refused: the SSRF rule that refused the URL"]]]]],
            "JobSubmission": ["type": "object", "properties": [
                "visibility": DeliveryOpenAPI.visibility,
                "source_url": ["type": "string", "format": "uri",
                               "description": "An http(s) URL vidd downloads the source from (instead of source_key). Answered 202 at once; the worker fetches it (progress stage fetching with bytes_fetched and bytes_total), following at most 5 redirects. Loopback, private, link-local, CGNAT, multicast, unspecified, cloud metadata and other special addresses, in any spelling, are refused (422 source_url_refused with the rule; for a redirect or a name resolving there, the video fails naming it) unless VIDD_INGEST_ALLOW admits them. At most VIDD_INGEST_MAX_BYTES."],
                "source_key": ["type": "string", "description": "Key of an object already in storage, e.g. source/…"],
                "title": ["type": "string"],
                "video_id": ["type": "string", "format": "uuid", "description": "Seed form; re-submitting is idempotent"],
                "s3_path": ["type": "string", "description": "Seed form of source_key"],
                "original_name": ["type": "string"]]],
            "VideoUpdate": ["type": "object", "minProperties": 1, "additionalProperties": false, "properties": [
                "title": ["type": ["string", "null"], "minLength": 1, "maxLength": .integer(VideoUpdate.maximumTitleLength),
                          "description": "Trimmed; no control characters; null clears it"],
                "visibility": DeliveryOpenAPI.visibility]],
            "Failure": ["type": "object", "required": ["code", "message", "detail", "retryable"], "properties": [
                "code": ["type": ["string", "null"], "enum": .array(FailureCode.allCases.map { .string($0.rawValue) } + [.null])],
                "message": ["type": "string", "description": "What went wrong, in words for people"],
                "detail": ["type": ["string", "null"], "description": "The technical text (error_message)"],
                "retryable": ["type": "boolean", "description": "false when the file itself is the problem: a retry fails the same way"]]],
            "Rendition": ["type": "object", "properties": [
                "label": ["type": "string", "description": "The rung by its short side, e.g. 720p (also for portrait video)"],
                "height": ["type": "integer"], "width": ["type": "integer"], "bitrate": ["type": "integer"],
                "size_bytes": ["type": "integer"], "codec": ["type": "string"], "url": ["type": "string"], "hls_url": nullableString]],
            "Video": ["type": "object", "required": ["id", "status", "created_at"], "properties": [
                "id": ["type": "string", "format": "uuid"], "title": nullableString, "status": status,
                "error_message": nullableString, "source_key": ["type": "string"], "original_name": nullableString,
                "source": ["type": "object"], "attempts": ["type": "integer"],
                "created_at": ["type": "string", "format": "date-time"], "started_at": nullableString, "completed_at": nullableString,
                "renditions": ["type": "array", "items": ref("Rendition")],
                "playable": ["type": "boolean", "description":
                    "The HLS master playlist plays: true from playable_at while processing (its media playlists are EVENT playlists that grow, #EXT-X-ENDLIST once complete) and once completed; false for a failed video"],
                "playable_at": ["type": ["string", "null"], "format": "date-time", "description":
                    "When the first segments of every rendition and a master playlist naming them were stored; kept when the video later fails, cleared by a retry"],
                "hls_master_url": ["type": ["string", "null"], "description": "HLS master playlist (/media/{id}/hls/master.m3u8), set while `playable`"],
                "dash_manifest_url": ["type": ["string", "null"], "description":
                    "MPEG-DASH MPD (/media/{id}/manifest.mpd, static, isoff-live profile) over the same fMP4 segments as HLS; set once completed"],
                "poster_url": nullableString, "storyboard_url": nullableString,
                "failure": ["oneOf": [ref("Failure"), ["type": "null"]]],
                "visibility": DeliveryOpenAPI.visibility,
                "progress_url": ["type": ["string", "null"],
                                 "description": "GET /progress/{id}; for a private video signed like its media (EventSource cannot send a token), valid until media_expires_at"],
                "media_expires_at": ["type": ["string", "null"], "format": "date-time",
                                     "description": "Private videos: when the signed URLs in this answer expire (VIDD_SIGNED_URL_TTL_SECONDS)"],
                "progress": ["oneOf": [ref("ProgressEvent"), ["type": "null"]]]]],
            "VideoList": ["type": "object", "required": ["videos", "total", "limit", "offset"], "properties": [
                "videos": ["type": "array", "items": ref("Video")], "total": ["type": "integer"],
                "limit": ["type": "integer"], "offset": ["type": "integer"]]],
            "ProgressEvent": ["type": "object",
                              "required": .array(ProgressEvent.CodingKeys.allCases.map { .string($0.rawValue) }),
                              "properties": [
                "video_id": ["type": "string", "format": "uuid"], "status": status,
                "stage": ["type": ["string", "null"], "enum": .array(ProgressEvent.Stage.allCases.map { .string($0.rawValue) } + [.null])],
                "percent": ["type": "number"], "processed_frames": nullableInteger, "total_frames": nullableInteger,
                "renditions": ["type": "array", "items": ["type": "object", "properties": [
                    "height": ["type": "integer"], "width": ["type": "integer"],
                    "state": ["type": "string", "enum": .array(ProgressEvent.RenditionState.allCases.map { .string($0.rawValue) })],
                    "percent": ["type": "number"]]]],
                "fps": nullableNumber, "speed": nullableNumber, "eta_seconds": nullableNumber, "error": nullableString,
                "timestamp": ["type": "string", "format": "date-time"],
                "bytes_fetched": ["type": ["integer", "null"], "description": "Stage fetching: bytes of the source_url stored so far"],
                "bytes_total": ["type": ["integer", "null"], "description": "Stage fetching: the source's size, when its server declared it"],
                "playable": ["type": "boolean", "description": "The video's hls_master_url plays what is stored; the event that turns it true has stage `playable`"],
                "playable_at": ["type": ["string", "null"], "format": "date-time"]]],
        ]
        guard case .object(let members) = base else { return base }
        return .object(members + DeliveryOpenAPI.schemas)
    }
}
