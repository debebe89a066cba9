import Foundation
import Testing
import TestSupport
@testable import VideoCore

/// Webhooks and private playback with the real `vidd` binary transcoding a real upload: the
/// receiver verifies every event with the Standard Webhooks reference library, ffmpeg plays the
/// signed HLS master to the end, keys rotate across daemon restarts, and an endpoint that never
/// answers does not delay jobs. Runs in the service pass of scripts/test.sh.
@Suite struct DeliveryEndToEndTests {
    static let token = "delivery-e2e-token-0123456789"
    static let auth = ["-H", "Authorization: Bearer \(token)"]
    static let keyA = "key-A-0123456789abcdef0123456789abcdef"
    static let keyB = "key-B-0123456789abcdef0123456789abcdef"

    static func register(_ sut: ServiceUnderTest, _ daemon: ServiceUnderTest.Daemon, url: String) async throws -> String {
        let r = try await sut.request(daemon, "POST", "/webhooks", auth + ["-H", "Content-Type: application/json", "-d", "{\"url\":\"\(url)\"}"])
        guard r.status == 201, let secret = r.json["secret"] as? String else { throw ServiceUnderTest.Failure("POST /webhooks: \(r.status) \(r.text)") }
        return secret
    }

    /// ffmpeg reads every packet of the playlist (any HTTP error fails it: -xerror); its stderr.
    static func play(_ url: String) async throws -> (status: Int32, errors: String) {
        let r = try await TestProcess.run(["ffmpeg", "-nostdin", "-v", "error", "-xerror", "-i", url, "-map", "0", "-c", "copy", "-f", "null", "-"])
        return (r.status, String(decoding: r.errorOutput, as: UTF8.self))
    }

    @Test func signedWebhooksAndPrivatePlaybackOfARealTranscode() async throws {
        guard let receiver = try await WebhookReceiver.start() else { return }
        defer { Task { await receiver.stop() } }
        guard let sut = try await ServiceUnderTest.make("delivery", settings: [
            "VIDD_INGEST_ALLOW": WebhookReceiver.allow, "VIDD_API_TOKENS": Self.token, "VIDD_SIGNING_KEYS": Self.keyA,
        ]) else { return }
        do {
            let vidd = try await sut.start("all")
            try receiver.setSecret(try await Self.register(sut, vidd, url: receiver.url))
            let up = try await sut.request(vidd, "POST", "/jobs?name=clip.mp4&visibility=private",
                                           Self.auth + ["-H", "Content-Type: video/mp4", "--data-binary", "@" + ServiceUnderTest.fixture("landscape_720p.mp4")])
            let id = try #require(up.status == 202 ? up.json["id"] as? String : nil, "\(up.status) \(up.text)")
            let done = try await sut.waitForStatus(vidd, id, ["completed", "failed"], arguments: Self.auth)
            #expect(done["status"] as? String == "completed" && done["visibility"] as? String == "private")
            let rungs = (done["renditions"] as? [[String: Any]])?.count ?? 0

            // Every event once, each verified by the reference library, video.ready and video.completed last.
            try await waitUntil("video.completed delivered", timeout: .seconds(30), context: { "\(receiver.records())\n\(sut.logs)" }) {
                receiver.records().contains { $0.type == "video.completed" }
            }
            let records = receiver.records()
            #expect(records.allSatisfy { $0.verified && $0.status == 204 && !$0.duplicate && $0.videoID == id }, "\(records)")
            #expect(records.filter { $0.type == "rendition.completed" }.count == rungs && rungs > 0)
            #expect(records.filter { $0.type == "video.ready" }.count == 1 && records.filter { $0.type == "video.completed" }.count == 1)
            #expect(records.first { $0.type == "video.completed" }?.dataStatus == "completed")

            // Hidden without a token; its media only through the signed URLs of its JSON.
            #expect(try await sut.request(vidd, "GET", "/videos/\(id)").status == 404)
            let master = try #require(done["hls_master_url"] as? String)
            let played = try await Self.play(vidd.base + master)
            #expect(played.status == 0 && played.errors.isEmpty, "ffmpeg reads the signed master to the end: \(played.errors)")
            let unsigned = String(master.split(separator: "?").first ?? "")
            #expect(try await sut.request(vidd, "GET", unsigned).status == 403)
            let tampered = master.replacingOccurrences(of: "sig=", with: "sig=0")
            #expect(try await sut.request(vidd, "GET", tampered).status == 403)
            let unsignedPlay = try await Self.play(vidd.base + unsigned)
            #expect(unsignedPlay.status != 0, "ffmpeg cannot read it unsigned")

            // Rotation across restarts: the new key first, the old one kept — old links still play.
            vidd.process.signal(SIGTERM)
            _ = await vidd.process.waitForExit(timeout: .seconds(30))
            let rotating = try await sut.start("serve", settings: ["VIDD_SIGNING_KEYS": "\(Self.keyB),\(Self.keyA)"])
            let grace = try await Self.play(rotating.base + master)
            #expect(grace.status == 0 && grace.errors.isEmpty, "an old link plays during the grace period: \(grace.errors)")
            let fresh = try #require(try await sut.request(rotating, "GET", "/videos/\(id)", Self.auth).json["hls_master_url"] as? String)
            #expect(fresh != master)
            rotating.process.signal(SIGTERM)
            _ = await rotating.process.waitForExit(timeout: .seconds(30))
            let rotated = try await sut.start("serve", settings: ["VIDD_SIGNING_KEYS": Self.keyB])
            #expect(try await sut.request(rotated, "GET", master).status == 403, "the old key removed: its links end")
            let freshPlay = try await Self.play(rotated.base + fresh)
            #expect(freshPlay.status == 0 && freshPlay.errors.isEmpty, "\(freshPlay.errors)")
        } catch {
            await sut.cleanup()
            throw error
        }
        await sut.cleanup()
    }

