import Foundation
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService

/// `POST /webhooks` took any Content-Type (text/plain, none, multipart). Besides answering as
/// PATCH /videos/{id} and POST /jobs do (415), that matters without API tokens: a web page the
/// operator visits could register an endpoint of its own with a "simple" cross-origin POST (text/
/// plain, no CORS preflight) and receive every video's events. application/json needs a preflight.
@Suite struct WebhookContentTypeTests {
    @Test(arguments: [nil, "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
                      "multipart/form-data; boundary=x", "application/xml", "application/jsonx"] as [String?])
    func anEndpointIsOnlyAddedFromJSON(contentType: String?) async throws {
        try await APITestEnvironment.with("webhook-ct") { env in
            let headers = contentType.map { [("Content-Type", $0)] } ?? []
            let r = try await env.client.request("POST", "/webhooks", headers: headers, body: .bytes(Array(#"{"url":"https://example.com/hook"}"#.utf8)))
            #expect(r.status == 415 && (try? r.apiError().code) == "unsupported_media_type", "\(contentType ?? "none"): \(r.status) \(r.text)")
            #expect(try await env.context.database.query("SELECT count(*)::text FROM webhook_endpoints", []).first?.first == "0", "no endpoint was added")
        }
    }

    @Test(arguments: ["application/json", "application/json; charset=utf-8", "Application/JSON"])
    func jsonWithParametersIsAccepted(contentType: String) async throws {
        try await APITestEnvironment.with("webhook-ct-ok") { env in
            let r = try await env.client.request("POST", "/webhooks", headers: [("Content-Type", contentType)],
                                                 body: .bytes(Array(#"{"url":"https://example.com/hook"}"#.utf8)))
            #expect(r.status == 201, "\(contentType): \(r.status) \(r.text)")
        }
    }
}
