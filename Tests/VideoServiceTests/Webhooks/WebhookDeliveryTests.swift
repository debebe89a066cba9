import Foundation
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore

/// Webhook deliveries against real PostgreSQL and a real receiver verifying with the Standard
/// Webhooks reference library: the outbox rows written with the state changes, the delivery loop
/// (in this process, with a schedule of milliseconds instead of seconds), retries that keep their
/// `webhook-id`, every attempt recorded and listed.
@Suite struct WebhookDeliveryTests {
    static let token = "webhook-test-token-0123456789"
    static var auth: [(String, String)] { [("Authorization", "Bearer \(token)")] }

    static func fastOptions(giveUpAfter: Duration = .seconds(60)) -> WebhookDispatcher.Options {
        var options = WebhookDispatcher.Options()
        options.pollInterval = .milliseconds(50)
        options.policy = WebhookRetryPolicy(delays: [.milliseconds(200), .milliseconds(400)], thenEvery: .milliseconds(500),
                                            giveUpAfter: giveUpAfter, jitter: 0.1)
        return options
    }

    static func allowReceiver(_ c: inout Configuration) {
        c.ingest.allowList = try! OutboundAllowList(parsing: WebhookReceiver.allow)
        c.webhooks.attemptTimeout = .seconds(2)
    }

