import Foundation
import PGWire
import RESP
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore

/// A video recorded while Redis was down (its upload answered 503) is not stuck: the row is the
/// durable intent to enqueue it, a reconciler in every vidd process finishes the enqueue once —
/// however many run at once — and `retry` accepts it too.
@Suite struct EnqueueRecoveryTests {
    /// Takes every pending row, however recent.
    static let immediate: EnqueueReconciler.Options = {
        var o = EnqueueReconciler.Options()
        o.delay = .zero
        return o
    }()

    /// Raw uploads through an API whose Redis is down: 503 each, rows recorded `queued`.
    func uploadsRefusedByAnOutage(_ env: APITestEnvironment, count: Int) async throws -> [String] {
        let responses = try await env.withAPIWhoseRedisIsDown { client in
            var out: [TestHTTPResponse] = []
            for i in 0..<count {
                out.append(try await client.request("POST", "/jobs?name=outage\(i).mp4", headers: [("Content-Type", "video/mp4")],
                                                    body: .bytes(patternBytes(500 + i))))
            }
            return out
        }
        #expect(responses.map(\.status) == Array(repeating: 503, count: count))
        let videos = try await env.store.listVideos(PageRequest(limit: 100)).videos
        #expect(videos.count == count && videos.allSatisfy { $0.status == .queued }, "recorded before the enqueue")
        #expect(try await env.streamEntries().isEmpty)
        return videos.map(\.id)
    }

    /// Another process's view: its own PostgreSQL pool and Redis client on the same database and names.
    func process(_ env: APITestEnvironment) throws -> ServiceContext {
        let pool = PGPool(configuration: try TestDatabase.configuration(url: env.database.url, schema: env.database.schema))
        return ServiceContext(configuration: env.context.configuration, logger: env.context.logger, metrics: MetricsRegistry(),
                              database: pool, redis: try RESPClient(url: env.context.configuration.redisURL), storage: env.storage)
    }

    @Test func videosWhoseEnqueueFailedAreEnqueuedOnceByConcurrentReconcilers() async throws {
        try await APITestEnvironment.with("outbox") { env in
            let ids = try await uploadsRefusedByAnOutage(env, count: 3)
            let processes = try (0..<4).map { _ in try process(env) }
            let options = Self.immediate
            let enqueued = try await withThrowingTaskGroup(of: [String].self) { group in
                for context in processes {
                    group.addTask { try await EnqueueReconciler(context: context, options: options).reconcileOnce() }
                }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            #expect(enqueued.sorted() == ids.sorted(), "each video enqueued by exactly one reconciler")
            let entries = try await env.streamEntries()
            #expect(entries.count == ids.count && Set(entries.compactMap { $0["video_id"] }) == Set(ids))
            for id in ids {
                let snapshot = try #require(try await env.queue.latestProgress(videoID: id))
                #expect(snapshot.status == .queued, "the queued snapshot is announced")
            }
            #expect(try await EnqueueReconciler(context: processes[0], options: options).reconcileOnce().isEmpty, "nothing left to do")
            #expect(try await env.streamEntries().count == ids.count)
            for context in processes {
                await context.database.close()
                await context.redis.shutdown()
            }
        }
    }

    /// What the reconciler must leave alone: a video recorded moments ago (its API may still be
    /// enqueueing it), one enqueued normally, and one whose entry was added but whose row was not
    /// marked (the API stopped in between) — that one is only marked, not enqueued twice.
    @Test func reconcilerLeavesRecentAndEnqueuedVideosAlone() async throws {
        try await APITestEnvironment.with("outboxskip") { env in
            let fresh = try await env.recordVideo()
            #expect(try await EnqueueReconciler(context: env.context).reconcileOnce().isEmpty, "recorded within the delay")

            let normal = try await env.client.request("POST", "/jobs?name=normal.mp4", headers: [("Content-Type", "video/mp4")],
                                                      body: .bytes(patternBytes(300)))
            #expect(normal.status == 202)
            let halfDone = try await env.recordVideo()
            try await env.queue.enqueueAnnouncingQueued(
                JobMessage(videoID: halfDone.id, sourceKey: halfDone.sourceKey, enqueuedAt: Timestamp.now()),
                event: ProgressEvent(videoID: halfDone.id, status: .queued, timestamp: Timestamp.now()))
            #expect(try await env.streamEntries().count == 2)

            let options = Self.immediate
            let enqueued = try await EnqueueReconciler(context: env.context, options: options).reconcileOnce()
            #expect(enqueued == [fresh.id], "only the video never enqueued")
            let entries = try await env.streamEntries()
            #expect(entries.count == 3)
            #expect(entries.filter { $0["video_id"] == halfDone.id }.count == 1, "not enqueued twice")
            #expect(try await EnqueueReconciler(context: env.context, options: options).reconcileOnce().isEmpty)
        }
    }

    /// `POST /videos/{id}/retry` on a video whose upload answered 503: accepted and enqueued once.
    @Test func retryAcceptsAVideoWhoseEnqueueFailed() async throws {
        try await APITestEnvironment.with("outboxretry") { env in
            let ids = try await uploadsRefusedByAnOutage(env, count: 1)
            let id = try #require(ids.first)
            let retried = try await env.client.request("POST", "/videos/\(id)/retry")
            #expect(retried.status == 202, "\(retried.text)")
            #expect(try await env.streamEntries().filter { $0["video_id"] == id }.count == 1)
            let again = try await env.client.request("POST", "/videos/\(id)/retry")
            #expect(again.status == 409, "enqueued now: \(again.text)")
            let options = Self.immediate
            #expect(try await EnqueueReconciler(context: env.context, options: options).reconcileOnce().isEmpty)
            #expect(try await env.streamEntries().count == 1)
        }
    }
}
