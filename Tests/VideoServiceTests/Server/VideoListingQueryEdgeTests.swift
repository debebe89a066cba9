import Foundation
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService

/// `GET /videos` with hostile query strings: each is a page or a 400 that says what is wrong —
/// never a 500 from PostgreSQL.
@Suite struct VideoListingQueryEdgeTests {
    /// PostgreSQL text cannot hold NUL: `q=%00` used to reach the driver, fail to encode and answer
    /// 500 (logged as a bug). No name can contain NUL, so it is the caller's mistake: a 400.
    @Test(arguments: ["q=%00", "q=a%00b", "q=%00%25", "status=failed&q=clip%00"])
    func aSearchWithANulIsA400(query: String) async throws {
        #expect(throws: APIError(.badRequest, "q must not contain a NUL character (%00)")) { try PageRequest(query: query) }
    }

    /// An offset past the bound was refused as "offset must be a whole number ≥ 0": true of the
    /// value sent, so the person could not tell what to change.
    @Test(arguments: ["offset=10000001", "offset=99999999999999999999", "offset=-1", "offset=abc", "offset="])
    func anOffsetOutOfBoundsSaysTheBounds(query: String) {
        #expect(throws: APIError(.badRequest, "offset must be a whole number from 0 to 10000000")) { try PageRequest(query: query) }
    }

    @Test func theLargestOffsetIsAnEmptyPage() throws {
        #expect(try PageRequest(query: "offset=10000000&limit=100") == PageRequest(limit: 100, offset: 10_000_000))
    }

    @Test func aSearchWithANulIsA400OverHTTPAndOthersStillWork() async throws {
        try await APITestEnvironment.with("list-nul") { env in
            _ = try await env.recordVideo(title: "50%_off \\ sale")
            let nul = try await env.client.get("/videos?q=50%00")
            #expect(nul.status == 400 && (try? nul.apiError().code) == "bad_request", "\(nul.status) \(nul.text)")
            #expect(!env.logs.lines.contains { $0.contains("level=error") }, "a refusal, not a failure logged as a bug")
            // `%`, `_` and `\` are literal; invalid UTF-8 is no match, not an error.
            for (q, total) in [("%25_off", 1), ("%5C", 1), ("_", 1), ("%FF%FE", 0), ("50%25_off+%5C+sale", 1)] {
                let r = try await env.client.get("/videos?q=\(q)")
                let found = try r.json()["total"] as? Int
                #expect(r.status == 200 && found == total, "q=\(q): \(r.status) \(r.text)")
            }
        }
    }
}
