import VideoCore
import HTTPServer
import FoundationEssentials

/// Private playback: who may see a private video, the visibility a submission asks for,
/// `PATCH /videos/{id}`, and the signature check of `/media` for private videos.
extension APIHandlers {
    /// A caller with a configured token (or any caller when no tokens are configured).
    func callerSeesPrivate(_ request: HTTPRequest) -> Bool {
        authorization.admitsPrivate(request.headers["Authorization"])
    }

    /// How this answer signs a private video's URLs (a fresh expiry each time).
    var mediaSigning: VideoJSON.Signing? { signer.map { VideoJSON.Signing(signer: $0) } }

    /// `visibility` of a submission (JSON field, multipart field, `?visibility=`, tus metadata):
    /// absent is public; private needs signing keys, without which its media could never play.
    func requestedVisibility(_ raw: String?) throws(APIError) -> Visibility {
        guard let raw, !raw.isEmpty else { return .public }
        guard let visibility = Visibility(rawValue: raw) else {
            throw APIError(.validationFailed, "visibility must be public or private, not \(RequestText.shown(raw))")
        }
        if visibility == .private && signer == nil {
            throw APIError(.validationFailed, "private videos need signed media URLs: set VIDD_SIGNING_KEYS")
        }
        return visibility
    }

    /// `PATCH /videos/{id}` with a JSON object of the fields to change (`title`, `visibility`);
    /// absent fields stay as they are, `"title": null` clears the title. Answers the video.
    func updateVideo(_ request: HTTPRequest, id: String) async throws -> HTTPResponse {
        let existing = try await existingVideo(id)
        let body = try await request.body.collect(upTo: JobSubmission.maximumBodyBytes)
        let patch = try VideoPatch(json: body)
        let visibility = try patch.visibility.map { raw throws(APIError) in try requestedVisibility(raw) }
        guard let video = try await store.updateVideo(id: existing.id, title: patch.title, visibility: visibility) else {
            throw APIError(.notFound, "no video with id \(existing.id)")
        }
        context.logger.with("video_id", video.id).info("video updated", ["fields": patch.fieldNames.joined(separator: ",")])
        let renditions = try await store.renditions(videoID: video.id)
        return APIResponse.json(VideoJSON.video(video, renditions: renditions, signing: mediaSigning))
    }

    /// Whether the request carries a valid, unexpired signature of this video (`exp`, `sig`).
    func hasValidSignature(_ request: HTTPRequest, video: Video) -> Bool {
        signer?.verify(videoID: video.id, expires: request.queryParameter("exp"), signature: request.queryParameter("sig")) == .valid
    }

    /// For a private video's `/media` request: the expiry of its valid signature, or a 403
    /// (unsigned, tampered with, signed by no configured key, or expired).
    func checkSignedMedia(_ request: HTTPRequest, video: Video) throws(APIError) -> Int64 {
        guard let signer else {
            context.metrics.increment(ServiceMetrics.signedMediaRefused, labels: [("reason", "no_keys")])
            throw APIError(.forbidden, "this video is private and this server has no signing keys (VIDD_SIGNING_KEYS)")
        }
        let expires = request.queryParameter("exp")
        let verdict = signer.verify(videoID: video.id, expires: expires, signature: request.queryParameter("sig"))
        switch verdict {
        case .valid:
            return Int64(expires ?? "") ?? 0
        case .unsigned:
            context.metrics.increment(ServiceMetrics.signedMediaRefused, labels: [("reason", "unsigned")])
            throw APIError(.forbidden, "this video is private: its media need a signed URL (exp and sig, from GET /videos/{id} with a token)")
        case .expired:
            context.metrics.increment(ServiceMetrics.signedMediaRefused, labels: [("reason", "expired")])
            throw APIError(.forbidden, "this signed URL has expired; get a fresh one from GET /videos/{id}")
        case .invalid:
            context.metrics.increment(ServiceMetrics.signedMediaRefused, labels: [("reason", "invalid")])
            throw APIError(.forbidden, "the signature of this URL is not valid")
        }
    }

    /// A private video's playlist, its URLs signed with the request's own signature (the stored
    /// playlist is the same bytes for every viewer).
    func signedPlaylist(key: String, path: String, videoID: String, expires: Int64, request: HTTPRequest) async throws -> HTTPResponse? {
        guard let kind = SignedManifest.Kind(path: path), let signer else { return nil }
        guard let info = try await storage.head(key: key) else { return nil }
        guard info.size <= SignedManifest.maximumBytes else {
            throw APIError(.internalError, "playlist \(path) is larger than \(SignedManifest.maximumBytes) bytes")
        }
        let bytes = info.size > 0 ? try await storage.get(key: key, range: 0...(info.size - 1)) : []
        let query = signer.query(videoID: videoID, expires: expires)
        let rewritten = SignedManifest.rewrite(String(decoding: bytes, as: UTF8.self), kind: kind, query: query)
        let headers: HTTPFields = ["Content-Type": kind.contentType, "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"]
        return HTTPResponse(status: .ok, headers: headers, body: request.method == .head ? .empty : .string(rewritten))
    }
}

/// The body of `PATCH /videos/{id}`: every field optional.
struct VideoPatch: Sendable, Equatable {
    /// nil: unchanged; .some(nil): cleared.
    var title: String??
    var visibility: String?
    var fieldNames: [String]

    init(json: [UInt8]) throws(APIError) {
        let body: Body
        do {
            body = try JSONDecoder().decode(Body.self, from: Data(json))
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError(.badRequest, "the body must be a JSON object of the fields to change: title (a string or null), visibility (public or private)")
        }
        guard !body.names.isEmpty else { throw APIError(.validationFailed, "nothing to change: send title and/or visibility") }
        if case .some(.some(let t)) = body.title, t.count > JobSubmission.maximumTitleLength {
            throw APIError(.validationFailed, "title is longer than \(JobSubmission.maximumTitleLength) characters")
        }
        title = body.title.map { $0.flatMap { $0.trimmingBlanks().nilIfEmpty } }
        visibility = body.visibility
        fieldNames = body.names
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private struct Body: Decodable {
        var title: String??
        var visibility: String?
        var names: [String] = []

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            for key in c.allKeys {
                switch key.stringValue {
                case "title": title = .some(try c.decodeNil(forKey: key) ? nil : try c.decode(String.self, forKey: key))
                case "visibility": visibility = try c.decode(String.self, forKey: key)
                default:
                    throw APIError(.validationFailed, "\(RequestText.shown(key.stringValue)) cannot be changed; PATCH takes title and visibility")
                }
                names.append(key.stringValue)
            }
        }
    }
}
