import VideoCore
import HTTPServer

/// `GET /videos`, `GET /videos/{id}`, `PATCH /videos/{id}`, `DELETE /videos/{id}`, `POST /videos/{id}/retry`.
extension APIHandlers {
    /// Private videos are listed (and counted) only for callers with a token.
    func listVideos(_ request: HTTPRequest) async throws -> HTTPResponse {
        let page = try PageRequest(query: String(request.head.query ?? ""))
        let (videos, total) = try await store.listVideos(page, includingPrivate: callerSeesPrivate(request))
        return APIResponse.json(VideoJSON.list(videos, total: total, page: page, signing: mediaSigning))
    }

    /// Output URLs are `/media/{id}/…` (see `VideoJSON`): that route resolves them through
    /// `Storage.playableLocation` when fetched, so a URL in this answer never expires.
    ///
    /// The row and renditions come from PostgreSQL; the progress snapshot from Redis is an extra
    /// that may be missing: when Redis does not answer within `progressBudget` (or fails), the
    /// answer says `progress: null` and `X-Progress-Unavailable` says why, instead of waiting for
    /// Redis's timeouts and failing the whole read.
    /// A private video is a 404 to a caller without a token; to one with a token its URLs are signed.
    func getVideo(_ request: HTTPRequest, id: String) async throws -> HTTPResponse {
        let video = try await existingVideo(id, visibleTo: request)
        let renditions = try await store.renditions(videoID: video.id)
        let (progress, unavailable) = await progressWithinBudget(videoID: video.id)
        var headers: HTTPFields = [:]
        if let unavailable { headers["X-Progress-Unavailable"] = unavailable }
        return APIResponse.json(VideoJSON.video(video, renditions: renditions, progress: progress, signing: mediaSigning), headers: headers)
    }

    /// The progress snapshot, or nil and why it is missing.
    private func progressWithinBudget(videoID: String) async -> (ProgressEvent?, String?) {
        let queue = self.queue
        let budget = options.progressBudget
        let why: String
        switch await TimeBudget.run(within: budget, { try await queue.latestProgress(videoID: videoID, timeout: .after(budget)) }) {
        case .value(let progress): return (progress, nil)
        case .failed(let error):
            context.logger.with("video_id", videoID).warning("progress snapshot unavailable", ["error": "\(error)"])
            why = "Redis is unavailable"
        case .timedOut:
            context.logger.with("video_id", videoID).warning("progress snapshot unavailable", ["error": "no answer from Redis within the budget"])
            why = "Redis did not answer within \(String(budget.wholeMilliseconds)) ms"
        }
        return (nil, why)
    }

    /// `PATCH /videos/{id}` (`VideoUpdate`: title, visibility): 404 for an unknown video, then the
    /// body's checks; a private video needs signing keys. Answers the video as `GET` does.
    func updateVideo(_ request: HTTPRequest, id: String) async throws -> HTTPResponse {
        let existing = try await existingVideo(id)
        if let type = request.headers["Content-Type"], !VideoUpdate.acceptsContentType(type) {
            throw APIError(.unsupportedMediaType, "PATCH /videos/{id} takes application/json (or application/merge-patch+json)")
        }
        let update = try VideoUpdate(json: try await request.body.collect(upTo: VideoUpdate.maximumBodyBytes))
        let visibility = try update.visibility.map { raw throws(APIError) in try requestedVisibility(raw) }
        guard let video = try await store.updateVideo(id: existing.id, title: update.title, visibility: visibility) else {
            throw APIError(.notFound, "no video with id \(existing.id)")  // deleted meanwhile
        }
        visibilities.forget(video.id)
        context.logger.with("video_id", video.id).info("video updated", ["fields": update.fieldNames.joined(separator: ",")])
        return try await getVideo(request, id: video.id)
    }

    /// Outputs first, so a failure there leaves the video (and the way to retry the delete)
    /// intact; then the rows (renditions cascade) and — when this was the last video using it and
    /// vidd owns it — the source object, in one transaction under the source's lock (see
    /// `VideoStore.deleteVideo`); then the outputs once more, for those a worker still running
    /// wrote meanwhile (it cannot complete the video: its row is gone), and the orphan uploads
    /// under its outputs and source (`OrphanUploads`); then the progress snapshot, and a notice that
    /// ends the video's open progress streams. A source other videos still use stays for them; one another party put in the
    /// bucket is theirs.
    func deleteVideo(id: String) async throws -> HTTPResponse {
        let video = try await existingVideo(id)
        let logger = context.logger.with("video_id", video.id)
        let outputs = ObjectKeys.processedDirectory(videoID: video.id)
        let storage = self.storage
        var removed = try await storage.delete(prefix: outputs)
        guard let source = try await store.deleteVideo(id: video.id, sourceKey: video.sourceKey, events: webhookEvents,
                                                       removeSource: { try await storage.delete(key: $0) }) else {
            throw APIError(.notFound, "no video with id \(video.id)")  // deleted concurrently
        }
        visibilities.forget(video.id)
        if source == .removed { removed += 1 }
        do { removed += try await storage.delete(prefix: outputs) } catch {
            logger.warning("late outputs not removed", ["prefix": outputs, "error": "\(error)"])
        }
        await OrphanUploads.abort(under: [outputs, ObjectKeys.sourceDirectory(videoID: video.id)], storage: storage, logger: logger)
        do { try await queue.deleteSnapshot(videoID: video.id) } catch {
            logger.warning("progress snapshot not removed (it expires by itself)", ["error": "\(error)"])
        }
        do { try await queue.announceDeleted(videoID: video.id, channel: keys.progressChannel(video.id)) } catch {
            logger.warning("open progress streams not told of the delete (they stay open until the client leaves)", ["error": "\(error)"])
        }
        logger.info("video deleted", ["objects": String(removed), "source": "\(source)"])
        return HTTPResponse(status: .noContent)
    }

    /// A failed video goes back to `queued` and onto the stream. A `queued` video whose enqueue
    /// never happened (its submission answered 503) is enqueued now; anything else is a 409.
    func retryVideo(id: String) async throws -> HTTPResponse {
        let existing = try await existingVideo(id)
        let video: Video
        if let requeued = try await store.requeueFailed(id: existing.id) {
            video = requeued
        } else {
            guard let current = try await store.video(id: existing.id) else { throw APIError(.notFound, "no video with id \(existing.id)") }
            guard try await outbox.needsEnqueue(current) else {
                throw APIError(.conflict, "video \(current.id) is \(current.status.rawValue)\(current.status == .queued ? " and on the queue already" : ""); only a failed video can be retried")
            }
            video = current
        }
        try await enqueueRecorded(video)
        context.logger.with("video_id", video.id).info("video retried")
        return APIResponse.json(VideoJSON.video(video, signing: mediaSigning), status: 202, headers: ["Location": VideoJSON.location(videoID: video.id)])
    }
}
