import VideoCore
import HTTPServer
import Reactor
import RESP

/// `/readyz` and `GET /media/{id}/{path}`.
extension APIHandlers {
    /// Redis PING, PostgreSQL `SELECT 1` and the storage check, concurrently, each bounded by
    /// `Options.readinessTimeout` (a probe must answer even when a backend hangs). 200 with each
    /// check's result, or 503 naming the ones that failed (messages redacted).
    func readiness() async -> HTTPResponse {
        async let redis = check { _ = try await self.context.redis.ping() }
        async let postgres = check { _ = try await self.store.db.query(SQL.ping, []) }
        async let storage = check { try await self.storage.checkReachable() }
        let results = [("redis", await redis), ("postgres", await postgres), ("storage", await storage)]
        let checks = JSONValue.object(results.map { ($0.0, .string($0.1 ?? "ok")) })
        let failed = results.filter { $0.1 != nil }
        guard failed.isEmpty else {
            let message = "not ready: " + failed.map { "\($0.0): \($0.1!)" }.joined(separator: "; ")
            context.logger.warning("readiness check failed", ["failed": failed.map(\.0).joined(separator: ",")])
            let error = APIError(.unavailable, message)
            return APIResponse.json(.object([("error", .raw(Self.errorObject(error))), ("checks", checks)]), status: 503)
        }
        return APIResponse.json(.object([("status", "ready"), ("checks", checks)]))
    }

    /// nil when the check passed within the readiness timeout, else why not (redacted).
    private func check(_ body: @escaping @Sendable () async throws -> Void) async -> String? {
        switch await TimeBudget.run(within: options.readinessTimeout, body) {
        case .value: return nil
        case .failed(let error): return context.configuration.redactor.redact("\(error)")
        case .timedOut(let budget): return "no answer within \(budget)"
        }
    }

    /// `{"code","message"}` of an error body.
    static func errorObject(_ error: APIError) -> String {
        JSONValue.object([("code", .string(error.code.rawValue)), ("message", .string(error.message))]).text
    }

    /// Local files are served here with Range, ETag and Last-Modified; S3 objects are a 302 to
    /// a presigned URL. The body streams in 1 MiB reads through `Storage.get` (off the loop).
    /// A private video's files need a valid signature (`checkSignedMedia`, else 403): its
    /// playlists are served here with their URLs signed alike, its other files as a public
    /// video's, an S3 redirect's presigned URL expiring with the signature.
    func media(_ request: HTTPRequest, id rawID: String, path: String) async throws -> HTTPResponse {
        guard let id = VideoID.normalize(rawID), let key = ObjectKeys.key(forMediaPath: path, videoID: id) else {
            throw APIError(.notFound, "no output \(RequestText.shown(path)) for video \(RequestText.shown(rawID))")
        }
        var expiresIn = options.presignExpiry
        // A valid signature is checked without the database (a player fetches every segment
        // this way); an unsigned or refused one asks the visibility cache whether it must be
        // signed (a public video's segments would otherwise each cost a query).
        if let expires = validSignatureExpiry(request, videoID: id) {
            if let playlist = try await signedPlaylist(key: key, path: path, videoID: id, expires: expires) {
                return playlist
            }
            expiresIn = min(expiresIn, .seconds(max(1, expires - Timestamp.nowMilliseconds() / 1000)))
        } else if try await visibilities.visibility(of: id) == .private {
            _ = try checkSignedMedia(request, videoID: id)  // not valid: throws the 403 with its reason
        }
        let location: PlayableLocation
        do {
            location = try await storage.playableLocation(key: key, expiresIn: expiresIn)
        } catch StorageError.notFound {
            throw APIError(.notFound, "no output \(RequestText.shown(path)) for video \(id)")
        }
        switch location {
        case .redirect where Self.isManifest(key):
            // Served here, not redirected: a player resolves a playlist's relative URIs against
            // the URL it got it from, which must stay /media/{id}/… (each media file it names is
            // then redirected on its own). Small files; growing ones must not be cached.
            guard let info = try await storage.head(key: key) else {
                throw APIError(.notFound, "no output \(RequestText.shown(path)) for video \(id)")
            }
            return serve(key: key, info: info, request: request)
        case .redirect(let url, _):
            return HTTPResponse(status: .found, headers: ["Location": url, "Cache-Control": "no-store"])
        case .localFile:
            guard let info = try await storage.head(key: key) else {
                throw APIError(.notFound, "no output \(RequestText.shown(path)) for video \(id)")
            }
            return serve(key: key, info: info, request: request)
        }
    }

    /// HLS playlists, DASH manifests and the storyboard's WebVTT: they name other outputs by
    /// relative URI, so a redirect to storage would make those resolve against the storage's
    /// URL, unsigned (the storyboard's sprite did, with S3).
    static func isManifest(_ key: String) -> Bool { SignedManifest.Kind(path: key) != nil }

    private func serve(key: String, info: ObjectInfo, request: HTTPRequest) -> HTTPResponse {
        let size = info.size
        let modified = Int(info.modified)
        let etag = "\"\(String(size, radix: 16))-\(String(info.modified, radix: 16))\""
        let ext = key.split(separator: "/").last.flatMap { $0.contains(".") ? $0.split(separator: ".").last.map(String.init) : nil } ?? ""
        var headers: HTTPFields = [
            "Content-Type": MIMEType.forExtension(ext),
            "ETag": etag,
            "Last-Modified": HTTPDate.format(epochSeconds: modified),
            // A playlist grows while the video is processed: a byte range of it is no playlist.
            // Chromium's media cache asks for `bytes=<what it has>-` without If-Range and parses
            // the tail alone (DEMUXER_ERROR_COULD_NOT_PARSE), so manifests are always whole.
            "Accept-Ranges": Self.isManifest(key) ? "none" : "bytes",
            "Cache-Control": Self.isManifest(key) ? "no-store" : "no-cache",
            "X-Content-Type-Options": "nosniff",
        ]
        switch ConditionalRequest.evaluate(method: request.method, headers: request.headers, etag: etag, lastModified: modified) {
        case .notModified:
            return HTTPResponse(status: .notModified, headers: headers)
        case .preconditionFailed:
            return APIResponse.error(APIError(.preconditionFailed, "this file (ETag \(etag)) does not satisfy If-Match or If-Unmodified-Since"))
        case .proceed:
            break
        }
        var status = HTTPStatus.ok
        var range: ClosedRange<Int64>? = size > 0 ? 0...(size - 1) : nil
        if request.method == .get, !Self.isManifest(key), ConditionalRequest.rangeApplies(headers: request.headers, etag: etag, lastModified: modified) {
            switch ByteRange.resolve(request.headers["Range"], size: size) {
            case .whole:
                break
            case .partial(let r):
                range = r
                status = .partialContent
                headers["Content-Range"] = ByteRange.contentRange(r, size: size)
            case .unsatisfiable:
                var response = APIResponse.error(APIError(.rangeNotSatisfiable, "Range \(RequestText.shown(request.headers["Range"] ?? "")) is outside the file (\(size) bytes)"))
                response.headers["Content-Range"] = ByteRange.unsatisfiedContentRange(size: size)
                return response
            }
        }
        guard let range else { return HTTPResponse(status: .ok, headers: headers) }
        let storage = self.storage
        return HTTPResponse(status: status, headers: headers, body: .stream(length: Int(range.count)) { writer in
            var offset = range.lowerBound
            while offset <= range.upperBound {
                let last = min(offset + (1 << 20) - 1, range.upperBound)
                try await writer.write(try await storage.get(key: key, range: offset...last))
                offset = last + 1
            }
        })
    }
}
