import Foundation
import RESP
import Synchronization
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

/// `GET /progress/{id}` and `GET /progress` against real Redis pub/sub.
@Suite struct ProgressSSETests {
    static func event(_ id: String, _ status: VideoStatus, _ percent: Double, at millisecond: Int64) -> ProgressEvent {
        ProgressEvent(videoID: id, status: status, stage: status == .processing ? .transcoding : nil, percent: percent,
                      timestamp: Timestamp.rfc3339(milliseconds: 1_800_000_000_000 + millisecond))
    }

    /// Publishes on the video's channel only (no snapshot key update).
    static func publishOnly(_ env: APITestEnvironment, _ event: ProgressEvent) async throws {
        _ = try await env.redis.publish(env.keys.progressChannel(event.videoID), event.jsonString())
    }

    @Test func snapshotFirstThenUpdatesWithIDsThenEndsOnCompleted() async throws {
        try await APITestEnvironment.with("sse") { env in
            let video = try await env.recordVideo(status: .processing)
            try await env.queue.publish(Self.event(video.id, .processing, 10, at: 1))

            let stream = try await TestEventStream.open(port: env.port, "/progress/\(video.id)")
            defer { stream.close() }
            #expect(stream.headers.contains { $0.0.lowercased() == "content-type" && $0.1 == "text/event-stream" })
            let retry = try #require(try await stream.next())
            #expect(retry.retry == 2000, "a reconnection delay comes first")
            let snapshot = try #require(try await stream.nextEvent())
            let snapshotID = try await env.queue.latestProgressEntry(videoID: video.id)?.id?.description
            #expect(try snapshot.id == snapshotID && (try snapshot.progress()["percent"] as? Double) == 10, "the snapshot carries its event id")

            // Subscribed before the snapshot was read: everything published from now on arrives,
            // each under the id it was published with.
            let fifty = try await env.queue.publish(Self.event(video.id, .processing, 50, at: 2))
            try await env.queue.publish(Self.event(VideoID.generate(), .processing, 99, at: 3))  // another video's channel
            let completed = try await env.queue.publish(Self.event(video.id, .completed, 100, at: 4))
            let update = try #require(try await stream.nextEvent())
            #expect(try update.id == fifty && (try update.progress()["percent"] as? Double) == 50)
            let done = try #require(try await stream.nextEvent())
            #expect(try done.id == completed && (try done.progress()["status"] as? String) == "completed")
            #expect(try await stream.next() == nil, "the stream ends after completed")
        }
    }

    /// An update published in the window between SUBSCRIBE and the snapshot read (the hook runs
    /// exactly there) is delivered after the snapshot; one the snapshot already covers is not
    /// delivered twice.
    @Test func anUpdatePublishedAtSubscriptionTimeIsNotLost() async throws {
        let hookTarget = Mutex<(APITestEnvironment?, [ProgressEvent])>((nil, []))
        var options = APIService.Options()
        options.afterSubscribe = { _ in
            let (env, pending) = hookTarget.withLock { t in defer { t.1 = [] }; return t }
            guard let env else { return }
            for event in pending {
                // The first goes to the channel only; the second also replaces the snapshot.
                if event.percent < 60 { try? await Self.publishOnly(env, event) } else { _ = try? await env.queue.publish(event) }
            }
        }
        try await APITestEnvironment.with("ssewindow", options: options) { env in
            let video = try await env.recordVideo(status: .processing)
            try await env.queue.publish(Self.event(video.id, .processing, 10, at: 1))
            hookTarget.withLock { $0 = (env, [Self.event(video.id, .processing, 30, at: 2)]) }
            let stream = try await TestEventStream.open(port: env.port, "/progress/\(video.id)")
            defer { stream.close() }
            let percents = [try await stream.nextEvent(), try await stream.nextEvent()].map { try? $0?.progress()["percent"] as? Double }
            #expect(percents == [10, 30], "snapshot, then the update published while it was being read")

            hookTarget.withLock { $0 = (env, [Self.event(video.id, .processing, 70, at: 5)]) }
            let second = try await TestEventStream.open(port: env.port, "/progress/\(video.id)")
            defer { second.close() }
            let first = try #require(try await second.nextEvent())
            #expect(try first.progress()["percent"] as? Double == 70, "the snapshot already holds the update")
            let failedID = try await env.queue.publish(Self.event(video.id, .failed, 70, at: 6))
            let last = try #require(try await second.nextEvent())
            #expect(try last.id == failedID && (try last.progress()["status"] as? String) == "failed", "the held duplicate was skipped")
            #expect(try await second.next() == nil)
        }
    }

    @Test func heartbeatsArriveWhileNothingHappens() async throws {
        var options = APIService.Options()
        options.heartbeat = .milliseconds(200)
        try await APITestEnvironment.with("sseheartbeat", options: options) { env in
            let video = try await env.recordVideo(status: .processing)
            let stream = try await TestEventStream.open(port: env.port, "/progress/\(video.id)")
            defer { stream.close() }
            var comments = 0
            var events = 0
            // Heartbeats are due whenever the stream was idle for 200 ms, so on a loaded machine
            // they may come before the snapshot (subscribe + two reads): wait for both.
            while comments < 2 || events < 1, let frame = try await stream.next() {
                if frame.isComment { comments += 1 }
                if frame.data != nil { events += 1 }
            }
            #expect(comments >= 2, "heartbeat comments keep the idle stream alive")
            #expect(events == 1, "only the snapshot (made from the row) was an event")
        }
    }

