import Foundation
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService

/// `HEAD` of a private video's signed playlist said `Content-Length: 0` (the body was dropped
/// before the length was known), where GET sends the rewritten playlist: a HEAD must describe
/// what GET would send (RFC 9110 §9.3.2).
@Suite struct SignedPlaylistHeadTests {
    @Test func headOfASignedPlaylistHasTheLengthGetSends() async throws {
        try await APITestEnvironment.with("signed-head", tokens: [PrivatePlaybackTests.token],
                                          configure: PrivatePlaybackTests.withKeys([PrivatePlaybackTests.keyA])) { env in
            let video = try await PrivatePlaybackTests.completedVideo(env, visibility: .private)
            let master = try #require(try await env.client.get("/videos/\(video.id)", headers: PrivatePlaybackTests.auth).json()["hls_master_url"] as? String)
            let get = try await env.client.get(master)
            #expect(get.status == 200 && !get.body.isEmpty)
            let head = try await env.client.request("HEAD", master)
            #expect(head.status == 200 && head.body.isEmpty)
            #expect(head.header("Content-Length") == String(get.body.count), "HEAD said \(head.header("Content-Length") ?? "nothing"), GET sent \(get.body.count)")
            #expect(head.header("Content-Type") == get.header("Content-Type"))
        }
    }
}
