/// The API's JSON for videos (`GET /videos`, `GET /videos/{id}`, `POST /jobs`' 202).
///
/// Output URLs always go through `/media/{id}/{path}`: served locally with Range support, or
/// redirected to a presigned S3 URL — so a URL in a response never expires.
public enum VideoJSON {
    public static func mediaURL(videoID: String, key: String) -> String? {
        ObjectKeys.mediaPath(forKey: key, videoID: videoID).map { "/media/\(videoID)/\($0)" }
    }

    public static func location(videoID: String) -> String { "/videos/\(videoID)" }

    public static func video(_ v: Video, renditions: [Rendition] = [], progress: ProgressEvent? = nil) -> JSONValue {
        let completed = v.status == .completed
        func output(_ key: String) -> JSONValue { completed ? string(mediaURL(videoID: v.id, key: key)) : .null }
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
        let rungs: [JSONValue] = renditions.sorted { $0.height > $1.height }.map { rendition(v.id, $0) }
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
        ]
        members.append(("hls_master_url", output(ObjectKeys.hlsMaster(videoID: v.id))))
        members.append(("poster_url", output(ObjectKeys.poster(videoID: v.id))))
        members.append(("storyboard_url", output(ObjectKeys.storyboardVTT(videoID: v.id))))
        members.append(("progress", progress.map { JSONValue.raw($0.jsonString()) } ?? .null))
        return .object(members)
    }

    static func rendition(_ videoID: String, _ r: Rendition) -> JSONValue {
        let hls: String? = r.hlsPlaylistKey.flatMap { mediaURL(videoID: videoID, key: $0) }
        return .object([
            ("height", .integer(r.height)), ("width", .integer(r.width)), ("bitrate", .integer(r.bitrate)),
            ("size_bytes", .integer(Int(r.sizeBytes))), ("codec", .string(r.codec)),
            ("url", string(mediaURL(videoID: videoID, key: r.mp4Key))),
            ("hls_url", string(hls)),
        ])
    }

    static func string(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
    static func integer(_ i: Int?) -> JSONValue { i.map(JSONValue.integer) ?? .null }
    static func number(_ d: Double?) -> JSONValue { d.map(JSONValue.number) ?? .null }

    public static func list(_ videos: [Video], total: Int, page: PageRequest) -> JSONValue {
        .object([
            ("videos", .array(videos.map { video($0) })),
            ("total", .integer(total)),
            ("limit", .integer(page.limit)),
            ("offset", .integer(page.offset)),
        ])
    }
}