    /// A black-hole endpoint (accepts, never answers) beside a job: the job's time to completed
    /// with it is the time without it, give or take noise (both printed; figures in
    /// docs/benchmarks.md), and the job completes while the endpoint still holds its deliveries.
    @Test func anEndpointThatNeverAnswersDoesNotDelayJobs() async throws {
        guard let hole = try await WebhookReceiver.start(blackHole: true) else { return }
        defer { Task { await hole.stop() } }
        guard let sut = try await ServiceUnderTest.make("blackhole", settings: [
            "VIDD_INGEST_ALLOW": WebhookReceiver.allow, "VIDD_API_TOKENS": Self.token, "VIDD_WEBHOOK_TIMEOUT_SECONDS": "30",
        ]) else { return }
        do {
            let vidd = try await sut.start("all")
            func timeOneJob() async throws -> Duration {
                let start = ContinuousClock.now
                let up = try await sut.request(vidd, "POST", "/jobs?name=clip.mp4",
                                               Self.auth + ["-H", "Content-Type: video/mp4", "--data-binary", "@" + ServiceUnderTest.fixture("landscape_720p.mp4")])
                let id = try #require(up.status == 202 ? up.json["id"] as? String : nil, "\(up.status) \(up.text)")
                let done = try await sut.waitForStatus(vidd, id, ["completed", "failed"])
                #expect(done["status"] as? String == "completed")
                return ContinuousClock.now - start
            }
            let without = try await timeOneJob()
            _ = try await Self.register(sut, vidd, url: hole.url)
            let with = try await timeOneJob()
            print("[delivery] job upload→completed without a webhook endpoint: \(without); with a black-hole endpoint: \(with)")
            // Its deliveries are still in flight or waiting (each attempt holds 30 s): none delivered,
            // yet the job is done.
            let rows = try await sut.query("SELECT count(*)::text FROM webhook_deliveries WHERE status = 'delivered'")
            #expect(rows.first?.first == "0")
            let pending = try await sut.query("SELECT count(*)::text FROM webhook_deliveries WHERE status = 'pending'")
            #expect(Int(pending.first?.first.flatMap { $0 } ?? "0") ?? 0 >= 2, "rendition and completion events wait on the black hole")
        } catch {
            await sut.cleanup()
            throw error
        }
        await sut.cleanup()
    }
}
