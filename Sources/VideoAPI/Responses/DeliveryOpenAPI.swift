import VideoCore

/// What `/openapi.json` says about resumable progress, webhooks and private playback beyond the
/// generic shape: their parameters, bodies, answers and schemas.
enum DeliveryOpenAPI {
    static func parameters(_ handler: APIRoute.Handler) -> [JSONValue] {
        switch handler {
        case .progressOne, .progressAll:
            let resume = [TusOpenAPI.header("Last-Event-ID", "The id of the last event received (EventSource sends it by itself when it reconnects): "
                                      + "the stream starts with the events after it. An id no longer in the capped history, or not an id at all, "
                                      + "starts from the snapshot after an `event: reset` saying why. After a video's final event: 204 (stop reconnecting)."),
                          OpenAPIDocument.query("last_event_id", ["type": "string"], "The same as Last-Event-ID, for clients that cannot set headers")]
            guard handler == .progressOne else { return resume }
            return resume + [OpenAPIDocument.query("exp", ["type": "integer"], "A private video without a token: the expiry of its progress_url's signature"),
                             OpenAPIDocument.query("sig", ["type": "string"], "A private video without a token: the signature of its progress_url")]
        case .media:
            return [OpenAPIDocument.query("exp", ["type": "integer"], "Private videos: the signature's expiry (Unix seconds)"),
                    OpenAPIDocument.query("sig", ["type": "string"], "Private videos: HMAC-SHA256 (hex) over /media/{id}/ and exp, with a key of VIDD_SIGNING_KEYS")]
        case .webhookDeliveries:
            return [OpenAPIDocument.query("limit", ["type": "integer", "minimum": 1, "maximum": .integer(APIHandlers.maximumDeliveries), "default": 100])]
        default:
            return []
        }
    }

    static func requestBody(_ handler: APIRoute.Handler) -> JSONValue? {
        switch handler {
        case .createWebhook: ["required": true, "content": ["application/json": ["schema": OpenAPIDocument.ref("WebhookRegistration")]]]
        default: nil
        }
    }

    static func success(_ handler: APIRoute.Handler) -> JSONValue? {
        switch handler {
        case .createWebhook:
            ["description": "Created: the endpoint with its signing secret (shown only here)",
             "content": ["application/json": ["schema": OpenAPIDocument.ref("WebhookEndpointCreated")]]]
        case .listWebhooks:
            OpenAPIDocument.json(["type": "object", "properties": ["webhooks": ["type": "array", "items": OpenAPIDocument.ref("WebhookEndpoint")]]])
        case .webhookDeliveries:
            OpenAPIDocument.json(["type": "object", "properties": ["deliveries": ["type": "array", "items": OpenAPIDocument.ref("WebhookDelivery")]]])
        case .deleteWebhook: ["description": "Removed, with its deliveries"]
        default: nil
        }
    }

    static func errors(_ handler: APIRoute.Handler) -> [Int] {
        switch handler {
        case .updateVideo: [503]
        case .createWebhook: [415, 422, 503]
        case .listWebhooks, .webhookDeliveries, .deleteWebhook: [503]
        case .media: [403]
        default: []
        }
    }

    static var schemas: [(String, JSONValue)] {
        let endpoint: [(String, JSONValue)] = [
            ("id", ["type": "string", "format": "uuid"]), ("url", ["type": "string", "format": "uri"]),
            ("events", ["type": "array", "items": eventType]),
            ("created_at", ["type": "string", "format": "date-time"]),
            ("disabled_at", OpenAPIDocument.nullableString), ("disabled_reason", OpenAPIDocument.nullableString),
        ]
        var created = endpoint
        created.insert(("secret", ["type": "string", "description": "whsec_ + base64 of 32 random bytes: the Standard Webhooks signing secret"]), at: 2)
        return [
            ("WebhookRegistration", ["type": "object", "required": ["url"], "properties": [
                "url": ["type": "string", "format": "uri",
                        "description": "Where events are POSTed (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature: v1,<base64 HMAC-SHA256>). The same SSRF rules as source_url (VIDD_INGEST_ALLOW)."],
                "events": ["type": "array", "items": eventType, "description": "Left out: every event"]]]),
            ("WebhookEndpoint", ["type": "object", "properties": .object(endpoint)]),
            ("WebhookEndpointCreated", ["type": "object", "properties": .object(created)]),
            ("WebhookDelivery", ["type": "object", "properties": [
                "id": ["type": "string", "description": "The webhook-id header of every attempt (receivers dedupe by it)"],
                "type": eventType, "video_id": OpenAPIDocument.nullableString,
                "status": ["type": "string", "enum": ["pending", "delivered", "failed"]],
                "attempts": ["type": "integer"], "next_attempt_at": OpenAPIDocument.nullableString,
                "created_at": ["type": "string", "format": "date-time"], "last_error": OpenAPIDocument.nullableString,
                "attempt_log": ["type": "array", "items": ["type": "object", "properties": [
                    "attempt": ["type": "integer"], "started_at": ["type": "string", "format": "date-time"],
                    "latency_ms": ["type": "integer"], "response_code": OpenAPIDocument.nullableInteger,
                    "succeeded": ["type": "boolean"], "error": OpenAPIDocument.nullableString]]]]]),
            ("WebhookPayload", ["type": "object", "required": ["type", "timestamp", "data"], "properties": [
                "type": eventType, "timestamp": ["type": "string", "format": "date-time"],
                "data": ["allOf": [OpenAPIDocument.ref("Video")],
                         "description": "The video's JSON as GET /videos/{id} gives it to a caller with a token; rendition.completed adds `rendition`"]]]),
        ]
    }

    static let eventType: JSONValue = ["type": "string", "enum": .array(WebhookEventType.allCases.map { .string($0.rawValue) })]
    static let visibility: JSONValue = ["type": "string", "enum": .array(Visibility.allCases.map { .string($0.rawValue) }),
                                        "description": "private: listed and shown only to callers with a token; media only through signed URLs (needs VIDD_SIGNING_KEYS)"]
}
