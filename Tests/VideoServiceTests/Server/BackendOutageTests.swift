import Foundation
import PGWire
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore

/// The API while a backend restarts or hangs, on servers of the test's own (the shared ones keep
/// serving the other tests): a PostgreSQL that refuses new sessions is a 503 like any outage, and
/// a Redis that does not answer never holds back a read that PostgreSQL alone can serve.
@Suite struct BackendOutageTests {
    /// `pg_ctl stop -m smart` (as in a restart) while a session is open: PostgreSQL refuses every new
    /// session with FATAL 57P03 "the database system is shutting down". The API's pool meets it
    /// on connect; the answer is 503 `unavailable` (logged as a warning), never a 500.
    @Test func postgresRefusingSessionsIsA503() async throws {
        guard let pg = try await PrivatePostgres.start() else { return }
        defer { pg.stopAndRemove() }
        try await APITestEnvironment.with("pgdown", postgresURL: pg.url) { env in
            let video = try await env.recordVideo()
            #expect(try await env.client.get("/videos/\(video.id)").status == 200)

            // The session a smart shutdown waits for; every other one (the API's pool) is closed.
            let holder = try await PGConnection.connect(url: pg.url)
            _ = try await holder.simpleQuery(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'")
                as [[String?]]
            try pg.beginSmartShutdown()
            var refusal = ""
            for _ in 0..<500 where refusal.isEmpty {
                do { await (try await PGConnection.connect(url: pg.url)).close() } catch { refusal = "\(error)" }
                if refusal.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(refusal.contains("57P03"), "new sessions are refused: \(refusal)")

            for path in ["/videos/\(video.id)", "/videos", "/videos/\(video.id)", "/videos"] {
                let r = try await env.client.get(path)
                #expect(r.status == 503, "\(path): \(r.status) \(r.text)")
                #expect((try? r.apiError().code) == "unavailable")
            }
            #expect(!env.logs.lines.contains { $0.contains("level=error") }, "an outage is not logged as a bug")
            await holder.close()
        }
    }

    /// A Redis that accepts connections but never answers (SIGSTOP): `GET /videos/{id}` still
    /// answers at once from PostgreSQL, with `progress: null` and a header saying why; the list
    /// does not touch Redis at all.
    @Test func unresponsiveRedisDoesNotStallVideoReads() async throws {
        guard let redis = try await PrivateRedis.start() else { return }
        defer { redis.destroy() }
        try await APITestEnvironment.with("redisfrozen", redisURL: redis.url) { env in
            let video = try await env.recordVideo()
            try await env.queue.publish(ProgressEvent(videoID: video.id, status: .queued, timestamp: Timestamp.now()))
            let before = try await env.client.get("/videos/\(video.id)")
            #expect(before.status == 200 && before.header("X-Progress-Unavailable") == nil)
            #expect(try before.json()["progress"] is [String: Any], "\(before.text)")

            redis.freeze()
            for _ in 0..<2 {
                let start = ContinuousClock.now
                let r = try await env.client.get("/videos/\(video.id)")
                let elapsed = ContinuousClock.now - start
                #expect(r.status == 200, "\(r.text)")
                #expect(elapsed < .seconds(3), "answered within the progress budget, not after Redis timeouts: \(elapsed)")
                #expect(try r.json()["progress"] is NSNull)
                #expect(try r.json()["status"] as? String == "queued")
                #expect(r.header("X-Progress-Unavailable") != nil, "the answer says the progress is missing, and why")
            }
            let start = ContinuousClock.now
            let list = try await env.client.get("/videos")
            #expect(list.status == 200 && ContinuousClock.now - start < .seconds(3))
            redis.thaw()
        }
    }
}