    /// Registers `url` for `events` (all when nil); returns the endpoint's id and secret.
    static func register(_ env: APITestEnvironment, _ url: String, events: [String]? = nil) async throws -> (id: String, secret: String) {
        let list = events.map { ",\"events\":[" + $0.map { "\"\($0)\"" }.joined(separator: ",") + "]" } ?? ""
        let response = try await env.client.postJSON("/webhooks", "{\"url\":\"\(url)\"\(list)}", headers: auth)
        try #require(response.status == 201, "\(response.status) \(response.text)")
        let json = try response.json()
        return (try #require(json["id"] as? String), try #require(json["secret"] as? String))
    }

    @Test func aReceiverThatFailsTwiceSeesEachEventOnceWithVerifiedSignatures() async throws {
        guard let receiver = try await WebhookReceiver.start(failFirst: 2) else { return }
        defer { Task { await receiver.stop() } }
        try await APITestEnvironment.with("webhooks", tokens: [Self.token], configure: Self.allowReceiver) { env in
            let endpoint = try await Self.register(env, receiver.url)
            try receiver.setSecret(endpoint.secret)
            let loop = Task { await WebhookDispatcher(context: env.context, options: Self.fastOptions()).run() }
            defer { loop.cancel() }

            // Every event, each written with the state change that causes it.
            let events = env.webhookEvents
            let done = try await env.recordVideo(status: .processing)
            try await env.store.upsertRendition(Rendition(videoID: done.id, height: 360, width: 640, bitrate: 800_000, sizeBytes: 1000,
                                                          codec: "h264", mp4Key: ObjectKeys.mp4(videoID: done.id, height: 360)), events: events)
            #expect(try await env.store.markCompleted(id: done.id, dashManifestKey: nil, events: events))
            let failed = try await env.recordVideo(status: .processing)
            #expect(try await env.store.markFailed(id: failed.id, message: "no video stream", code: .noVideoStream, events: events))
            #expect(try await env.client.request("DELETE", "/videos/\(failed.id)", headers: Self.auth).status == 204)

            try await waitUntil("five events delivered", timeout: .seconds(30), context: { "\(receiver.records())" }) {
                receiver.records().filter { $0.status == 204 }.count >= 5
            }
            let records = receiver.records()
            #expect(records.allSatisfy { $0.verified }, "every request verifies with the reference library")
            let delivered = records.filter { $0.status == 204 }
            #expect(Set(delivered.map(\.id)).count == delivered.count && !delivered.contains(where: \.duplicate), "each event once by id")
            #expect(Set(delivered.compactMap(\.type)) == ["rendition.completed", "video.ready", "video.completed", "video.failed", "video.deleted"])
            for record in delivered {
                let tries = records.filter { $0.id == record.id }
                #expect(tries.map(\.attempt) == [1, 2, 3] && tries.map(\.status) == [500, 500, 204], "retries keep the webhook-id: \(tries)")
            }
            #expect(delivered.first { $0.type == "video.completed" }?.dataStatus == "completed", "data is the video's JSON")
            #expect(delivered.first { $0.type == "video.deleted" }?.videoID == failed.id)

            // Every attempt is recorded and listed per endpoint (the receiver answers before the
            // dispatcher records its answer: wait for the records).
            var deliveries: [[String: Any]] = []
            let recorded = ContinuousClock.now + .seconds(30)
            repeat {
                let list = try await env.client.get("/webhooks/\(endpoint.id)/deliveries", headers: Self.auth)
                deliveries = try list.json()["deliveries"] as? [[String: Any]] ?? []
                if deliveries.count == 5 && deliveries.allSatisfy({ $0["status"] as? String == "delivered" }) { break }
                try await Task.sleep(for: .milliseconds(50))
            } while ContinuousClock.now < recorded
            #expect(deliveries.count == 5)
            for delivery in deliveries {
                #expect(delivery["status"] as? String == "delivered" && delivery["attempts"] as? Int == 3)
                let log = try #require(delivery["attempt_log"] as? [[String: Any]])
                #expect(log.map { $0["response_code"] as? Int } == [500, 500, 204])
                #expect(log.map { $0["succeeded"] as? Bool } == [false, false, true])
                #expect(log.allSatisfy { ($0["latency_ms"] as? Int ?? -1) >= 0 } && log.first?["error"] as? String == "HTTP 500")
            }

            // Finished deliveries are dropped after the retention (here: at once), attempts with them.
            try await WebhookStore(db: env.context.database).prune(olderThan: .zero)
            let pruned = try await env.client.get("/webhooks/\(endpoint.id)/deliveries", headers: Self.auth)
            #expect((try pruned.json()["deliveries"] as? [Any])?.isEmpty == true)
            #expect(try await env.context.database.query("SELECT count(*)::text FROM webhook_attempts", []).first?.first == "0")
        }
    }

    /// A private video's payload carries signed URLs; a retry after they expired carries them
    /// signed again, valid when the receiver gets them (here URLs live 3 s and the retry comes 4 s
    /// later: sent as stored, they would arrive expired).
    @Test func aRetryAfterTheSignedURLsExpiredCarriesFreshOnes() async throws {
        guard let receiver = try await WebhookReceiver.start(failFirst: 1) else { return }
        defer { Task { await receiver.stop() } }
        try await APITestEnvironment.with("webhook-resign", tokens: [Self.token], configure: { c in
            Self.allowReceiver(&c)
            c.mediaSigning.keys = [String(repeating: "k", count: MediaSigningSettings.minimumKeyLength)]
            c.mediaSigning.urlLifetime = .seconds(3)
        }) { env in
            let endpoint = try await Self.register(env, receiver.url, events: ["video.completed"])
            try receiver.setSecret(endpoint.secret)
            var options = Self.fastOptions()
            options.policy = WebhookRetryPolicy(delays: [.seconds(4)], thenEvery: .seconds(1), giveUpAfter: .seconds(60), jitter: 0)
            let loop = Task { await WebhookDispatcher(context: env.context, options: options).run() }
            defer { loop.cancel() }

            let id = VideoID.generate()
            _ = try await env.store.createVideo(id: id, title: "private", sourceKey: ObjectKeys.source(videoID: id, originalName: "a.mp4"),
                                                originalName: "a.mp4", visibility: .private)
            _ = try await env.store.markProcessing(id: id)
            #expect(try await env.store.markCompleted(id: id, dashManifestKey: nil, events: env.webhookEvents))

            try await waitUntil("the retry delivered", timeout: .seconds(30), context: { "\(receiver.records())" }) {
                receiver.records().contains { $0.status == 204 }
            }
            let tries = receiver.records()
            #expect(tries.map(\.status) == [500, 204] && tries.allSatisfy(\.verified), "\(tries)")
            for attempt in tries {
                let expires = try #require(attempt.mediaExpiresAt.flatMap { Timestamp.milliseconds(rfc3339: $0) })
                #expect(Double(expires) / 1000 > attempt.receivedAt, "attempt \(attempt.attempt) arrived with its URLs valid: \(attempt)")
            }
            #expect(tries[0].mediaExpiresAt != tries[1].mediaExpiresAt)
        }
    }

    /// `video.ready` once per video, at the moment it becomes playable: with `playable_at` (not
    /// again for a redelivered job's second master, nor at completion), or with completion for a
    /// video that never was playable before.
    @Test func videoReadyIsWrittenOnceWhenTheVideoBecomesPlayable() async throws {
        try await APITestEnvironment.with("webhook-ready", tokens: [Self.token], configure: Self.allowReceiver) { env in
            _ = try await Self.register(env, "http://\(WebhookReceiver.host):9/hook")  // no loop runs: rows only
            let events = env.webhookEvents
            func written(_ id: String) async throws -> [String] {
                try await env.context.database.query(
                    "SELECT event_type FROM webhook_deliveries WHERE video_id = $1::uuid ORDER BY created_at, event_type", [id]).map { $0[0] ?? "" }
            }
            let early = try await env.recordVideo(status: .processing)
            let first = try #require(try await env.store.markPlayable(id: early.id, events: events))
            let afterFirst = try await written(early.id)
            #expect(first.first && afterFirst == ["video.ready"])
            let again = try #require(try await env.store.markPlayable(id: early.id, events: events))
            let afterAgain = try await written(early.id)
            #expect(!again.first && again.playableAt == first.playableAt && afterAgain == ["video.ready"])
            #expect(try await env.store.markCompleted(id: early.id, dashManifestKey: nil, events: events))
            #expect(try await written(early.id).sorted() == ["video.completed", "video.ready"])

            let late = try await env.recordVideo(status: .processing)
            #expect(try await env.store.markCompleted(id: late.id, dashManifestKey: nil, events: events))
            #expect(try await written(late.id).sorted() == ["video.completed", "video.ready"])
            #expect(try await env.store.markPlayable(id: late.id, events: events) == nil, "completed: nothing to announce")
            #expect(try await written(late.id).count == 2)
        }
    }

    /// Nothing answers (a closed port): attempts are recorded with the error, then the delivery is
    /// given up once the policy's day (here three seconds: room for retries 0.2–0.5 s apart on a
    /// loaded machine) has passed. A 410 disables the endpoint.
    @Test func deadEndpointsAreGivenUpAndGoneOnesDisabled() async throws {
        let closed = try FreePorts.one()
        let gone = try await HTTPOrigin.start(host: WebhookReceiver.host) { _, connection in
            try await connection.write(Array("HTTP/1.1 410 Gone\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8))
        }
        defer { gone.close() }
        try await APITestEnvironment.with("webhookdead", tokens: [Self.token], configure: Self.allowReceiver) { env in
            let dead = try await Self.register(env, "http://\(WebhookReceiver.host):\(closed)/hook", events: ["video.failed"])
            let goneEndpoint = try await Self.register(env, gone.baseURL + "/hook", events: ["video.failed"])
            let loop = Task { await WebhookDispatcher(context: env.context, options: Self.fastOptions(giveUpAfter: .seconds(3))).run() }
            defer { loop.cancel() }
            let video = try await env.recordVideo(status: .processing)
            #expect(try await env.store.markFailed(id: video.id, message: "x", code: nil, events: env.webhookEvents))

            try await waitUntil("the dead endpoint's delivery given up", timeout: .seconds(20), retryingErrors: false) {
                let list = try await env.client.get("/webhooks/\(dead.id)/deliveries", headers: Self.auth)
                return (try list.json()["deliveries"] as? [[String: Any]])?.first?["status"] as? String == "failed"
            }
            let list = try await env.client.get("/webhooks/\(dead.id)/deliveries", headers: Self.auth)
            let delivery = try #require((try list.json()["deliveries"] as? [[String: Any]])?.first)
            let log = try #require(delivery["attempt_log"] as? [[String: Any]])
            #expect(log.count >= 2 && log.allSatisfy { $0["response_code"] is NSNull && ($0["error"] as? String)?.isEmpty == false })

            try await waitUntil("the gone endpoint disabled", timeout: .seconds(20), retryingErrors: false) {
                let all = try await env.client.get("/webhooks", headers: Self.auth)
                let endpoints = try #require(try all.json()["webhooks"] as? [[String: Any]])
                return endpoints.first { $0["id"] as? String == goneEndpoint.id }?["disabled_at"] is String
            }
            #expect(gone.acceptedConnections == 1, "410 is not retried")
        }
    }
}
