import FoundationEssentials

/// The progress event: the same JSON on SSE, on pub/sub (`video:progress:{id}`, `video:progress:all`)
/// and in the `progress:{id}` key. Field names are the contract; every field is always present
/// (unknown values are `null`) so dashboards can rely on the shape.
public struct ProgressEvent: Sendable, Equatable, Codable {
    /// What the worker is doing; `playable` is the one event that says the video just became
    /// playable (the work goes on: the next events are `transcoding` again, with `playable` true).
    public enum Stage: String, Sendable, Codable, CaseIterable {
        /// A `source_url` submission: the source is being downloaded into storage.
        case fetching
        case probing, transcoding, uploading, finalizing, playable
    }

    public enum RenditionState: String, Sendable, Codable, CaseIterable {
        case pending, transcoding, uploading, done, failed
    }

    public struct RenditionProgress: Sendable, Equatable, Codable {
        public var height: Int
        /// With `height`, what a page labels the rung by (its short side: a portrait 720×1280
        /// rung is "720p"). Absent in events of versions that did not send it.
        public var width: Int?
        public var state: RenditionState
        public var percent: Double
        public init(height: Int, width: Int? = nil, state: RenditionState, percent: Double) {
            self.height = height
            self.width = width
            self.state = state
            self.percent = percent
        }
    }

    public var videoID: String
    public var status: VideoStatus
    public var stage: Stage?
    public var percent: Double
    public var processedFrames: Int64?
    public var totalFrames: Int64?
    public var renditions: [RenditionProgress]
    public var fps: Double?
    public var speed: Double?
    public var etaSeconds: Double?
    public var error: String?
    public var timestamp: String
    /// While `fetching`: bytes of the source stored so far, and its size when the origin said.
    public var bytesFetched: Int64?
    public var bytesTotal: Int64?
    /// The HLS master playlist plays what is stored so far (`hls_master_url` of the video).
    public var playable: Bool
    /// When the video first became playable (RFC 3339), nil until then.
    public var playableAt: String?

    public init(videoID: String, status: VideoStatus, stage: Stage? = nil, percent: Double = 0,
                processedFrames: Int64? = nil, totalFrames: Int64? = nil, renditions: [RenditionProgress] = [],
                fps: Double? = nil, speed: Double? = nil, etaSeconds: Double? = nil, error: String? = nil,
                timestamp: String, bytesFetched: Int64? = nil, bytesTotal: Int64? = nil,
                playable: Bool = false, playableAt: String? = nil) {
        self.videoID = videoID
        self.status = status
        self.stage = stage
        self.percent = percent
        self.processedFrames = processedFrames
        self.totalFrames = totalFrames
        self.renditions = renditions
        self.fps = fps
        self.speed = speed
        self.etaSeconds = etaSeconds
        self.error = error
        self.timestamp = timestamp
        self.bytesFetched = bytesFetched
        self.bytesTotal = bytesTotal
        self.playable = playable
        self.playableAt = playableAt
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case videoID = "video_id", status, stage, percent
        case processedFrames = "processed_frames", totalFrames = "total_frames"
        case renditions, fps, speed, etaSeconds = "eta_seconds", error, timestamp
        case bytesFetched = "bytes_fetched", bytesTotal = "bytes_total"
        case playable, playableAt = "playable_at"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        videoID = try c.decode(String.self, forKey: .videoID)
        status = try c.decode(VideoStatus.self, forKey: .status)
        stage = try c.decodeIfPresent(Stage.self, forKey: .stage)
        percent = try c.decode(Double.self, forKey: .percent)
        processedFrames = try c.decodeIfPresent(Int64.self, forKey: .processedFrames)
        totalFrames = try c.decodeIfPresent(Int64.self, forKey: .totalFrames)
        renditions = try c.decode([RenditionProgress].self, forKey: .renditions)
        fps = try c.decodeIfPresent(Double.self, forKey: .fps)
        speed = try c.decodeIfPresent(Double.self, forKey: .speed)
        etaSeconds = try c.decodeIfPresent(Double.self, forKey: .etaSeconds)
        error = try c.decodeIfPresent(String.self, forKey: .error)
        timestamp = try c.decode(String.self, forKey: .timestamp)
        // Absent in events stored before the field existed (a snapshot lives up to a day).
        playable = try c.decodeIfPresent(Bool.self, forKey: .playable) ?? false
        playableAt = try c.decodeIfPresent(String.self, forKey: .playableAt)
        bytesFetched = try c.decodeIfPresent(Int64.self, forKey: .bytesFetched)
        bytesTotal = try c.decodeIfPresent(Int64.self, forKey: .bytesTotal)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(videoID, forKey: .videoID)
        try c.encode(status, forKey: .status)
        try c.encode(stage, forKey: .stage)
        try c.encode(percent, forKey: .percent)
        try c.encode(processedFrames, forKey: .processedFrames)
        try c.encode(totalFrames, forKey: .totalFrames)
        try c.encode(renditions, forKey: .renditions)
        try c.encode(fps, forKey: .fps)
        try c.encode(speed, forKey: .speed)
        try c.encode(etaSeconds, forKey: .etaSeconds)
        try c.encode(error, forKey: .error)
        try c.encode(timestamp, forKey: .timestamp)
        try c.encode(bytesFetched, forKey: .bytesFetched)
        try c.encode(bytesTotal, forKey: .bytesTotal)
        try c.encode(playable, forKey: .playable)
        try c.encode(playableAt, forKey: .playableAt)
    }

    /// Compact JSON with keys in a stable order (what is published and stored).
    public func jsonBytes() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain values cannot fail; a failure here would be a programming error.
        return Array(try! encoder.encode(self))
    }

    public func jsonString() -> String { String(decoding: jsonBytes(), as: UTF8.self) }

    public static func decode(_ bytes: some Collection<UInt8>) throws -> ProgressEvent {
        try JSONDecoder().decode(ProgressEvent.self, from: Data(bytes))
    }

    /// A published message or stored snapshot: the event and the `event_id` member the publish
    /// script adds (nil in JSON written without it, e.g. by an older vidd or by hand).
    public static func decodeMessage(_ bytes: some Collection<UInt8>) throws -> (id: ProgressEventID?, event: ProgressEvent) {
        let data = Data(bytes)
        let event = try JSONDecoder().decode(ProgressEvent.self, from: data)
        let id = (try? JSONDecoder().decode(EventIDMember.self, from: data))?.eventID.flatMap { ProgressEventID($0) }
        return (id, event)
    }

    private struct EventIDMember: Decodable {
        var eventID: String?
        enum CodingKeys: String, CodingKey { case eventID = "event_id" }
    }
}
