import Foundation
import RESP
import Synchronization
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService

/// `Last-Event-ID` over real sockets against real Redis: a client dropped after event k and
/// reconnecting — to another API instance — gets exactly k+1… (published while it was away),
/// then the live events, with no gap and no duplicate.
@Suite struct ProgressResumeTests {
    static func event(_ id: String, _ status: VideoStatus, _ percent: Double, at millisecond: Int64) -> ProgressEvent {
        ProgressSSETests.event(id, status, percent, at: millisecond)
    }

    /// Events until `count` have arrived (retry lines, comments and resets are kept apart).
    static func events(_ stream: TestEventStream, count: Int) async throws -> [SSEFrame] {
        var out: [SSEFrame] = []
        while out.count < count, let frame = try await stream.nextEvent() { out.append(frame) }
        return out
    }

    @Test func aVideoStreamResumesAfterTheLastEventIDOnAnotherInstance() async throws {
        try await APITestEnvironment.with("resume") { env in
            let video = try await env.recordVideo(status: .processing)
            var published: [String] = []
            published.append(try await env.queue.publish(Self.event(video.id, .processing, 1, at: 1)))
            let first = try await TestEventStream.open(port: env.port, "/progress/\(video.id)")
            let snapshot = try #require(try await first.nextEvent())
            #expect(snapshot.id == published[0])
            for i in 2...4 { published.append(try await env.queue.publish(Self.event(video.id, .processing, Double(i), at: Int64(i)))) }
            let seen = try await Self.events(first, count: 3)
            #expect(seen.map(\.id) == Array(published[1...3]))
            let k = try #require(seen.last?.id)
            first.close()  // dropped after event k

            // Published while the client is away (on the other instance too: state is in Redis only).
            for i in 5...9 { published.append(try await env.queue.publish(Self.event(video.id, .processing, Double(i), at: Int64(i)))) }
            let other = try await env.secondInstance()
            defer { Task { await other.shutdown(grace: .seconds(1)) } }
            let resumed = try await TestEventStream.open(port: other.port, "/progress/\(video.id)", headers: [("Last-Event-ID", k)])
            defer { resumed.close() }
            let missed = try await Self.events(resumed, count: 5)
            #expect(missed.map(\.id) == Array(published[4...8]), "exactly k+1…: no gap, no duplicate")
            #expect(try missed.map { try $0.progress()["percent"] as? Double } == [5, 6, 7, 8, 9])
            #expect(missed.allSatisfy { $0.event == nil }, "no reset: the id was honoured")

            // Then live, until the final event ends the stream.
            let live = try await env.queue.publish(Self.event(video.id, .processing, 10, at: 10))
            let done = try await env.queue.publish(Self.event(video.id, .completed, 100, at: 11))
            let tail = try await Self.events(resumed, count: 2)
            #expect(tail.map(\.id) == [live, done])
            #expect(try await resumed.next() == nil, "ends after completed")

            // Reconnecting after the final event: 204, which tells EventSource to stop.
            let after = try await env.client.get("/progress/\(video.id)", headers: [("Last-Event-ID", done)])
            #expect(after.status == 204)
        }
    }

    @Test func theFeedResumesAfterTheLastEventID() async throws {
        try await APITestEnvironment.with("resumefeed") { env in
            let a = VideoID.generate(), b = VideoID.generate()
            let first = try await TestEventStream.open(port: env.port, "/progress")
            _ = try await first.next()  // retry: — sent once subscribed
            var ids: [String] = []
            ids.append(try await env.queue.publish(Self.event(a, .processing, 1, at: 1)))
            ids.append(try await env.queue.publish(Self.event(b, .processing, 1, at: 2)))
            let seen = try await Self.events(first, count: 2)
            #expect(seen.map(\.id) == ids)
            first.close()

            for i in 3...6 { ids.append(try await env.queue.publish(Self.event(i % 2 == 0 ? b : a, .processing, Double(i), at: Int64(i)))) }
            let other = try await env.secondInstance()
            defer { Task { await other.shutdown(grace: .seconds(1)) } }
            // The query form, for clients that cannot set headers.
            let resumed = try await TestEventStream.open(port: other.port, "/progress?last_event_id=\(ids[1])")
            defer { resumed.close() }
            let missed = try await Self.events(resumed, count: 4)
            #expect(missed.map(\.id) == Array(ids[2...5]))
            let live = try await env.queue.publish(Self.event(a, .completed, 100, at: 7))
            let next = try #require(try await resumed.nextEvent())
            #expect(next.id == live, "the feed goes on past a completion")
        }
    }

