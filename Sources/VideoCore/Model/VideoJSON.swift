/// The API's JSON for videos (`GET /videos`, `GET /videos/{id}`, `POST /jobs`' 202).
///
/// Output URLs always go through `/media/{id}/{path}`: served locally with Range support, or
/// redirected to a presigned S3 URL — so a public video's URL in a response never expires. A
/// private video's URLs carry a signature (`MediaSigner`) that expires at `media_expires_at`;
/// they are only rendered for callers with a token (and in webhooks).
public enum VideoJSON {
    public static func mediaURL(videoID: String, key: String) -> String? {
        ObjectKeys.mediaPath(forKey: key, videoID: videoID).map { "/media/\(videoID)/\($0)" }
    }

    public static func location(videoID: String) -> String { "/videos/\(videoID)" }

    /// How a private video's URLs are signed: the signer and the expiry they get.
    public struct Signing: Sendable {
        public var signer: MediaSigner
        public var expires: Int64
        public init(signer: MediaSigner, expires: Int64) {
            self.signer = signer
            self.expires = expires
        }
        public init(signer: MediaSigner) { self.init(signer: signer, expires: signer.expiry()) }
    }

    /// One video's URLs as this answer gives them: plain for a public video, with the signed
    /// query for a private one (nil when it cannot be signed: no keys configured). The query is
    /// the same for every URL of the video (`MediaSigner`), so it is computed once here: one HMAC
    /// a video, not one a URL.
    struct MediaURLs {
        let videoID: String
        /// "" (public), "?exp=…&sig=…" (private), or nil (private, no keys: no URL at all).
        let suffix: String?
        /// When a private video's signed URLs expire (unix seconds); nil for a public video.
        let expires: Int64?

        init(_ v: Video, signing: Signing?) {
            videoID = v.id
            guard v.visibility == .private else { (suffix, expires) = ("", nil); return }
            suffix = signing.map { "?" + $0.signer.query(videoID: v.id, expires: $0.expires) }
            expires = signing?.expires
        }

        func media(key: String) -> String? {
            guard let suffix, let url = VideoJSON.mediaURL(videoID: videoID, key: key) else { return nil }
            return url + suffix
        }

        /// `GET /progress/{id}`; a private video's carries the media signature, so an EventSource
        /// (which cannot send a token) can follow it until `media_expires_at`.
        var progress: String? { suffix.map { "/progress/\(videoID)" + $0 } }
    }

    public static func video(_ v: Video, renditions: [Rendition] = [], progress: ProgressEvent? = nil, signing: Signing? = nil) -> JSONValue {
        video(v, renditions: renditions, progress: progress, urls: MediaURLs(v, signing: signing))
    }

    /// `urls`: the video's (passed in so a caller rendering more of the video signs once).
    static func video(_ v: Video, renditions: [Rendition], progress: ProgressEvent?, urls: MediaURLs) -> JSONValue {
        let completed = v.status == .completed
        func output(_ key: String) -> JSONValue { completed ? string(urls.media(key: key)) : .null }
        let s = v.source
        let source: [(String, JSONValue)] = [
            ("duration_seconds", number(s.durationSeconds)),
            ("width", integer(s.width)),
            ("height", integer(s.height)),
            ("frame_rate", number(s.frameRate)),
            ("video_codec", string(s.videoCodec)),
            ("audio_codec", string(s.audioCodec)),
            ("size_bytes", integer(s.sizeBytes.map { Int($0) })),
            ("rotation", integer(s.rotation)),
        ]
        let rungs: [JSONValue] = renditions.sorted { $0.height > $1.height }.map { rendition($0, urls: urls) }
        var members: [(String, JSONValue)] = [
            ("id", .string(v.id)),
            ("title", string(v.title)),
            ("status", .string(v.status.rawValue)),
            ("error_message", string(v.errorMessage)),
            ("source_key", .string(v.sourceKey)),
            ("original_name", string(v.originalName)),
            ("source", .object(source)),
            ("attempts", .integer(v.attempts)),
            ("created_at", .string(v.createdAt)),
            ("started_at", string(v.startedAt)),
            ("completed_at", string(v.completedAt)),
            ("renditions", .array(rungs)),
            ("visibility", .string(v.visibility.rawValue)),
            ("media_expires_at", string(urls.expires.map { Timestamp.rfc3339(milliseconds: $0 * 1000) })),
        ]
        // Playable early: the master plays what is stored from `playable_at` on, long before
        // completion (its media playlists grow until then); a failed video's is withdrawn.
        members.append(("playable", .bool(v.isPlayable)))
        members.append(("playable_at", string(v.playableAt)))
        members.append(("hls_master_url", v.isPlayable ? string(urls.media(key: ObjectKeys.hlsMaster(videoID: v.id))) : .null))
        // DASH over the same segments, static once complete: only completed videos have one.
        members.append(("dash_manifest_url", completed ? string(v.dashManifestKey.flatMap(urls.media(key:))) : .null))
        members.append(("poster_url", output(ObjectKeys.poster(videoID: v.id))))
        members.append(("storyboard_url", output(ObjectKeys.storyboardVTT(videoID: v.id))))
        members.append(("failure", failure(v)))
        members.append(("progress", progress.map { JSONValue.raw($0.jsonString()) } ?? .null))
        members.append(("progress_url", string(urls.progress)))
        return .object(members)
    }

    /// For a failed video: what went wrong in words for people (`message`), the technical text
    /// (`detail`, the same as `error_message`), and whether a retry can help (`retryable`: false
    /// when the file itself is the problem). null otherwise.
    static func failure(_ v: Video) -> JSONValue {
        guard v.status == .failed else { return .null }
        return .object([
            ("code", string(v.failureCode?.rawValue)),
            ("message", .string(v.failureCode?.message ?? FailureCode.unknownMessage)),
            ("detail", string(v.errorMessage)),
            ("retryable", .bool(v.failureCode?.isRetryable ?? true)),
        ])
    }

    /// A rung's name: its short side (a portrait 720×1280 rendition is "720p", like a landscape 1280×720).
    static func label(width: Int, height: Int) -> String { "\(min(width, height))p" }

    static func rendition(_ r: Rendition, urls: MediaURLs) -> JSONValue {
        let hls: String? = r.hlsPlaylistKey.flatMap(urls.media(key:))
        return .object([
            ("label", .string(label(width: r.width, height: r.height))),
            ("height", .integer(r.height)), ("width", .integer(r.width)), ("bitrate", .integer(r.bitrate)),
            ("size_bytes", .integer(Int(r.sizeBytes))), ("codec", .string(r.codec)),
            ("url", string(urls.media(key: r.mp4Key))),
            ("hls_url", string(hls)),
        ])
    }

    static func string(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
    static func integer(_ i: Int?) -> JSONValue { i.map(JSONValue.integer) ?? .null }
    static func number(_ d: Double?) -> JSONValue { d.map(JSONValue.number) ?? .null }

    public static func list(_ videos: [Video], total: Int, page: PageRequest, signing: Signing? = nil) -> JSONValue {
        .object([
            ("videos", .array(videos.map { video($0, signing: signing) })),
            ("total", .integer(total)),
            ("limit", .integer(page.limit)),
            ("offset", .integer(page.offset)),
        ])
    }
}
