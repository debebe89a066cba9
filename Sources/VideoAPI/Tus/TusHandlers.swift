import VideoCore
import HTTPServer
import Reactor

/// The tus endpoint (`/uploads`). The headers are checked first (`TusRequestHeaders`), then the
/// upload's row, then the bytes go through `ResumableUploads`. A finished upload becomes a video
/// the way `POST /jobs` makes one (`register`), under the upload's id; every tus response gets
/// `Tus-Resumable` from the responder (`TusProtocol.decorate`), errors included.
extension APIHandlers {
    var tusSettings: ResumableUploads.Settings { uploads.settings }

    /// OPTIONS: what this server supports (no Tus-Resumable needed on the request).
    func tusOptions() -> HTTPResponse {
        HTTPResponse(status: .noContent, headers: [
            "Tus-Extension": TusProtocol.extensions.joined(separator: ","),
            "Tus-Max-Size": String(tusSettings.maxSize),
            "Tus-Checksum-Algorithm": TusProtocol.checksumAlgorithms.joined(separator: ","),
        ])
    }

    /// tus creation (`POST /uploads`): the one place an upload starts, so limits on creating
    /// uploads (a rate limit, a quota) belong here. With a body (creation-with-upload) the first
    /// bytes are appended at once.
    func createUpload(_ request: HTTPRequest) async throws -> HTTPResponse {
        let creation = try TusRequestHeaders.creation(request.headers, framing: request.head.framing, maxSize: tusSettings.maxSize)
        _ = try requestedVisibility(creation.metadata.text("visibility"))
        let id = VideoID.generate()
        let type = creation.metadata.fileType.flatMap { $0.lowercased().hasPrefix("video/") ? $0 : nil } ?? "application/octet-stream"
        let upload = try await uploads.create(id: id, length: creation.length, metadata: creation.metadata.header,
                                              filename: creation.metadata.filename ?? "upload", title: creation.metadata.title,
                                              contentType: type)
        context.metrics.increment(ServiceMetrics.tusUploads, labels: [("event", "created")])
        context.logger.with("upload_id", id).info("upload created", [
            "length": upload.length.map(String.init) ?? "deferred", "filename": upload.filename,
        ])
        var headers: HTTPFields = ["Location": TusProtocol.uploadPath(id)]
        guard creation.hasInitialData else {
            headers["Upload-Expires"] = Self.httpDate(upload.expiresAt)
            return HTTPResponse(status: .created, headers: headers)
        }
        // creation-with-upload: keep as many bytes as possible and say how many (a refusal of the
        // bytes does not undo the creation, except a checksum mismatch, which must be answered).
        let outcome = await uploads.append(to: upload, length: nil, checksum: creation.checksum, body: request.body)
        let current: ResumableUpload
        switch outcome {
        case .checksumMismatch:
            context.metrics.increment(ServiceMetrics.tusUploads, labels: [("event", "checksum_mismatch")])
            var response = APIResponse.error(APIError(.checksumMismatch, "the body does not match Upload-Checksum; the upload was created at \(TusProtocol.uploadPath(id)) with nothing in it"))
            response.headers["Location"] = TusProtocol.uploadPath(id)
            return response
        default:
            do { current = try await settle(outcome, upload: upload) } catch let refusal as APIError {
                // The upload exists whatever became of its first bytes: say where, so the client
                // can resume or terminate it rather than leave it to expire unknown.
                var response = APIResponse.error(refusal)
                response.headers["Location"] = TusProtocol.uploadPath(id)
                return response
            }
        }
        headers["Upload-Offset"] = String(current.offset)
        if current.status == .uploading { headers["Upload-Expires"] = Self.httpDate(current.expiresAt) }
        return HTTPResponse(status: .created, headers: headers)
    }

    /// HEAD: where to resume.
    func uploadState(_ request: HTTPRequest, id: String) async throws -> HTTPResponse {
        try TusRequestHeaders.checkVersion(request.headers)
        var upload = try await existingUpload(id)
        if upload.status == .uploading, upload.isFull {
            // Every byte arrived but finishing failed earlier: try again now (the sweeper would).
            upload = (try? await finishUpload(upload)) ?? upload
        }
        var headers: HTTPFields = ["Upload-Offset": String(upload.offset)]
        if let length = upload.length { headers["Upload-Length"] = String(length) } else { headers["Upload-Defer-Length"] = "1" }
        if !upload.metadata.isEmpty { headers["Upload-Metadata"] = upload.metadata }
        if upload.status == .uploading { headers["Upload-Expires"] = Self.httpDate(upload.expiresAt) }
        return HTTPResponse(status: .ok, headers: headers)
    }

    /// PATCH: append at the offset.
    func appendToUpload(_ request: HTTPRequest, id: String) async throws -> HTTPResponse {
        let append = try TusRequestHeaders.append(request.headers, framing: request.head.framing, maxSize: tusSettings.maxSize)
        let upload = try await existingUpload(id)
        try TusRequestHeaders.check(append, against: upload.length, offset: upload.offset, maxSize: tusSettings.maxSize)
        if upload.status == .completed {
            // Only an empty PATCH at the end gets here (the checks refuse anything else).
            return HTTPResponse(status: .noContent, headers: ["Upload-Offset": String(upload.offset)])
        }
        let outcome = await uploads.append(to: upload, length: append.length, checksum: append.checksum, body: request.body)
        switch outcome {
        case .checksumMismatch(let current):
            context.metrics.increment(ServiceMetrics.tusUploads, labels: [("event", "checksum_mismatch")])
            throw APIError(.checksumMismatch, "the body does not match Upload-Checksum (\(append.checksum?.algorithm.rawValue ?? "")); nothing was appended, the offset stays \(current.offset)")
        default:
            let current = try await settle(outcome, upload: upload)
            var headers: HTTPFields = ["Upload-Offset": String(current.offset)]
            if current.status == .uploading { headers["Upload-Expires"] = Self.httpDate(current.expiresAt) }
            return HTTPResponse(status: .noContent, headers: headers)
        }
    }

