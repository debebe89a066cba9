/// How many progress events Redis keeps for SSE clients that reconnect with `Last-Event-ID`
/// (`VIDD_PROGRESS_HISTORY` per video, `VIDD_PROGRESS_FEED_HISTORY` for `GET /progress`). A
/// client away for longer than that gets the snapshot instead (see `ProgressStream`).
public struct ProgressHistoryLimits: Sendable, Equatable {
    public var perVideo = 1000
    public var feed = 10_000
    public init(perVideo: Int = 1000, feed: Int = 10_000) {
        self.perVideo = perVideo
        self.feed = feed
    }
}

/// `VIDD_SIGNING_KEYS` (the first signs, every one verifies: rotate by putting a new key first
/// and removing the old one once the links it signed have expired) and `VIDD_SIGNED_URL_TTL_SECONDS`.
public struct MediaSigningSettings: Sendable, Equatable {
    public static let minimumKeyLength = 32
    public var keys: [String] = []
    public var urlLifetime = Duration.seconds(3600)
    public init() {}
}

/// `VIDD_WEBHOOK_CONCURRENCY`, `VIDD_WEBHOOK_TIMEOUT_SECONDS`.
public struct WebhookSettings: Sendable, Equatable {
    public var concurrency = 8
    public var attemptTimeout = Duration.seconds(10)
    public init() {}
}
