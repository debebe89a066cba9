import VideoCore
import HTTPServer
import FoundationEssentials

/// Private playback: who may see a private video, the visibility a submission asks for,
/// and the signature check of `/media` for private videos.
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

    /// Whether the request carries a valid, unexpired signature of this video (`exp`, `sig`).
    func hasValidSignature(_ request: HTTPRequest, video: Video) -> Bool {
        validSignatureExpiry(request, videoID: video.id) != nil
    }

    /// The expiry of the request's signature of this video when it is valid and unexpired: a
    /// signature needs only the id, so a signed request is admitted without reading the row.
    func validSignatureExpiry(_ request: HTTPRequest, videoID: String) -> Int64? {
        guard let signer, let expires = request.queryParameter("exp"),
              signer.verify(videoID: videoID, expires: expires, signature: request.queryParameter("sig")) == .valid else { return nil }
        return Int64(expires)
    }

    /// For a private video's `/media` request: the expiry of its valid signature, or a 403
    /// (unsigned, tampered with, signed by no configured key, or expired).
    func checkSignedMedia(_ request: HTTPRequest, videoID: String) throws(APIError) -> Int64 {
        guard let signer else {
            context.metrics.increment(ServiceMetrics.signedMediaRefused, labels: [("reason", "no_keys")])
            throw APIError(.forbidden, "this video is private and this server has no signing keys (VIDD_SIGNING_KEYS)")
        }
        let expires = request.queryParameter("exp")
        let verdict = signer.verify(videoID: videoID, expires: expires, signature: request.queryParameter("sig"))
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
    func signedPlaylist(key: String, path: String, videoID: String, expires: Int64) async throws -> HTTPResponse? {
        guard let kind = SignedManifest.Kind(path: path), let signer else { return nil }
        guard let info = try await storage.head(key: key) else { return nil }
        guard info.size <= SignedManifest.maximumBytes else {
            throw APIError(.internalError, "playlist \(path) is larger than \(SignedManifest.maximumBytes) bytes")
        }
        let bytes = info.size > 0 ? try await storage.get(key: key, range: 0...(info.size - 1)) : []
        let query = signer.query(videoID: videoID, expires: expires)
        let rewritten = SignedManifest.rewrite(String(decoding: bytes, as: UTF8.self), kind: kind, query: query)
        let headers: HTTPFields = ["Content-Type": kind.contentType, "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"]
        // The body even for HEAD: the server sends its length and drops it, as GET's would be.
        return HTTPResponse(status: .ok, headers: headers, body: .string(rewritten))
    }
}
