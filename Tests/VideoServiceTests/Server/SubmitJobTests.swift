import Foundation
import Testing
import Reactor
import RESP
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

/// `POST /jobs` over real sockets: each form lands byte-exact in storage, records a `queued` row
/// and adds one stream entry with the job's fields; bad requests get JSON errors.
@Suite struct SubmitJobTests {
    /// Checks what every accepted submission must leave behind; returns the video JSON.
    func expectAccepted(_ response: TestHTTPResponse, _ env: APITestEnvironment, sourceKey expectedKey: String? = nil,
                        title: String?, originalName: String?) async throws -> [String: Any] {
        #expect(response.status == 202, "\(response.text)")
        let video = try response.json()
        let id = try #require(video["id"] as? String)
        #expect(response.header("Location") == "/videos/\(id)")
        #expect(video["status"] as? String == "queued")
        let row = try #require(try await env.store.video(id: id))
        #expect(row.status == .queued && row.title == title && row.originalName == originalName)
        if let expectedKey { #expect(row.sourceKey == expectedKey) }
        #expect(video["source_key"] as? String == row.sourceKey)
        let entries = try await env.streamEntries().filter { $0["video_id"] == id }
        #expect(entries.count == 1, "one stream entry for the video")
        if let entry = entries.first {
            #expect(entry["source_key"] == row.sourceKey && entry["attempt"] == "1" && entry["enqueued_at"] != nil)
            #expect(entry["title"] == title && entry["original_name"] == originalName)
        }
        let snapshot = try #require(try await env.queue.snapshot(videoID: id))
        #expect(try ProgressEvent.decode(Array(snapshot.utf8)).status == .queued, "the queued snapshot is announced")
        return video
    }

    @Test func rawUploadStreamsByteExactIntoStorage() async throws {
        try await APITestEnvironment.with("raw") { env in
            let bytes = patternBytes(3 * 1024 * 1024 + 17)
            let chunks = stride(from: 0, to: bytes.count, by: 65_536).map { Array(bytes[$0..<min($0 + 65_536, bytes.count)]) }
            let response = try await env.client.request("POST", "/jobs?name=My%20Clip%20(1).mp4&title=Hello+there",
                                                        headers: [("Content-Type", "video/mp4")], body: .chunked(chunks))
            let video = try await expectAccepted(response, env, title: "Hello there", originalName: "My Clip (1).mp4")
            let id = try #require(video["id"] as? String)
            #expect(video["source_key"] as? String == "source/\(id)/My_Clip_1_.mp4")
            #expect(try await env.storage.get(key: "source/\(id)/My_Clip_1_.mp4") == bytes, "stored byte for byte")
            // With Content-Length too, and application/octet-stream.
            let small = patternBytes(1000, seed: 7)
            let second = try await env.client.request("POST", "/jobs?name=b.bin", headers: [("Content-Type", "application/octet-stream")], body: .bytes(small))
            let other = try await expectAccepted(second, env, title: nil, originalName: "b.bin")
            #expect(try await env.storage.get(key: other["source_key"] as! String) == small)
        }
    }

    static func multipartBody(boundary: String, fileName: String, file: [UInt8], fieldsBefore: [(String, String)] = [],
                              fieldsAfter: [(String, String)] = []) -> [UInt8] {
        func field(_ name: String, _ value: String) -> [UInt8] {
            Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        var body: [UInt8] = []
        for (n, v) in fieldsBefore { body += field(n, v) }
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(fileName)\"\r\nContent-Type: video/mp4\r\n\r\n".utf8)
        body += file + [13, 10]
        for (n, v) in fieldsAfter { body += field(n, v) }
        body += Array("--\(boundary)--\r\n".utf8)
        return body
    }

    @Test func multipartFileFieldStreamsByteExact() async throws {
        try await APITestEnvironment.with("multipart") { env in
            let boundary = "----vidd-test-boundary-4f2a"
            // Content that nearly contains the delimiter, at chunk edges too.
            var file = patternBytes(2 * 1024 * 1024, seed: 11)
            let nearDelimiter = Array("\r\n--\(boundary.dropLast())X".utf8)
            for at in [0, 65_530, 1_000_000, file.count - nearDelimiter.count] { file.replaceSubrange(at..<(at + nearDelimiter.count), with: nearDelimiter) }
            let body = Self.multipartBody(boundary: boundary, fileName: "holiday clip.mp4", file: file, fieldsBefore: [("title", "Holiday")])
            let chunks = stride(from: 0, to: body.count, by: 40_000).map { Array(body[$0..<min($0 + 40_000, body.count)]) }
            let response = try await env.client.request("POST", "/jobs", headers: [("Content-Type", "multipart/form-data; boundary=\"\(boundary)\"")],
                                                        body: .chunked(chunks))
            let video = try await expectAccepted(response, env, title: "Holiday", originalName: "holiday clip.mp4")
            let id = try #require(video["id"] as? String)
            #expect(try await env.storage.get(key: "source/\(id)/holiday_clip.mp4") == file)

            // A title field after the file part counts too.
            let after = Self.multipartBody(boundary: "b0undary", fileName: "x.mp4", file: patternBytes(5000, seed: 3), fieldsAfter: [("title", "After")])
            let second = try await env.client.request("POST", "/jobs", headers: [("Content-Type", "multipart/form-data; boundary=b0undary")], body: .bytes(after))
            _ = try await expectAccepted(second, env, title: "After", originalName: "x.mp4")
        }
    }

    @Test func jsonFormChecksTheSourceExists() async throws {
        try await APITestEnvironment.with("json") { env in
            try await env.put("source/incoming/lecture.mp4", patternBytes(100))
            let response = try await env.client.postJSON("/jobs", #"{"source_key": "source/incoming/lecture.mp4", "title": "Lecture"}"#)
            _ = try await expectAccepted(response, env, sourceKey: "source/incoming/lecture.mp4", title: "Lecture", originalName: "lecture.mp4")

            let missing = try await env.client.postJSON("/jobs", #"{"source_key": "source/incoming/nope.mp4"}"#)
            #expect(missing.status == 422)
            #expect(try missing.apiError().code == "validation_failed")
            #expect(try missing.apiError().message.contains("source/incoming/nope.mp4"))
            #expect(try await env.streamEntries().count == 1, "nothing enqueued for the refused one")
        }
    }

    @Test func seedFormResubmissionIsIdempotent() async throws {
        try await APITestEnvironment.with("seed") { env in
            try await env.put("source/seed/clip.mp4", patternBytes(10))
            let id = VideoID.generate()
            let seed = #"{"video_id": "\#(id.uppercased())", "s3_path": "s3://videos/source/seed/clip.mp4", "original_name": "clip.mp4"}"#
            let first = try await env.client.postJSON("/jobs", seed)
            let video = try await expectAccepted(first, env, sourceKey: "source/seed/clip.mp4", title: nil, originalName: "clip.mp4")
            #expect(video["id"] as? String == id, "ids are stored lower-case")
            for _ in 0..<2 {
                let again = try await env.client.postJSON("/jobs", seed)
                #expect(again.status == 200, "\(again.text)")
                #expect(try again.json()["id"] as? String == id && again.header("Location") == "/videos/\(id)")
            }
            #expect(try await env.streamEntries().filter { $0["video_id"] == id }.count == 1, "re-submitting enqueues nothing more")
            #expect(try await env.store.listVideos(PageRequest()).total == 1)
        }
    }

    /// Redis down after the row is recorded: 503, the row stays queued; submitting the same id
    /// again (Redis back) enqueues it once.
    @Test func enqueueFailureLeavesTheRowQueuedAndResubmissionEnqueues() async throws {
        try await APITestEnvironment.with("enqfail") { env in
            try await env.put("source/x/clip.mp4", patternBytes(10))
            let id = VideoID.generate()
            let seed = #"{"video_id": "\#(id)", "source_key": "source/x/clip.mp4"}"#
            let refused = try await env.withAPIWhoseRedisIsDown { try await $0.postJSON("/jobs", seed) }
            #expect(refused.status == 503)
            #expect(try refused.apiError().code == "unavailable")
            #expect(try await env.store.video(id: id)?.status == .queued, "recorded before the enqueue")
            #expect(try await env.streamEntries().isEmpty)

            let retried = try await env.client.postJSON("/jobs", seed)
            #expect(retried.status == 202, "\(retried.text)")
            let again = try await env.client.postJSON("/jobs", seed)
            #expect(again.status == 200)
            #expect(try await env.streamEntries().filter { $0["video_id"] == id }.count == 1)
        }
    }

    /// Half an upload reaches the disk while the rest has not been sent (streamed, not held in
    /// memory); when the client goes away, the partial file is removed and nothing is recorded.
    @Test func anUploadCutShortStoresNothing() async throws {
        try await APITestEnvironment.with("cutshort") { env in
            let connection = try await Reactor.Connection.connect(host: "127.0.0.1", port: env.port)
            let head = "POST /jobs?name=big.mp4 HTTP/1.1\r\nHost: x\r\nContent-Type: video/mp4\r\nContent-Length: \(8 << 20)\r\n\r\n"
            try await connection.write(Array(head.utf8) + patternBytes(1 << 20))
            let temp = env.storageRoot + "/.tmp"
            func partialBytes() -> Int {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: temp)) ?? []
                return names.compactMap { try? FileManager.default.attributesOfItem(atPath: temp + "/" + $0)[.size] as? Int }.reduce(0, +)
            }
            let end = ContinuousClock.now + .seconds(20)
            while partialBytes() < 1 << 20, ContinuousClock.now < end { try await EventLoop.shared.sleep(for: .milliseconds(20)) }
            #expect(partialBytes() == 1 << 20, "the first MiB is on disk before the other 7 are sent")
            connection.close()
            while (try? FileManager.default.contentsOfDirectory(atPath: temp))?.isEmpty == false, ContinuousClock.now < end {
                try await EventLoop.shared.sleep(for: .milliseconds(20))
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: temp).isEmpty, "the partial upload is removed")
            #expect(try await env.storage.list(prefix: "source/").isEmpty)
            #expect(try await env.store.listVideos(PageRequest()).total == 0)
            #expect(try await env.streamEntries().isEmpty)
            #expect(try await env.client.get("/healthz").status == 200, "the service carries on")
        }
    }

