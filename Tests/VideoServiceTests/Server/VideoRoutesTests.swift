import Foundation
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

/// `GET /videos`, `GET /videos/{id}`, `DELETE /videos/{id}`, `POST /videos/{id}/retry`.
@Suite struct VideoRoutesTests {
    @Test func listPagesNewestFirstWithTotalAndStatusFilter() async throws {
        try await APITestEnvironment.with("list") { env in
            var recorded: [Video] = []
            for (i, status) in [VideoStatus.queued, .failed, .completed, .failed, .processing].enumerated() {
                recorded.append(try await env.recordVideo(title: "v\(i)", status: status))
            }
            let newestFirst = recorded.reversed().map(\.id)

            let first = try await env.client.get("/videos?limit=2")
            #expect(first.status == 200)
            let page1 = try first.json()
            #expect(page1["total"] as? Int == 5 && page1["limit"] as? Int == 2 && page1["offset"] as? Int == 0)
            let ids1 = (page1["videos"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
            #expect(ids1 == Array(newestFirst.prefix(2)))

            let page2 = try await env.client.get("/videos?limit=2&offset=2").json()
            #expect((page2["videos"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == Array(newestFirst[2..<4]))
            let page3 = try await env.client.get("/videos?limit=2&offset=4").json()
            #expect((page3["videos"] as? [[String: Any]])?.count == 1 && page3["total"] as? Int == 5)

            let failed = try await env.client.get("/videos?status=failed").json()
            let failedVideos = try #require(failed["videos"] as? [[String: Any]])
            #expect(failed["total"] as? Int == 2 && failed["limit"] as? Int == 20)
            #expect(failedVideos.compactMap { $0["id"] as? String } == [recorded[3].id, recorded[1].id])
            #expect(failedVideos.allSatisfy { $0["status"] as? String == "failed" && $0["error_message"] as? String == "boom" })

            for bad in ["limit=0", "limit=101", "limit=x", "offset=-1", "status=done"] {
                let response = try await env.client.get("/videos?\(bad)")
                #expect(response.status == 400 && (try? response.apiError().code) == "bad_request", "\(bad): \(response.text)")
            }
        }
    }

    @Test func getShowsRenditionsPlayableURLsAndProgress() async throws {
        try await APITestEnvironment.with("get") { env in
            let video = try await env.recordVideo(title: "Done", status: .processing)
            let id = video.id
            try await env.store.upsertRendition(Rendition(videoID: id, height: 360, width: 640, bitrate: 800_000, sizeBytes: 1234, codec: "h264",
                                                          mp4Key: ObjectKeys.mp4(videoID: id, height: 360), hlsPlaylistKey: ObjectKeys.hlsPlaylist(videoID: id, height: 360)), events: env.webhookEvents)
            try await env.store.upsertRendition(Rendition(videoID: id, height: 720, width: 1280, bitrate: 2_500_000, sizeBytes: 5678, codec: "h264",
                                                          mp4Key: ObjectKeys.mp4(videoID: id, height: 720)), events: env.webhookEvents)
            _ = try await env.store.markCompleted(id: id, dashManifestKey: nil, events: env.webhookEvents)
            let mp4 = patternBytes(4096, seed: 5)
            try await env.put(ObjectKeys.mp4(videoID: id, height: 720), mp4)

            let response = try await env.client.get("/videos/\(id.uppercased())")
            #expect(response.status == 200, "\(response.text)")
            let body = try response.json()
            #expect(body["id"] as? String == id && body["status"] as? String == "completed" && body["title"] as? String == "Done")
            let renditions = try #require(body["renditions"] as? [[String: Any]])
            #expect(renditions.compactMap { $0["height"] as? Int } == [720, 360])
            #expect(renditions.first?["url"] as? String == "/media/\(id)/mp4/720p.mp4")
            #expect(renditions.last?["hls_url"] as? String == "/media/\(id)/hls/360p/index.m3u8")
            #expect(renditions.last?["size_bytes"] as? Int == 1234 && renditions.last?["bitrate"] as? Int == 800_000)
            #expect(body["hls_master_url"] as? String == "/media/\(id)/hls/master.m3u8")
            #expect(body["poster_url"] as? String == "/media/\(id)/poster.jpg")
            #expect(body["storyboard_url"] as? String == "/media/\(id)/storyboard.vtt")
            #expect(body["completed_at"] is String && body["attempts"] as? Int == 1)
            #expect(body["progress"] is NSNull, "no progress published")

            // The rendition URL plays: it resolves through storage.
            let played = try await env.client.get(renditions[0]["url"] as! String)
            #expect(played.status == 200 && played.body == mp4 && played.header("Content-Type") == "video/mp4")

            // Latest progress comes from the snapshot key.
            let event = ProgressEvent(videoID: id, status: .completed, stage: .finalizing, percent: 100, timestamp: Timestamp.now())
            try await env.queue.publish(event)
            let withProgress = try await env.client.get("/videos/\(id)").json()
            let progress = try #require(withProgress["progress"] as? [String: Any])
            #expect(progress["status"] as? String == "completed" && progress["stage"] as? String == "finalizing" && progress["video_id"] as? String == id)

            for missing in ["/videos/\(VideoID.generate())", "/videos/not-a-uuid"] {
                let r = try await env.client.get(missing)
                #expect(r.status == 404 && (try? r.apiError().code) == "not_found", "\(missing)")
            }
        }
    }

    @Test func deleteRemovesRowsObjectsAndSnapshot() async throws {
        try await APITestEnvironment.with("delete") { env in
            let video = try await env.recordVideo(status: .processing)
            let id = video.id
            try await env.store.upsertRendition(Rendition(videoID: id, height: 360, width: 640, bitrate: 1, sizeBytes: 1, codec: "h264",
                                                          mp4Key: ObjectKeys.mp4(videoID: id, height: 360)), events: env.webhookEvents)
            _ = try await env.store.markCompleted(id: id, dashManifestKey: nil, events: env.webhookEvents)
            let keys = [video.sourceKey, ObjectKeys.mp4(videoID: id, height: 360), ObjectKeys.hlsSegment(videoID: id, height: 360, index: 1),
                        ObjectKeys.poster(videoID: id)]
            for key in keys { try await env.put(key, [1, 2, 3]) }
            let other = try await env.recordVideo()
            try await env.put(ObjectKeys.poster(videoID: other.id), [9])
            try await env.queue.publish(ProgressEvent(videoID: id, status: .completed, percent: 100, timestamp: Timestamp.now()))

            let response = try await env.client.request("DELETE", "/videos/\(id)")
            #expect(response.status == 204, "\(response.text)")
            #expect(try await env.store.video(id: id) == nil)
            #expect(try await env.store.renditions(videoID: id).isEmpty, "rendition rows go with the video")
            #expect(try await env.storage.list(prefix: "source/\(id)/").isEmpty)
            #expect(try await env.storage.list(prefix: "processed/\(id)/").isEmpty)
            #expect(try await env.queue.snapshot(videoID: id) == nil)
            #expect(try await env.storage.head(key: ObjectKeys.poster(videoID: other.id)) != nil, "other videos untouched")
            #expect(try await env.store.video(id: other.id) != nil)

            let again = try await env.client.request("DELETE", "/videos/\(id)")
            #expect(again.status == 404 && (try? again.apiError().code) == "not_found")
            #expect(try await env.client.get("/videos/\(id)").status == 404)
        }
    }

    @Test func retryRequeuesOnlyFailedVideos() async throws {
        try await APITestEnvironment.with("retry") { env in
            for status in [VideoStatus.queued, .processing, .completed] {
                let video = try await env.recordVideo(status: status)
                if status == .queued {
                    // Enqueued normally (snapshot announced): not a failed enqueue to repair.
                    try await env.queue.publish(ProgressEvent(videoID: video.id, status: .queued, timestamp: Timestamp.now()))
                }
                let response = try await env.client.request("POST", "/videos/\(video.id)/retry")
                #expect(response.status == 409, "\(status): \(response.text)")
                #expect((try? response.apiError().code) == "conflict")
                #expect(try await env.store.video(id: video.id)?.status == status, "unchanged")
            }
            #expect(try await env.streamEntries().isEmpty)

            let failed = try await env.recordVideo(status: .failed, error: "decoder exploded")
            let response = try await env.client.request("POST", "/videos/\(failed.id)/retry")
            #expect(response.status == 202, "\(response.text)")
            let body = try response.json()
            #expect(body["status"] as? String == "queued" && body["error_message"] is NSNull && body["attempts"] as? Int == 0)
            #expect(response.header("Location") == "/videos/\(failed.id)")
            let row = try #require(try await env.store.video(id: failed.id))
            #expect(row.status == .queued && row.errorMessage == nil)
            let entries = try await env.streamEntries()
            #expect(entries.count == 1 && entries.first?["video_id"] == failed.id && entries.first?["source_key"] == failed.sourceKey)

            let twice = try await env.client.request("POST", "/videos/\(failed.id)/retry")
            #expect(twice.status == 409, "queued now")
            #expect(try await env.client.request("POST", "/videos/\(VideoID.generate())/retry").status == 404)
        }
    }
}
