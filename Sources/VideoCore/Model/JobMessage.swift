import FoundationEssentials

/// A job on the `video:jobs` stream: the entry's field/value pairs.
///
/// Written by vidd as `video_id`, `source_key`, `attempt`, `enqueued_at` (+ `title`, `original_name`).
/// Also read: the seed's `{"video_id", "s3_path", "original_name"}` — as flat fields or as one
/// field (`data`, `payload` or `job`) holding that JSON — so jobs queued by older producers still run.
public struct JobMessage: Sendable, Equatable {
    public var videoID: String
    public var sourceKey: String
    public var attempt: Int
    public var enqueuedAt: String?
    public var title: String?
    public var originalName: String?
    /// The bucket an `s3://bucket/key` path named (the seed's form); the worker refuses one that
    /// is not its own. vidd itself writes plain keys.
    public var sourceBucket: String?

    public init(videoID: String, sourceKey: String, attempt: Int = 1, enqueuedAt: String? = nil,
                title: String? = nil, originalName: String? = nil, sourceBucket: String? = nil) {
        self.videoID = videoID
        self.sourceKey = sourceKey
        self.attempt = attempt
        self.enqueuedAt = enqueuedAt
        self.title = title
        self.originalName = originalName
        self.sourceBucket = sourceBucket
    }

    public struct DecodingError: Error, Sendable, Equatable, CustomStringConvertible {
        public var reason: String
        public init(reason: String) { self.reason = reason }
        public var description: String { "bad job message: \(reason)" }
    }

    /// Field/value pairs for XADD, in a fixed order.
    public var fields: [(String, String)] {
        var out = [("video_id", videoID), ("source_key", sourceKey), ("attempt", String(attempt))]
        if let enqueuedAt { out.append(("enqueued_at", enqueuedAt)) }
        if let title { out.append(("title", title)) }
        if let originalName { out.append(("original_name", originalName)) }
        return out
    }

    public init(fields: [(String, String)]) throws(DecodingError) {
        var map: [String: String] = [:]
        for (k, v) in fields { map[k] = v }
        if map["video_id"] == nil, let json = map["data"] ?? map["payload"] ?? map["job"] {
            guard let object = try? JSONDecoder().decode([String: JSONScalar].self, from: Data(json.utf8)) else {
                throw DecodingError(reason: "field data is not a JSON object of strings and numbers")
            }
            map = object.mapValues(\.text)
        }
        guard let id = map["video_id"], let uuid = VideoID.normalize(id) else {
            throw DecodingError(reason: "video_id missing or not a UUID")
        }
        guard let rawKey = map["source_key"] ?? map["s3_path"], let submitted = ObjectKeys.parseSubmittedKey(rawKey) else {
            throw DecodingError(reason: "source_key (or s3_path) missing or not a valid object key")
        }
        var attempt = 1
        if let a = map["attempt"] {
            guard let n = Int(a), n >= 1 else { throw DecodingError(reason: "attempt must be a positive integer") }
            attempt = n
        }
        self.init(videoID: uuid, sourceKey: submitted.key, attempt: attempt, enqueuedAt: map["enqueued_at"],
                  title: map["title"], originalName: map["original_name"], sourceBucket: submitted.bucket)
    }
}

/// A JSON value that is a string or a number, read as text (the seed's messages mix both).
struct JSONScalar: Decodable {
    var text: String
    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) { text = s }
        else if let i = try? c.decode(Int64.self) { text = String(i) }
        else if let d = try? c.decode(Double.self) { text = String(d) }
        else if let b = try? c.decode(Bool.self) { text = String(b) }
        else { text = "" }
    }
}

/// Video ids are UUIDs, always written in lower case.
public enum VideoID {
    public static func generate() -> String { UUID().uuidString.lowercased() }

    /// The canonical lower-case form, or nil when `text` is not a UUID.
    public static func normalize(_ text: String) -> String? {
        UUID(uuidString: text).map { $0.uuidString.lowercased() }
    }
}