    @Test func badRequestsGetJSONErrors() async throws {
        try await APITestEnvironment.with("invalid") { env in
            let c = env.client
            let cases: [(TestHTTPResponse, Int, String)] = [
                (try await c.request("POST", "/jobs", body: .bytes([1, 2, 3])), 415, "unsupported_media_type"),
                (try await c.request("POST", "/jobs", headers: [("Content-Type", "text/plain")], body: .bytes([1])), 415, "unsupported_media_type"),
                (try await c.postJSON("/jobs", "{not json"), 400, "bad_request"),
                (try await c.postJSON("/jobs", #"{"title": "no key"}"#), 422, "validation_failed"),
                (try await c.postJSON("/jobs", #"{"video_id": "nope", "source_key": "a/b"}"#), 422, "validation_failed"),
                (try await c.postJSON("/jobs", #"{"source_key": "../etc/passwd"}"#), 422, "validation_failed"),
                (try await c.postJSON("/jobs", String(repeating: " ", count: 70_000) + "{}"), 413, "payload_too_large"),
                (try await c.request("POST", "/jobs", headers: [("Content-Type", "video/mp4")], body: .bytes([1])), 422, "validation_failed"),
                (try await c.request("POST", "/jobs?name=empty.mp4", headers: [("Content-Type", "video/mp4")], body: .none), 422, "validation_failed"),
                (try await c.request("POST", "/jobs", headers: [("Content-Type", "multipart/form-data")], body: .bytes([1])), 400, "bad_request"),
                (try await c.request("POST", "/jobs", headers: [("Content-Type", "multipart/form-data; boundary=zz")],
                                     body: .bytes(Array("--zz\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nx\r\n--zz--\r\n".utf8))), 422, "validation_failed"),
                // Truncated: the body ends inside the file part.
                (try await c.request("POST", "/jobs", headers: [("Content-Type", "multipart/form-data; boundary=zz")],
                                     body: .bytes(Array("--zz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp4\"\r\n\r\nhalf a vid".utf8))), 400, "bad_request"),
            ]
            for (response, status, code) in cases {
                #expect(response.status == status, "\(response.text)")
                #expect(response.header("Content-Type") == "application/json")
                #expect(try response.apiError().code == code, "\(response.text)")
            }
            #expect(try await env.storage.list(prefix: "source/").isEmpty, "refused uploads leave nothing behind")
            #expect(try await env.store.listVideos(PageRequest()).total == 0)
            #expect(try await env.streamEntries().isEmpty)
        }
    }
}

/// A loopback port nothing listens on (bound, then closed).
func closedPort() async throws -> Int { try FreePorts.one() }
