import Foundation
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore

/// `POST/GET/DELETE /webhooks` and `GET /webhooks/{id}/deliveries` over real sockets.
@Suite struct WebhookRoutesTests {
    static let token = WebhookDeliveryTests.token
    static let auth = WebhookDeliveryTests.auth

    @Test func endpointsAreManagedBehindTheToken() async throws {
        try await APITestEnvironment.with("webhookroutes", tokens: [Self.token], configure: WebhookDeliveryTests.allowReceiver) { env in
            // Every route needs the token, reads included (endpoints expose URLs).
            #expect(try await env.client.postJSON("/webhooks", #"{"url":"http://127.0.0.2:9/hook"}"#).status == 401)
            #expect(try await env.client.get("/webhooks").status == 401)
            #expect(try await env.client.get("/webhooks/\(VideoID.generate())/deliveries").status == 401)
            #expect(try await env.client.request("DELETE", "/webhooks/\(VideoID.generate())").status == 401)

            let created = try await env.client.postJSON("/webhooks", #"{"url":"http://127.0.0.2:9/hook","events":["video.completed","video.ready","video.completed"]}"#,
                                                        headers: Self.auth)
            #expect(created.status == 201)
            let json = try created.json()
            let id = try #require(json["id"] as? String)
            let secret = try #require(json["secret"] as? String)
            #expect(WebhookSecret(text: secret)?.key.count == 32)
            #expect(json["events"] as? [String] == ["video.completed", "video.ready"], "duplicates dropped, order kept")
            #expect(created.header("Location") == "/webhooks/\(id)/deliveries")

            let all = try await env.client.postJSON("/webhooks", #"{"url":"http://127.0.0.2:9/other"}"#, headers: Self.auth)
            #expect(try all.json()["events"] as? [String] == WebhookEventType.allCases.map(\.rawValue), "no events listed: every event")

            let list = try await env.client.get("/webhooks", headers: Self.auth)
            #expect(!list.text.contains(secret) && !list.text.contains("\"secret\""), "secrets are shown once, never listed")
            #expect((try list.json()["webhooks"] as? [[String: Any]])?.count == 2)

            let deliveries = try await env.client.get("/webhooks/\(id)/deliveries", headers: Self.auth)
            #expect(try deliveries.status == 200 && (try deliveries.json()["deliveries"] as? [Any])?.isEmpty == true)
            #expect(try await env.client.get("/webhooks/\(id)/deliveries?limit=0", headers: Self.auth).status == 422)

            #expect(try await env.client.request("DELETE", "/webhooks/\(id)", headers: Self.auth).status == 204)
            #expect(try await env.client.request("DELETE", "/webhooks/\(id)", headers: Self.auth).status == 404)
            #expect(try await env.client.get("/webhooks/\(id)/deliveries", headers: Self.auth).status == 404)
            #expect(try await env.client.get("/webhooks/nope/deliveries", headers: Self.auth).status == 404)
        }
    }

    /// The URL goes through the same SSRF guard as URL ingest: refused with 422 naming the rule.
    @Test(arguments: [
        ("http://127.0.0.1:8080/hook", "loopback"), ("http://10.0.0.1/hook", "private"), ("http://169.254.169.254/latest", "cloud_metadata"), ("http://169.254.1.1/", "link_local"),
        ("ftp://example.com/x", "scheme"), ("http://user:pw@example.com/", "userinfo"), ("http://localhost/", "local_name"),
        ("http://[::1]/", "loopback"), ("http://2130706433/", "loopback"),
    ])
    func refusedURLs(url: String, rule: String) async throws {
        try await APITestEnvironment.with("webhookssrf", tokens: [Self.token], configure: WebhookDeliveryTests.allowReceiver) { env in
            let r = try await env.client.postJSON("/webhooks", "{\"url\":\"\(url)\"}", headers: Self.auth)
            #expect(r.status == 422, "\(url): \(r.text)")
            let error = try #require(try r.json()["error"] as? [String: Any])
            #expect(error["rule"] as? String == rule, "\(url): \(error)")
        }
    }

    @Test(arguments: [
        ("", 400), ("[]", 400), ("{}", 422), (#"{"url":""}"#, 422), (#"{"url":"http://127.0.0.2/","events":[]}"#, 422),
        (#"{"url":"http://127.0.0.2/","events":["video.exploded"]}"#, 422), (#"{"url":7}"#, 400),
    ])
    func badRegistrations(body: String, status: Int) async throws {
        try await APITestEnvironment.with("webhookbad", tokens: [Self.token], configure: WebhookDeliveryTests.allowReceiver) { env in
            let r = try await env.client.postJSON("/webhooks", body, headers: Self.auth)
            #expect(r.status == status, "\(body): \(r.text)")
        }
    }
}