    @Test func aFinishedVideoGetsOneFinalEventAndTheStreamEnds() async throws {
        try await APITestEnvironment.with("ssefinal") { env in
            // No progress key (expired): the final event is made from the row.
            let completed = try await env.recordVideo(status: .completed)
            let stream = try await TestEventStream.open(port: env.port, "/progress/\(completed.id)")
            defer { stream.close() }
            let final = try #require(try await stream.nextEvent())
            let body = try final.progress()
            #expect(body["status"] as? String == "completed" && body["percent"] as? Double == 100 && body["video_id"] as? String == completed.id)
            #expect(body["timestamp"] as? String == completed.completedAt)
            #expect(try await stream.next() == nil)

            // A stale non-final snapshot does not keep the stream of a failed video open.
            let failed = try await env.recordVideo(status: .failed, error: "no video stream in the file")
            try await env.queue.publish(Self.event(failed.id, .processing, 20, at: 1))
            let second = try await TestEventStream.open(port: env.port, "/progress/\(failed.id)")
            defer { second.close() }
            let failure = try #require(try await second.nextEvent()).progress()
            #expect(failure["status"] as? String == "failed" && failure["error"] as? String == "no video stream in the file")
            #expect(try await second.next() == nil)
        }
    }

    /// Pub/sub is at-most-once: a final event published while the API's subscriber connection is
    /// down never reaches it. The stream must still end with that event (re-read from the
    /// snapshot once the subscriptions are restored) instead of staying open for ever. The lost
    /// publish is made deterministic: the snapshot key turns final without any PUBLISH, then the
    /// subscriber's connection is killed.
    @Test func aFinalEventLostWhilePubSubWasDownStillEndsTheStream() async throws {
        var options = APIService.Options()
        // No heartbeats: if the final event never comes, the client's 30 s read bound fails the
        // test instead of heartbeats keeping it waiting for ever.
        options.heartbeat = .seconds(3600)
        try await APITestEnvironment.with("ssegap", options: options) { env in
            let video = try await env.recordVideo(status: .processing)
            try await env.queue.publish(Self.event(video.id, .processing, 10, at: 1))
            let stream = try await TestEventStream.open(port: env.port, "/progress/\(video.id)")
            defer { stream.close() }
            _ = try #require(try await stream.nextEvent())  // the snapshot: subscribed by now

            let final = Self.event(video.id, .completed, 100, at: 2)
            _ = try await env.redis.send("SET", env.keys.progressKey(video.id), final.jsonString())
            let clients = try await env.redis.send("CLIENT", "LIST", "TYPE", "pubsub").string ?? ""
            let name = "name=\(env.name.replacing(":", with: "_"))"
            let ids = clients.split(separator: "\n").filter { $0.split(separator: " ").contains { $0 == name } }
                .compactMap { $0.split(separator: " ").first { $0.hasPrefix("id=") }?.dropFirst(3) }.map(String.init)
            try #require(ids.count == 1, "one pub/sub connection named \(name): \(clients)")
            _ = try await env.redis.send("CLIENT", "KILL", "ID", ids[0])

            let done = try #require(try await stream.nextEvent(), "the stream ended without the final event")
            #expect(try done.progress()["status"] as? String == "completed")
            #expect(try await stream.next() == nil, "the stream ends after completed")
        }
    }

    @Test func unknownVideoIsA404BeforeStreaming() async throws {
        try await APITestEnvironment.with("sse404") { env in
            for path in ["/progress/\(VideoID.generate())", "/progress/nope"] {
                let response = try await env.client.get(path)
                #expect(response.status == 404 && response.header("Content-Type") == "application/json")
                #expect(try response.apiError().code == "not_found")
            }
        }
    }

    @Test func allVideosStreamOutlivesCompletionsAndEndsAtShutdown() async throws {
        try await APITestEnvironment.with("sseall") { env in
            let stream = try await TestEventStream.open(port: env.port, "/progress")
            defer { stream.close() }
            _ = try await stream.next()  // retry: — sent once subscribed
            let a = VideoID.generate(), b = VideoID.generate()
            try await env.queue.publish(Self.event(a, .completed, 100, at: 1))
            try await env.queue.publish(Self.event(b, .processing, 5, at: 2))
            let first = try #require(try await stream.nextEvent()).progress()
            let second = try #require(try await stream.nextEvent()).progress()
            #expect(first["video_id"] as? String == a && second["video_id"] as? String == b)
            #expect(env.service.handlers.progressStreams.count == 1)

            async let stopped: Void = env.service.shutdown(grace: .seconds(30))
            #expect(try await stream.next() == nil, "shutdown ends the stream")
            #expect(stream.endedCleanly, "with the last chunk: the response completed, it was not cut at the grace deadline")
            stream.close()
            await stopped
            #expect(env.service.handlers.progressStreams.count == 0)
        }
    }
}
