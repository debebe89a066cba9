import VideoCore
import HTTPServer

/// `GET /videos`, `GET /videos/{id}`, `PATCH /videos/{id}`, `DELETE /videos/{id}`, `POST /videos/{id}/retry`.
extension APIHandlers {
    func listVideos(_ request: HTTPRequest) async throws -> HTTPResponse {
        let page = try PageRequest(query: String(request.head.query ?? ""))
        let (videos, total) = try await store.listVideos(page)
        return APIResponse.json(VideoJSON.list(videos, total: total, page: page))
    }

    /// Output URLs are `/media/{id}/…` (see `VideoJSON`): that route resolves them through
    /// `Storage.playableLocation` when fetched, so a URL in this answer never expires.
    func getVideo(id: String) async throws -> HTTPResponse {
        let video = try await existingVideo(id)
        let renditions = try await store.renditions(videoID: video.id)
        let progress = try await queue.latestProgress(videoID: video.id)
        return APIResponse.json(VideoJSON.video(video, renditions: renditions, progress: progress))
    }

    /// `{"title": "…"}` (the only field a client may change): 404 for an unknown video, then the
    /// body's checks (`TitleUpdate`); answers the video as `GET` does.
    func updateVideo(_ request: HTTPRequest, id: String) async throws -> HTTPResponse {
        let existing = try await existingVideo(id)
        if let type = request.headers["Content-Type"], !TitleUpdate.acceptsContentType(type) {
            throw APIError(.unsupportedMediaType, "PATCH /videos/{id} takes application/json (or application/merge-patch+json)")
        }
        let update = try TitleUpdate(json: try await request.body.collect(upTo: TitleUpdate.maximumBodyBytes))
        guard let video = try await store.updateTitle(id: existing.id, title: update.title) else {
            throw APIError(.notFound, "no video with id \(existing.id)")  // deleted meanwhile
        }
        context.logger.with("video_id", video.id).info("title changed")
        return try await getVideo(id: video.id)
    }

    /// Objects first, so a failure there leaves the video (and the way to retry the delete)
    /// intact; then the rows (renditions cascade); then the objects once more, for outputs a
    /// worker still running wrote meanwhile (it cannot complete the video: its row is gone);
    /// then the progress snapshot. Only `source/{id}/` and `processed/{id}/` are removed: a
    /// source submitted by key elsewhere in the bucket belongs to whoever put it there.
    func deleteVideo(id: String) async throws -> HTTPResponse {
        let video = try await existingVideo(id)
        let logger = context.logger.with("video_id", video.id)
        let prefixes = [ObjectKeys.sourceDirectory(videoID: video.id), ObjectKeys.processedDirectory(videoID: video.id)]
        var removed = 0
        for prefix in prefixes { removed += try await storage.delete(prefix: prefix) }
        guard try await store.deleteVideo(id: video.id) != nil else {
            throw APIError(.notFound, "no video with id \(video.id)")  // deleted concurrently
        }
        for prefix in prefixes {
            do { removed += try await storage.delete(prefix: prefix) } catch {
                logger.warning("late outputs not removed", ["prefix": prefix, "error": "\(error)"])
            }
        }
        do { try await queue.deleteSnapshot(videoID: video.id) } catch {
            logger.warning("progress snapshot not removed (it expires by itself)", ["error": "\(error)"])
        }
        logger.info("video deleted", ["objects": String(removed)])
        return HTTPResponse(status: .noContent)
    }

    /// A failed video goes back to `queued` and onto the stream. A video left `queued` by an
    /// enqueue that failed (503) is enqueued again; anything else is a 409.
    func retryVideo(id: String) async throws -> HTTPResponse {
        let existing = try await existingVideo(id)
        let video: Video
        if let requeued = try await store.requeueFailed(id: existing.id) {
            video = requeued
        } else {
            guard let current = try await store.video(id: existing.id) else { throw APIError(.notFound, "no video with id \(existing.id)") }
            let snapshot = try await queue.latestProgress(videoID: current.id)
            guard current.status == .queued, snapshot == nil || snapshot!.status.isFinal else {
                throw APIError(.conflict, "video \(current.id) is \(current.status.rawValue); only a failed video can be retried")
            }
            video = current
        }
        try await enqueueRecorded(video)
        context.logger.with("video_id", video.id).info("video retried")
        return APIResponse.json(VideoJSON.video(video), status: 202, headers: ["Location": VideoJSON.location(videoID: video.id)])
    }
}
