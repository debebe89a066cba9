import Foundation
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService

/// A video made private while a caller without a token watches `GET /progress/{id}`: a new
/// request would get a 404, so the open stream must not go on relaying its events (it did, to
/// the end of the transcode: status, stage, error text of a video its owner has hidden).
@Suite struct ProgressMadePrivateTests {
    static let token = PrivatePlaybackTests.token

    static func update(_ videoID: String, _ percent: Double) -> ProgressEvent {
        ProgressEvent(videoID: videoID, status: .processing, stage: .transcoding, percent: percent,
                      timestamp: Timestamp.rfc3339(milliseconds: Timestamp.nowMilliseconds()))
    }

    @Test func theStreamOfAVideoMadePrivateEndsForACallerWithoutAToken() async throws {
        try await APITestEnvironment.with("made-private", tokens: [Self.token], configure: PrivatePlaybackTests.withKeys([PrivatePlaybackTests.keyA])) { env in
            let video = try await env.recordVideo(status: .processing)
            let anonymous = try await TestEventStream.open(port: env.port, "/progress/\(video.id)")
            defer { anonymous.close() }
            let owner = try await TestEventStream.open(port: env.port, "/progress/\(video.id)", headers: PrivatePlaybackTests.auth)
            defer { owner.close() }
            let connections = [anonymous.connection, owner.connection]
            let watchdog = Task { try await Task.sleep(for: .seconds(5)); for c in connections { c.close() } }
            defer { watchdog.cancel() }
            _ = try #require(try await anonymous.nextEvent())
            _ = try #require(try await owner.nextEvent())
            let before = try await env.queue.publish(Self.update(video.id, 10))
            #expect(try await anonymous.nextEvent()?.id == before, "public: both see it")
            #expect(try await owner.nextEvent()?.id == before)

            let patch = try await env.client.request("PATCH", "/videos/\(video.id)",
                                                     headers: PrivatePlaybackTests.auth + [("Content-Type", "application/json")],
                                                     body: .bytes(Array(#"{"visibility":"private"}"#.utf8)))
            #expect(patch.status == 200)
            let after = try await env.queue.publish(Self.update(video.id, 20))
            #expect(try await owner.nextEvent()?.id == after, "the token holder goes on seeing it")
            #expect(try await anonymous.nextEvent() == nil, "the caller without a token gets no more: the stream ends")
            #expect(anonymous.endedCleanly)
        }
    }
}