    /// An id that is not one of ours, one the capped history no longer holds, and one lost with
    /// Redis's data: an `event: reset` says why, then the snapshot — the whole truth.
    @Test func anIDThatCannotBeHonouredStartsFromTheSnapshotAndSaysSo() async throws {
        try await APITestEnvironment.with("resumereset", configure: { $0.progressHistory = ProgressHistoryLimits(perVideo: 10, feed: 10) }) { env in
            let video = try await env.recordVideo(status: .processing)
            let k = try await env.queue.publish(Self.event(video.id, .processing, 1, at: 1))
            for i in 2...40 { try await env.queue.publish(Self.event(video.id, .processing, Double(i), at: Int64(i))) }
            let latest = try #require(try await env.queue.latestProgressEntry(videoID: video.id))

            for (lastEventID, reason) in [("not-an-id", "is not an event id"), (k, "no longer in the event history"), ("1-0", "no longer in the event history")] {
                let stream = try await TestEventStream.open(port: env.port, "/progress/\(video.id)", headers: [("Last-Event-ID", lastEventID)])
                defer { stream.close() }
                let reset = try #require(try await stream.nextEvent())
                #expect(reset.event == "reset" && reset.id == nil)
                #expect(reset.data?.contains(reason) == true, "\(reset.data ?? "")")
                let snapshot = try #require(try await stream.nextEvent())
                #expect(try snapshot.id == latest.id?.description && (try snapshot.progress()["percent"] as? Double) == 40)
            }

            // Redis lost its data (a restart without persistence): the history is gone, the row remains.
            _ = try await env.redis.send("DEL", env.keys.progressHistory(video.id), env.keys.progressKey(video.id), env.keys.progressFeed)
            let stream = try await TestEventStream.open(port: env.port, "/progress/\(video.id)", headers: [("Last-Event-ID", latest.id?.description ?? "")])
            defer { stream.close() }
            #expect(try await stream.nextEvent()?.event == "reset")
            let fromRow = try #require(try await stream.nextEvent())
            #expect(try fromRow.id == nil && (try fromRow.progress()["status"] as? String) == "processing", "made from the row, without an id")
            // New events get new ids and flow as usual.
            let fresh = try await env.queue.publish(Self.event(video.id, .processing, 50, at: 50))
            #expect(try await stream.nextEvent()?.id == fresh)
        }
    }

    /// The history is written in the same script as the publish, so an event published between
    /// SUBSCRIBE and the history read (the hook runs exactly there) is sent once, not twice.
    @Test func anEventPublishedBetweenSubscribeAndTheHistoryReadIsSentOnce() async throws {
        let target = Mutex<(APITestEnvironment?, ProgressEvent?)>((nil, nil))
        var options = APIService.Options()
        options.afterSubscribe = { _ in
            let (env, event) = target.withLock { t in defer { t.1 = nil }; return t }
            if let env, let event { _ = try? await env.queue.publish(event) }
        }
        try await APITestEnvironment.with("resumewindow", options: options) { env in
            let video = try await env.recordVideo(status: .processing)
            let k = try await env.queue.publish(Self.event(video.id, .processing, 1, at: 1))
            let missed = try await env.queue.publish(Self.event(video.id, .processing, 2, at: 2))
            target.withLock { $0 = (env, Self.event(video.id, .processing, 3, at: 3)) }
            let stream = try await TestEventStream.open(port: env.port, "/progress/\(video.id)", headers: [("Last-Event-ID", k)])
            defer { stream.close() }
            let got = try await Self.events(stream, count: 2)
            #expect(got.first?.id == missed)
            #expect(try got.map { try $0.progress()["percent"] as? Double } == [2, 3])
            let next = try await env.queue.publish(Self.event(video.id, .processing, 4, at: 4))
            #expect(try await stream.nextEvent()?.id == next, "the window's event was not sent a second time")
        }
    }
}