    /// DELETE: termination.
    func terminateUpload(_ request: HTTPRequest, id: String) async throws -> HTTPResponse {
        try TusRequestHeaders.checkVersion(request.headers)
        guard let normalized = VideoID.normalize(id) else { throw APIError(.notFound, "no upload with id \(RequestText.shown(id))") }
        switch try await uploads.terminate(id: normalized) {
        case .terminated:
            context.metrics.increment(ServiceMetrics.tusUploads, labels: [("event", "terminated")])
            context.logger.with("upload_id", normalized).info("upload terminated")
            return HTTPResponse(status: .noContent)
        case .notFound: throw APIError(.notFound, "no upload with id \(RequestText.shown(id))")
        case .alreadyGone: throw APIError(.gone, "upload \(normalized) was already terminated or has expired")
        }
    }

    /// Turns an append's outcome into the upload now counted, or the refusal to answer with; a
    /// full upload is finished here (object assembled, video recorded).
    private func settle(_ outcome: ResumableUploads.AppendOutcome, upload: ResumableUpload) async throws -> ResumableUpload {
        switch outcome {
        case .appended(let current):
            context.metrics.increment(ServiceMetrics.uploadBytes, by: Double(current.offset - upload.offset))
            guard current.isFull else { return current }
            do {
                return try await finishUpload(current)
            } catch {
                // Every byte is stored and counted; finishing is retried by HEAD and the sweeper.
                context.logger.with("upload_id", current.id).warning("upload complete but not finished yet; will retry", ["error": "\(error)"])
                return current
            }
        case .conflict(let current):
            throw APIError(.conflict, "another request appended to this upload first; its offset is now \(current.map { String($0.offset) } ?? "unknown"): HEAD, then resume")
        case .gone(let current):
            throw APIError(.gone, "upload \(upload.id) \(current.map { $0.status == .completed ? "is already complete" : "was \($0.status.rawValue)" } ?? "no longer exists")")
        case .overflow(let length, _):
            throw APIError(.payloadTooLarge, "the body goes past \(length) bytes (Upload-Length, or Tus-Max-Size while the length is deferred); the bytes of this request after the last stored part were not kept")
        case .failed(let error, let current):
            context.logger.with("upload_id", upload.id).error("append failed", ["error": "\(error)", "offset": String(current.offset)])
            throw error
        case .interrupted(let error, let kept):
            logInterrupted(kept, error)
            throw error
        case .checksumMismatch(let current):
            return current  // answered by the callers, each in its own words
        }
    }

    /// The object from every stored byte, then the video (`register`, idempotent on the id), then
    /// the upload marked completed. Safe to repeat at any point.
    @discardableResult
    func finishUpload(_ upload: ResumableUpload) async throws -> ResumableUpload {
        let object = try await uploads.assemble(upload)
        // Checked at creation; the metadata is kept as sent. Never falls back to public: a video
        // asked to be private is registered private or not at all.
        let visibility = try requestedVisibility(try UploadMetadata(header: upload.metadata).text("visibility"))
        _ = try await register(id: upload.id, title: upload.title, sourceKey: upload.objectKey, originalName: upload.filename, uploaded: false,
                               visibility: visibility)
        // Only the call that marks it completed reports it (HEAD and the sweep may finish it too).
        guard let done = try await uploads.store.markCompleted(id: upload.id, keepFor: tusSettings.expiry) else {
            return try await uploads.store.upload(id: upload.id) ?? upload
        }
        context.metrics.increment(ServiceMetrics.tusUploads, labels: [("event", "completed")])
        context.logger.with("upload_id", upload.id).info("upload complete: video recorded", ["key": upload.objectKey, "bytes": String(object.size)])
        return done
    }

    /// The upload's row, or 404 (unknown, or not a UUID) / 410 (expired or terminated).
    func existingUpload(_ rawID: String) async throws -> ResumableUpload {
        guard let id = VideoID.normalize(rawID), let upload = try await uploads.store.upload(id: id) else {
            throw APIError(.notFound, "no upload with id \(RequestText.shown(rawID))")
        }
        switch upload.status {
        case .uploading, .completed: return upload
        case .expired: throw APIError(.gone, "upload \(id) expired: nothing was written to it for \(tusSettings.expiry.components.seconds) s; start a new upload")
        case .terminated: throw APIError(.gone, "upload \(id) was terminated")
        }
    }

    private func logInterrupted(_ kept: ResumableUpload, _ error: any Error) {
        context.logger.with("upload_id", kept.id).info("append cut off; kept what arrived", ["offset": String(kept.offset), "error": "\(error)"])
    }

    /// `Upload-Expires`: an RFC 9110 date.
    static func httpDate(_ epochSeconds: Int64) -> String { HTTPDate.format(epochSeconds: Int(epochSeconds)) }
}
