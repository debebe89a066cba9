import VideoCore
import HTTPServer

/// `POST /jobs` in its three forms. Uploads stream from the socket into storage chunk by chunk;
/// then the row is recorded, then the job is enqueued — in that order, so a job never names a
/// video the database does not have.
extension APIHandlers {
    func submitJob(_ request: HTTPRequest) async throws -> HTTPResponse {
        switch try SubmissionForm.classify(contentType: request.headers["Content-Type"]) {
        case .json:
            let body = try await request.body.collect(upTo: JobSubmission.maximumBodyBytes)
            let submission = try JobSubmission(json: body)
            guard try await storage.head(key: submission.sourceKey) != nil else {
                throw APIError(.validationFailed, "source_key \(RequestText.shown(submission.sourceKey)) does not exist in storage")
            }
            let name = submission.originalName ?? submission.sourceKey.split(separator: "/").last.map(String.init)
            return try await register(id: submission.videoID ?? VideoID.generate(), title: submission.title,
                                      sourceKey: submission.sourceKey, originalName: name, uploaded: false)

        case .rawUpload:
            let (name, title) = try JobSubmission.rawUploadName(query: String(request.head.query ?? ""))
            let id = VideoID.generate()
            let key = ObjectKeys.source(videoID: id, originalName: name)
            try await storeUpload(videoID: id, key: key, contentType: request.headers["Content-Type"]) {
                try await storage.put(key: key, chunks: request.body, contentType: $0)
            }
            return try await register(id: id, title: title, sourceKey: key, originalName: name, uploaded: true)

        case .multipart(let boundary):
            var parser = MultipartParser(boundary: boundary)
            let head = try await MultipartUpload.readUntilFile(body: request.body, parser: &parser)
            let name = head.file.filename.flatMap { $0.isEmpty ? nil : $0 } ?? "upload"
            let id = VideoID.generate()
            let key = ObjectKeys.source(videoID: id, originalName: name)
            let rest = MultipartUpload.Trailer()
            try await storeUpload(videoID: id, key: key, contentType: head.file.contentType) {
                try await storage.put(key: key, chunks: MultipartUpload.FileContent(body: request.body, parser: parser, trailer: rest),
                                      contentType: $0)
            }
            let fields = head.fields.merging(rest.fields) { first, _ in first }
            let queryTitle = request.queryParameter("title")
            let title = (fields["title"] ?? queryTitle)?.trimmingBlanks().nilIfEmpty
            if let t = title, t.count > JobSubmission.maximumTitleLength {
                _ = try? await storage.delete(prefix: ObjectKeys.sourceDirectory(videoID: id))
                throw APIError(.validationFailed, "title is longer than \(JobSubmission.maximumTitleLength) characters")
            }
            return try await register(id: id, title: title, sourceKey: key, originalName: name, uploaded: true)
        }
    }

    /// Runs the streaming put; an empty upload is refused (and removed), a failed one leaves
    /// nothing behind (storage commits only a complete object, and what S3 stored while the
    /// answer was lost is removed: `removeUnreferencedUpload`).
    private func storeUpload(videoID: String, key: String, contentType: String?,
                             _ put: (String?) async throws -> ObjectInfo) async throws {
        let type = contentType.flatMap { $0.lowercased().hasPrefix("video/") ? $0 : nil } ?? "application/octet-stream"
        let info: ObjectInfo
        do { info = try await put(type) } catch {
            removeUnreferencedUpload(videoID: videoID)
            throw error
        }
        context.metrics.increment(ServiceMetrics.uploadBytes, by: Double(info.size))
        if info.size == 0 {
            _ = try? await storage.delete(prefix: ObjectKeys.sourceDirectory(videoID: videoID))
            throw APIError(.validationFailed, "the uploaded file is empty")
        }
        context.logger.with("video_id", videoID).info("upload stored", ["key": key, "bytes": String(info.size)])
    }

    /// Records the video (idempotent on its id), then enqueues it when it needs to be.
    ///
    /// A re-submitted id answers 200 with the existing video and enqueues nothing — unless the
    /// video is still `queued` with no trace of a successful enqueue (no progress snapshot, or
    /// the snapshot of an earlier, finished run): then the earlier attempt failed after recording
    /// the row (it answered 503) and this one enqueues it (202). A successful enqueue and its
    /// `queued` snapshot are written in one MULTI/EXEC, so "snapshot present" means "entry added".
    func register(id: String, title: String?, sourceKey: String, originalName: String?, uploaded: Bool) async throws -> HTTPResponse {
        let logger = context.logger.with("video_id", id)
        let video: Video
        let created: Bool
        do {
            (video, created) = try await store.createVideo(id: id, title: title, sourceKey: sourceKey, originalName: originalName)
        } catch {
            if uploaded, (try? await storage.delete(prefix: ObjectKeys.sourceDirectory(videoID: id))) == nil {
                // Nothing refers to the upload: do not leave it behind.
                removeUnreferencedUpload(videoID: id)
            }
            throw error
        }
        var enqueue = created
        if !created, video.status == .queued {
            let snapshot = try await queue.latestProgress(videoID: id)
            enqueue = snapshot == nil || snapshot!.status.isFinal
        }
        if enqueue { try await enqueueRecorded(video) }
        logger.info(created ? "video submitted" : "video re-submitted", ["enqueued": String(enqueue), "source_key": sourceKey])
        return APIResponse.json(VideoJSON.video(video), status: enqueue ? 202 : 200,
                                headers: ["Location": VideoJSON.location(videoID: id)])
    }

    /// XADD the job and announce `queued` (snapshot key + both channels) atomically. A failure is
    /// a 503: the row stays `queued`, and re-submitting (or retrying) the same id enqueues it.
    func enqueueRecorded(_ video: Video) async throws {
        let now = Timestamp.now()
        let job = JobMessage(videoID: video.id, sourceKey: video.sourceKey, attempt: 1, enqueuedAt: now,
                             title: video.title, originalName: video.originalName)
        do {
            try await queue.enqueueAnnouncingQueued(job, event: ProgressEvent(videoID: video.id, status: .queued, timestamp: now))
        } catch {
            context.logger.with("video_id", video.id).error("enqueue failed; the video stays queued", ["error": "\(error)"])
            throw APIError(.unavailable, "video \(video.id) is recorded but could not be queued (Redis unavailable); submit it again to retry")
        }
    }
}
