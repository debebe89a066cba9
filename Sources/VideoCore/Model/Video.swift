/// A video's lifecycle state, as stored in `videos.status` and sent in progress events.
public enum VideoStatus: String, Sendable, Codable, CaseIterable {
    case queued, processing, completed, failed

    /// No further progress will come: SSE streams close, workers skip the job.
    public var isFinal: Bool { self == .completed || self == .failed }
}

/// Who may see a video: anyone (`public`), or callers with an API token and holders of a signed
/// media URL (`private`).
public enum Visibility: String, Sendable, Codable, CaseIterable {
    case `public`, `private`
}

/// What the probe found in the source (the `videos.source_*` columns).
public struct SourceMetadata: Sendable, Equatable, Codable {
    public var durationSeconds: Double?
    public var width: Int?
    public var height: Int?
    public var frameRate: Double?
    public var videoCodec: String?
    public var audioCodec: String?
    public var sizeBytes: Int64?
    public var rotation: Int?

    public init(durationSeconds: Double? = nil, width: Int? = nil, height: Int? = nil, frameRate: Double? = nil,
                videoCodec: String? = nil, audioCodec: String? = nil, sizeBytes: Int64? = nil, rotation: Int? = nil) {
        self.durationSeconds = durationSeconds
        self.width = width
        self.height = height
        self.frameRate = frameRate
        self.videoCodec = videoCodec
        self.audioCodec = audioCodec
        self.sizeBytes = sizeBytes
        self.rotation = rotation
    }

    enum CodingKeys: String, CodingKey {
        case durationSeconds = "duration_seconds", width, height, frameRate = "frame_rate"
        case videoCodec = "video_codec", audioCodec = "audio_codec", sizeBytes = "size_bytes", rotation
    }
}

/// A row of `videos`. Timestamps are RFC 3339 text as PostgreSQL's simple protocol returns them
/// (`to_char`'d by the queries in `SQL`), so no date parsing sits between the database and the API.
public struct Video: Sendable, Equatable {
    public var id: String
    public var title: String?
    public var status: VideoStatus
    public var errorMessage: String?
    public var sourceKey: String
    public var originalName: String?
    public var source: SourceMetadata
    public var attempts: Int
    public var createdAt: String
    public var startedAt: String?
    public var completedAt: String?
    /// Set with `failed`: whether the file or the service was at fault (nil for older failures).
    public var failureCode: FailureCode?
    /// When its first segments and a master playlist were stored (kept after a failure: it was
    /// playable then; cleared by a retry, which starts over).
    public var playableAt: String?
    /// The DASH manifest its completion recorded (nil before completion and for videos older
    /// than DASH).
    public var dashManifestKey: String?
    /// Private: its media only through signed URLs, listed and shown only to callers with a token.
    public var visibility: Visibility

    public init(id: String, title: String? = nil, status: VideoStatus = .queued, errorMessage: String? = nil,
                sourceKey: String, originalName: String? = nil, source: SourceMetadata = SourceMetadata(),
                attempts: Int = 0, createdAt: String, startedAt: String? = nil, completedAt: String? = nil,
                failureCode: FailureCode? = nil, playableAt: String? = nil, dashManifestKey: String? = nil,
                visibility: Visibility = .public) {
        self.id = id
        self.title = title
        self.status = status
        self.errorMessage = errorMessage
        self.sourceKey = sourceKey
        self.originalName = originalName
        self.source = source
        self.attempts = attempts
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.completedAt = completedAt
        self.failureCode = failureCode
        self.playableAt = playableAt
        self.dashManifestKey = dashManifestKey
        self.visibility = visibility
    }

    /// Its HLS master lists only what is stored and plays: from `playableAt` while processing, and
    /// once completed; a failed video is not (what was stored stays until a retry or a delete).
    public var isPlayable: Bool {
        switch status {
        case .completed: true
        case .processing: playableAt != nil
        case .queued, .failed: false
        }
    }
}

/// A row of `resolutions`: one per video and rung (UNIQUE(video_id, height)).
public struct Rendition: Sendable, Equatable {
    public var videoID: String
    public var height: Int
    public var width: Int
    public var bitrate: Int
    public var sizeBytes: Int64
    public var codec: String
    public var mp4Key: String
    public var hlsPlaylistKey: String?

    public init(videoID: String, height: Int, width: Int, bitrate: Int, sizeBytes: Int64, codec: String,
                mp4Key: String, hlsPlaylistKey: String? = nil) {
        self.videoID = videoID
        self.height = height
        self.width = width
        self.bitrate = bitrate
        self.sizeBytes = sizeBytes
        self.codec = codec
        self.mp4Key = mp4Key
        self.hlsPlaylistKey = hlsPlaylistKey
    }
}
