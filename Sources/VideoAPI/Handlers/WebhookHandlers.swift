import VideoCore
import HTTPServer
import FoundationEssentials

/// `POST /webhooks`, `GET /webhooks`, `GET /webhooks/{id}/deliveries`, `DELETE /webhooks/{id}`
/// (all behind a token when tokens are configured: endpoints expose URLs). Deliveries are made by
/// the workers' `WebhookDispatcher`; here endpoints are managed and deliveries read.
extension APIHandlers {
    /// 201 with the endpoint's id and its signing secret — shown this once, never listed.
    /// JSON only (415 otherwise, a missing type included): besides matching PATCH and POST /jobs,
    /// a cross-origin page can send text/plain or form bodies without a CORS preflight, so without
    /// API tokens any page the operator visits could add an endpoint of its own.
    func createWebhook(_ request: HTTPRequest) async throws -> HTTPResponse {
        guard let type = request.headers["Content-Type"], type.split(separator: ";").first?.trimmingBlanksLowercased() == "application/json" else {
            throw APIError(.unsupportedMediaType, "POST /webhooks takes application/json: {\"url\": \"https://…\", \"events\": [\"video.completed\", …]}")
        }
        let body = try await request.body.collect(upTo: JobSubmission.maximumBodyBytes)
        let registration = try WebhookRegistration(json: body)
        // The same SSRF rules as URL ingest: a refused URL is a 422 naming the rule.
        let url: String
        do {
            url = try context.configuration.ingest.policy.check(text: registration.url).description
        } catch {
            throw APIError(.validationFailed, "url \(error.message)", rule: error.rule.rawValue)
        }
        let secret = WebhookSecret.generate()
        let endpoint = try await webhooks.createEndpoint(id: VideoID.generate(), url: url, secret: secret, events: registration.events)
        context.logger.with("webhook_endpoint", endpoint.id).info("webhook endpoint added", ["url": url])
        var members = Self.endpointMembers(endpoint)
        members.insert(("secret", .string(secret.text)), at: 2)
        return APIResponse.json(.object(members), status: 201, headers: ["Location": "/webhooks/\(endpoint.id)/deliveries"])
    }

    func listWebhooks() async throws -> HTTPResponse {
        let endpoints = try await webhooks.endpoints()
        return APIResponse.json(.object([("webhooks", .array(endpoints.map { .object(Self.endpointMembers($0)) }))]))
    }

    func webhookDeliveries(_ request: HTTPRequest, id rawID: String) async throws -> HTTPResponse {
        let limit = try Self.deliveryLimit(request.queryParameter("limit"))
        guard let id = VideoID.normalize(rawID), let deliveries = try await webhooks.deliveries(endpointID: id, limit: limit) else {
            throw APIError(.notFound, "no webhook endpoint with id \(RequestText.shown(rawID))")
        }
        return APIResponse.json(.object([("deliveries", .array(deliveries.map { d in
            .object([
                ("id", .string(d.id)), ("type", .string(d.eventType)), ("video_id", d.videoID.map(JSONValue.string) ?? .null),
                ("status", .string(d.status)), ("attempts", .integer(d.attempts)),
                ("next_attempt_at", d.status == "pending" ? .string(d.nextAttemptAt) : .null),
                ("created_at", .string(d.createdAt)), ("last_error", d.lastError.map(JSONValue.string) ?? .null),
                ("attempt_log", .raw(d.attemptsJSON)),
            ])
        }))]))
    }

    func deleteWebhook(id rawID: String) async throws -> HTTPResponse {
        guard let id = VideoID.normalize(rawID), try await webhooks.deleteEndpoint(id: id) else {
            throw APIError(.notFound, "no webhook endpoint with id \(RequestText.shown(rawID))")
        }
        context.logger.with("webhook_endpoint", id).info("webhook endpoint removed")
        return HTTPResponse(status: .noContent)
    }

    static func endpointMembers(_ e: WebhookEndpoint) -> [(String, JSONValue)] {
        [("id", .string(e.id)), ("url", .string(e.url)),
         ("events", .array((e.events ?? WebhookEventType.allCases).map { .string($0.rawValue) })),
         ("created_at", .string(e.createdAt)),
         ("disabled_at", e.disabledAt.map(JSONValue.string) ?? .null),
         ("disabled_reason", e.disabledReason.map(JSONValue.string) ?? .null)]
    }

    static let maximumDeliveries = 500

    static func deliveryLimit(_ raw: String?) throws(APIError) -> Int {
        guard let raw else { return 100 }
        guard let n = Int(raw), (1...maximumDeliveries).contains(n) else {
            throw APIError(.validationFailed, "limit must be 1…\(maximumDeliveries)")
        }
        return n
    }
}

/// `{"url": "https://…", "events": ["video.completed", …]}`; no `events` (or null): every event.
struct WebhookRegistration: Sendable, Equatable {
    var url: String
    var events: [WebhookEventType]?

    static let maximumURLLength = 2048

    init(json: [UInt8]) throws(APIError) {
        struct Body: Decodable {
            var url: String?
            var events: [String]?
        }
        let body: Body
        do { body = try JSONDecoder().decode(Body.self, from: Data(json)) } catch {
            throw APIError(.badRequest, "the body must be a JSON object: {\"url\": \"https://…\", \"events\": [\"video.completed\", …]}")
        }
        try JSONDuplicateMember.refuse(in: json)
        guard let url = body.url, !url.isEmpty else { throw APIError(.validationFailed, "url is required") }
        guard url.utf8.count <= Self.maximumURLLength else { throw APIError(.validationFailed, "url is longer than \(Self.maximumURLLength) bytes") }
        self.url = url
        if let names = body.events {
            guard !names.isEmpty else { throw APIError(.validationFailed, "events must list at least one event, or be left out for all") }
            var events: [WebhookEventType] = []
            for name in names {
                guard let event = WebhookEventType(rawValue: name) else {
                    throw APIError(.validationFailed, "unknown event \(RequestText.shown(name)); events are \(WebhookEventType.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                if !events.contains(event) { events.append(event) }
            }
            self.events = events
        }
    }
}
