import Foundation
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService

/// A video deleted while a client watches `GET /progress/{id}`: no progress event can come for it
/// again, so the stream must end (it used to stay open for ever, heartbeats only).
@Suite struct ProgressDeletedVideoTests {
    @Test func deletingAWatchedVideoEndsItsStreamWithADeletedEvent() async throws {
        try await APITestEnvironment.with("sse-deleted") { env in
            let video = try await env.recordVideo(status: .processing)
            let stream = try await TestEventStream.open(port: env.port, "/progress/\(video.id)")
            defer { stream.close() }
            // A stream that hangs sends heartbeats only: cut it after a bound, so the test fails.
            let connection = stream.connection
            let watchdog = Task { try await Task.sleep(for: .seconds(5)); connection.close() }
            defer { watchdog.cancel() }
            let snapshot = try #require(try await stream.nextEvent())
            #expect(try snapshot.progress()["status"] as? String == "processing")

            let deleted = try await env.client.request("DELETE", "/videos/\(video.id)")
            #expect(deleted.status == 204)
            let last = try #require(try await stream.nextEvent(), "an event says why the stream ends")
            #expect(last.event == "deleted" && last.id == nil)
            #expect(last.data == "{\"video_id\":\"\(video.id)\"}")
            #expect(try await stream.next() == nil, "then the stream ends")
            #expect(stream.endedCleanly)
            let again = try await env.client.get("/progress/\(video.id)")
            #expect(again.status == 404, "a reconnecting EventSource gets a 404 and stops")
        }
    }

    /// Another video's delete, and the feed: neither ends a stream that is not about it.
    @Test func anotherVideosDeleteEndsNeitherThisStreamNorTheFeed() async throws {
        try await APITestEnvironment.with("sse-deleted-other") { env in
            let watched = try await env.recordVideo(status: .processing)
            let other = try await env.recordVideo(status: .processing)
            let stream = try await TestEventStream.open(port: env.port, "/progress/\(watched.id)")
            defer { stream.close() }
            let feed = try await TestEventStream.open(port: env.port, "/progress")
            defer { feed.close() }
            _ = try #require(try await stream.nextEvent())
            #expect(try await feed.next()?.retry != nil)

            #expect(try await env.client.request("DELETE", "/videos/\(other.id)").status == 204)
            let update = ProgressEvent(videoID: watched.id, status: .completed, percent: 100,
                                       timestamp: Timestamp.rfc3339(milliseconds: Timestamp.nowMilliseconds() + 1000))
            let id = try await env.queue.publish(update)
            let next = try #require(try await stream.nextEvent())
            #expect(next.id == id && next.event == nil, "the watched video's stream went on to its own final event")
            let fed = try #require(try await feed.nextEvent())
            #expect(fed.id == id && fed.event == nil, "the feed is not ended by a delete")
        }
    }
}
