import Foundation
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

/// `PATCH /videos/{id}` (the title) and `GET /videos?q=` (search by name).
@Suite struct VideoEditAndSearchTests {
    @Test func patchChangesTheTitleAndNothingElse() async throws {
        let token = "edit-token-0123456789"
        try await APITestEnvironment.with("patch", tokens: [token]) { env in
            let video = try await env.recordVideo(title: "Before", status: .completed)
            let auth = [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")]
            let denied = try await env.client.request("PATCH", "/videos/\(video.id)", headers: [("Content-Type", "application/json")],
                                                      body: .bytes(Array(#"{"title":"x"}"#.utf8)))
            #expect(denied.status == 401, "token-protected like the other mutations")

            let ok = try await env.client.request("PATCH", "/videos/\(video.id)", headers: auth, body: .bytes(Array(#"{"title":"  Holiday in Tōkyō 🎌  "}"#.utf8)))
            #expect(ok.status == 200, "\(ok.text)")
            let body = try ok.json()
            #expect(body["title"] as? String == "Holiday in Tōkyō 🎌" && body["status"] as? String == "completed")
            #expect(try await env.store.video(id: video.id)?.title == "Holiday in Tōkyō 🎌", "persisted")
            #expect(try await env.store.video(id: video.id)?.status == .completed)

            let merge = try await env.client.request("PATCH", "/videos/\(video.id)", headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/merge-patch+json")],
                                                     body: .bytes(Array(#"{"title":"Merged"}"#.utf8)))
            let merged = try merge.json()
            #expect(merge.status == 200 && merged["title"] as? String == "Merged")

            let cases: [(String, Int, String)] = [
                (#"{"title": 5}"#, 422, "title must be a string"),
                (#"{"title": "   "}"#, 422, "title must not be empty"),
                (#"{}"#, 422, "nothing to change"),
                (#"{"title": "a", "status": "completed"}"#, 422, "only title and visibility can be changed; unknown field status"),
                (#"["title"]"#, 422, "the body must be a JSON object"),
                (#""title""#, 422, "the body must be a JSON object"),
                (#"{"title": "a\nb"}"#, 422, "control characters"),
                ("{\"title\": \"\(String(repeating: "é", count: 501))\"}", 422, "longer than 500"),
                ("{\"title\": ", 400, "not JSON"),
                ("", 400, "not JSON"),
            ]
            for (json, status, message) in cases {
                let r = try await env.client.request("PATCH", "/videos/\(video.id)", headers: auth, body: .bytes(Array(json.utf8)))
                #expect(r.status == status && ((try? r.apiError().message) ?? "").contains(message), "\(json): \(r.status) \(r.text)")
            }
            let exactly500 = String(repeating: "é", count: 500)
            let long = try await env.client.request("PATCH", "/videos/\(video.id)", headers: auth, body: .bytes(Array("{\"title\":\"\(exactly500)\"}".utf8)))
            #expect(long.status == 200)
            let text = try await env.client.request("PATCH", "/videos/\(video.id)", headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "text/plain")],
                                                    body: .bytes(Array(#"{"title":"x"}"#.utf8)))
            #expect(text.status == 415)
            #expect(try await env.store.video(id: video.id)?.title == exactly500, "refused bodies changed nothing")

            let missing = try await env.client.request("PATCH", "/videos/\(VideoID.generate())", headers: auth, body: .bytes(Array(#"{"title":"x"}"#.utf8)))
            #expect(missing.status == 404 && (try? missing.apiError().code) == "not_found")
            let notUUID = try await env.client.request("PATCH", "/videos/nope", headers: auth, body: .bytes(Array(#"{"title":"x"}"#.utf8)))
            #expect(notUUID.status == 404)
        }
    }

    @Test func searchFindsNamesCaseInsensitivelyAndLiterally() async throws {
        try await APITestEnvironment.with("search") { env in
            let names: [(String?, String)] = [
                ("Holiday in Tōkyō", "a.mp4"), ("HOLIDAY reel", "b.mp4"), ("100% real", "c.mp4"), ("snake_case clip", "d.mp4"),
                ("back\\slash", "e.mp4"), (nil, "Birthday_Party.MOV"), ("Other", "f.mp4"),
            ]
            var ids: [String: String] = [:]
            for (title, file) in names {
                ids[title ?? file] = try await env.recordVideo(title: title, status: .completed, originalName: file).id
            }
            func search(_ q: String, _ extra: String = "") async throws -> (names: [String], total: Int) {
                let encoded = q.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? q
                let body = try await env.client.get("/videos?q=\(encoded)\(extra)").json()
                let videos = body["videos"] as? [[String: Any]] ?? []
                return (videos.map { ($0["title"] as? String) ?? ($0["original_name"] as? String) ?? "?" }, body["total"] as? Int ?? -1)
            }
            #expect(Set(try await search("holiday").names) == ["Holiday in Tōkyō", "HOLIDAY reel"])
            #expect(try await search("TŌKYŌ").names == ["Holiday in Tōkyō"], "case-insensitive beyond ASCII")
            #expect(try await search("%").names == ["100% real"], "% is a character, not a wildcard")
            #expect(try await search("_").names.sorted() == ["Birthday_Party.MOV", "snake_case clip"], "_ too")
            #expect(try await search("\\").names == ["back\\slash"], "and the escape character")
            #expect(try await search("birthday").names == ["Birthday_Party.MOV"], "untitled videos are found by file name")
            #expect(try await search("nothing like it").total == 0)
            let paged = try await search("holiday", "&limit=1")
            #expect(paged.names.count == 1 && paged.total == 2, "total counts every match, not the page")
            let filtered = try await env.client.get("/videos?q=holiday&status=failed").json()
            #expect(filtered["total"] as? Int == 0)
            #expect(try await search("   ").total == names.count, "a blank search is no search")
            let tooLong = try await env.client.get("/videos?q=\(String(repeating: "a", count: 201))")
            #expect(tooLong.status == 400)

            // The index serves it: the plan of the listing's statement uses it once the table is big
            // enough that a scan would cost more (sequential scans off makes that so now).
            let plan: [[String?]] = try await env.context.store.db.withConnection { c in
                _ = try await c.simpleQuery("SET enable_seqscan = off")
                return try await c.simpleQuery("EXPLAIN SELECT id FROM videos WHERE coalesce(title, original_name, '') ILIKE '%holiday%'")
            }
            #expect(plan.compactMap { $0.first ?? nil }.joined(separator: "\n").contains("videos_name_trgm_idx"), "\(plan)")
        }
    }

    @Test(arguments: [("abc", "%abc%"), ("50%", "%50\\%%"), ("a_b", "%a\\_b%"), ("c:\\d", "%c:\\\\d%"), ("", "%%")])
    func containsPatternEscapesLikeMetacharacters(_ text: String, _ pattern: String) {
        #expect(PageRequest.containsPattern(text) == pattern)
    }

    @Test func failedVideosSayWhatWentWrongAndWhetherRetryHelps() async throws {
        try await APITestEnvironment.with("failure") { env in
            let bad = try await env.recordVideo(status: .failed, error: "source/x/a.mp4: not a media file (Invalid data found when processing input)",
                                                failureCode: .notMedia)
            let temporary = try await env.recordVideo(status: .failed, error: "attempt 3 of 3 failed: storage: connection refused", failureCode: .temporary)
            let old = try await env.recordVideo(status: .failed, error: "something")
            let done = try await env.recordVideo(status: .completed)

            let badJSON = try await env.client.get("/videos/\(bad.id)").json()
            let failure = try #require(badJSON["failure"] as? [String: Any])
            #expect(failure["code"] as? String == "not_media" && failure["retryable"] as? Bool == false)
            let message = try #require(failure["message"] as? String)
            #expect(!message.contains("source/") && !message.contains("Invalid data"), "words for people: \(message)")
            #expect(failure["detail"] as? String == badJSON["error_message"] as? String)

            let temporaryFailure = try #require(try await env.client.get("/videos/\(temporary.id)").json()["failure"] as? [String: Any])
            #expect(temporaryFailure["code"] as? String == "temporary" && temporaryFailure["retryable"] as? Bool == true)
            let oldFailure = try #require(try await env.client.get("/videos/\(old.id)").json()["failure"] as? [String: Any])
            #expect(oldFailure["code"] is NSNull && oldFailure["retryable"] as? Bool == true && oldFailure["message"] as? String == FailureCode.unknownMessage)
            #expect(try await env.client.get("/videos/\(done.id)").json()["failure"] is NSNull)

            // The listing carries it too, and a retry clears it.
            let list = try await env.client.get("/videos?status=failed").json()["videos"] as? [[String: Any]] ?? []
            #expect(list.filter { $0["failure"] is [String: Any] }.count == 3)
            _ = try await env.store.requeueFailed(id: temporary.id)
            #expect(try await env.store.video(id: temporary.id)?.failureCode == nil)
        }
    }
}
