import Foundation
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService

/// `GET /media/{id}/{path}` with preconditions that fail: the error body's code must say what the
/// status says.
@Suite struct MediaConditionalEdgeTests {
    @Test(arguments: [
        ("If-Match", "\"not-this-one\""),
        ("If-Unmodified-Since", "Mon, 01 Jan 1990 00:00:00 GMT"),
    ])
    func aFailedPreconditionIsA412WithItsOwnCode(header: String, value: String) async throws {
        try await APITestEnvironment.with("media-412") { env in
            let id = VideoID.generate()
            try await env.put(ObjectKeys.mp4(videoID: id, height: 360), patternBytes(100))
            let r = try await env.client.get("/media/\(id)/mp4/360p.mp4", headers: [(header, value)])
            #expect(r.status == 412)
            let error = try r.apiError()
            #expect(error.code == "precondition_failed", "a 412's body said bad_request: \(r.text)")
            #expect(error.message.contains(header), "and names the header that failed: \(error.message)")
        }
    }
}
