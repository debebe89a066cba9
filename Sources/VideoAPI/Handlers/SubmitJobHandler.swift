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
            if JobSubmission.isURLIngest(json: body) { return try await submitURL(json: body) }
            let submission = try JobSubmission(json: body, bucket: context.configuration.bucket,
                                               sourcePrefixes: context.configuration.sourcePrefixes)
            let visibility = try requestedVisibility(submission.visibility)
            let key = submission.sourceKey
            let name = submission.originalName ?? key.split(separator: "/").last.map(String.init)
            let storage = self.storage
            // Checked under the source's lock, so a delete of the object's last video cannot
            // remove it between this check and the row.
            guard let (video, created) = try await store.createVideo(
                id: submission.videoID ?? VideoID.generate(), title: submission.title, sourceKey: key, originalName: name,
                visibility: visibility, ifSourceExists: { try await storage.head(key: key) != nil })
            else {
                throw APIError(.validationFailed, "source_key \(RequestText.shown(key)) does not exist in storage")
            }
            return try await enqueueIfNeeded(video, created: created)

        case .rawUpload:
            let (name, title) = try JobSubmission.rawUploadName(query: String(request.head.query ?? ""))
            let visibility = try requestedVisibility(request.queryParameter("visibility"))
            let id = VideoID.generate()
            let key = ObjectKeys.source(videoID: id, originalName: name)
            try await storeUpload(videoID: id, key: key, contentType: request.headers["Content-Type"]) {
                try await storage.put(key: key, chunks: request.body, contentType: $0)
            }
            return try await register(id: id, title: title, sourceKey: key, originalName: name, uploaded: true, visibility: visibility)

        case .multipart(let boundary):
            var parser = MultipartParser(boundary: boundary)
            let head = try await MultipartUpload.readUntilFile(body: request.body, parser: &parser)
            // What is known before the file (the query, fields ahead of it) is checked before a
            // byte of it is stored, as for a raw upload; fields after it only once it is in.
            _ = try multipartTitle(head.fields, request)
            _ = try requestedVisibility(head.fields["visibility"] ?? request.queryParameter("visibility"))
            let name = head.file.filename.flatMap { $0.isEmpty ? nil : $0 } ?? "upload"
            let id = VideoID.generate()
            let key = ObjectKeys.source(videoID: id, originalName: name)
            let rest = MultipartUpload.Trailer()
            try await storeUpload(videoID: id, key: key, contentType: head.file.contentType) {
                try await storage.put(key: key, chunks: MultipartUpload.FileContent(body: request.body, parser: parser, trailer: rest),
                                      contentType: $0)
            }
            let fields = head.fields.merging(rest.fields) { first, _ in first }
            let title: String?
            do { title = try multipartTitle(fields, request) } catch {
                await discardUpload(videoID: id)
                throw error
            }
            let visibility: Visibility
            do { visibility = try requestedVisibility(fields["visibility"] ?? request.queryParameter("visibility")) } catch {
                await discardUpload(videoID: id)
                throw error
            }
            return try await register(id: id, title: title, sourceKey: key, originalName: name, uploaded: true, visibility: visibility)
        }
    }

    /// A multipart upload's title: its `title` field, else `?title=`; blank is none.
    private func multipartTitle(_ fields: [String: String], _ request: HTTPRequest) throws(APIError) -> String? {
        let title = (fields["title"] ?? request.queryParameter("title"))?.trimmingBlanks().nilIfEmpty
        if let t = title, t.count > JobSubmission.maximumTitleLength {
            throw APIError(.validationFailed, "title is longer than \(JobSubmission.maximumTitleLength) characters")
        }
        return title
    }

    /// URL ingest: the URL passed the guard's rules that need no lookup (a refusal is a 422
    /// naming the rule); the video is recorded with it and queued at once (202). The worker
    /// resolves, checks every address and every redirect, and downloads it into the source key.
    private func submitURL(json: [UInt8]) async throws -> HTTPResponse {
        let submission: URLSubmission
        do {
            submission = try URLSubmission(json: json, policy: context.configuration.ingest.policy)
        } catch {
            if let rule = error.rule { context.metrics.increment(ServiceMetrics.ingestRefused, labels: [("rule", rule)]) }
            throw error
        }
        let visibility = try requestedVisibility(submission.visibility)
        let id = VideoID.generate()
        return try await register(id: id, title: submission.title, sourceKey: ObjectKeys.source(videoID: id, originalName: submission.fileName),
                                  originalName: submission.originalName, uploaded: false, sourceURL: submission.sourceURL, visibility: visibility)
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
            await discardUpload(videoID: videoID)
            throw APIError(.validationFailed, "the uploaded file is empty")
        }
        context.logger.with("video_id", videoID).info("upload stored", ["key": key, "bytes": String(info.size)])
    }

    /// Removes a refused submission's stored upload now, or — when the storage fails right then —
    /// in the background, retried (`removeUnreferencedUpload`): never left behind.
    private func discardUpload(videoID: String) async {
        if (try? await storage.delete(prefix: ObjectKeys.sourceDirectory(videoID: videoID))) == nil {
            removeUnreferencedUpload(videoID: videoID)
        }
    }

    /// Records an uploaded (or to-be-fetched) video, then enqueues it. A failed insert removes the
    /// upload: nothing refers to it. `sourceURL`: the worker fetches the source from there.
    func register(id: String, title: String?, sourceKey: String, originalName: String?, uploaded: Bool,
                  sourceURL: String? = nil, visibility: Visibility = .public) async throws -> HTTPResponse {
        let video: Video
        let created: Bool
        do {
            (video, created) = try await store.createVideo(id: id, title: title, sourceKey: sourceKey, originalName: originalName,
                                                           sourceURL: sourceURL, visibility: visibility)
        } catch {
            if uploaded { await discardUpload(videoID: id) }  // nothing refers to it
            throw error
        }
        return try await enqueueIfNeeded(video, created: created)
    }

    /// A new video is enqueued. A re-submitted id answers 200 with the existing video and
    /// enqueues nothing — unless it is still `queued` and its enqueue never happened (the first
    /// submission answered 503): then this one enqueues it (202). See `EnqueueOutbox`.
    func enqueueIfNeeded(_ video: Video, created: Bool) async throws -> HTTPResponse {
        var enqueue = created
        if !created { enqueue = try await outbox.needsEnqueue(video) }
        if enqueue { try await enqueueRecorded(video) }
        context.logger.with("video_id", video.id).info(created ? "video submitted" : "video re-submitted",
                                                       ["enqueued": String(enqueue), "source_key": video.sourceKey])
        return APIResponse.json(VideoJSON.video(video, signing: mediaSigning), status: enqueue ? 202 : 200,
                                headers: ["Location": VideoJSON.location(videoID: video.id)])
    }

    /// XADD the job and announce `queued` (snapshot key + both channels) atomically, then record
    /// it on the row. A failure is a 503: the row stays `queued` with its enqueue unrecorded, and
    /// a reconciler enqueues it once Redis is back (a re-submission or retry does it at once).
    func enqueueRecorded(_ video: Video) async throws {
        // Bounded: with Redis down, the pool would hold the request for its whole wait timeout.
        // An enqueue that lands after the answer is harmless: the snapshot it writes tells the
        // outbox (and a re-submission) that the job is on the stream.
        let outbox = self.outbox
        let failure: String
        switch await TimeBudget.run(within: options.enqueueBudget, { try await outbox.enqueue(video) }) {
        case .value: return
        case .failed(let error):
            context.logger.with("video_id", video.id).log(TransientFailure.isTransient(error) ? .warning : .error,
                                                          "enqueue failed; the video stays queued until it can be enqueued",
                                                          fields: [("error", "\(error)")])
            failure = "Redis unavailable"
        case .timedOut(let budget):
            context.logger.with("video_id", video.id).warning("enqueue did not finish in time; the video stays queued until it can be enqueued",
                                                              ["budget": "\(budget)"])
            failure = "Redis did not answer within \(budget)"
        }
        throw APIError(.unavailable, "video \(video.id) is recorded but could not be queued (\(failure)); it is queued automatically once Redis is back")
    }
}
