import Reactor

/// Signed media URLs for private videos: `/media/{id}/{path}?exp=<unix seconds>&sig=<hex>`,
/// where `sig` is HMAC-SHA256 over the video's media path (`/media/{id}/`) and the expiry.
///
/// One signature covers every file of one video until it expires — the master playlist, the
/// media playlists, every segment, the MP4s — so a playlist served for it can hand the same
/// query to each URL it lists, and an MPD's `SegmentTemplate` (whose segment names are made by
/// the player) works too. Changing the video id, the expiry or one character of `sig` makes it
/// invalid. Keys come from `VIDD_SIGNING_KEYS`: the first signs, every one verifies, so a new key
/// put first keeps links signed with the old one working while the old one stays listed (the
/// grace period: at least `VIDD_SIGNED_URL_TTL_SECONDS`).
public struct MediaSigner: Sendable, Equatable {
    public let keys: [[UInt8]]
    public let lifetime: Duration

    /// nil without keys (no video can be private then).
    public init?(_ settings: MediaSigningSettings) {
        guard !settings.keys.isEmpty else { return nil }
        self.init(keys: settings.keys.map { Array($0.utf8) }, lifetime: settings.urlLifetime)
    }

    public init(keys: [[UInt8]], lifetime: Duration) {
        precondition(!keys.isEmpty, "a signer needs a key")
        self.keys = keys
        self.lifetime = lifetime
    }

    public enum Verdict: Sendable, Equatable {
        case valid
        /// No `exp`/`sig` in the query.
        case unsigned
        /// Well formed and signed by a known key, but past its expiry.
        case expired
        /// Not a signature any key made for this video and expiry.
        case invalid
    }

    /// The path a signature covers.
    public static func scope(videoID: String) -> String { "/media/\(videoID)/" }

    /// Expiry for a URL handed out now.
    public func expiry(now: Int64 = Timestamp.nowMilliseconds() / 1000) -> Int64 {
        now + lifetime.components.seconds
    }

    public func signature(videoID: String, expires: Int64, key: Int = 0) -> String {
        Hex.encode(Crypto.hmacSHA256(key: keys[key], data: Array("\(Self.scope(videoID: videoID))\n\(expires)".utf8)))
    }

    /// `exp=…&sig=…`, to append to any `/media/{id}/…` URL of the video.
    public func query(videoID: String, expires: Int64) -> String {
        "exp=\(expires)&sig=\(signature(videoID: videoID, expires: expires))"
    }

    /// Checks a request's `exp` and `sig` (already taken from its query) at time `now`.
    public func verify(videoID: String, expires: String?, signature: String?, now: Int64 = Timestamp.nowMilliseconds() / 1000) -> Verdict {
        guard let expires, let signature else { return expires == nil && signature == nil ? .unsigned : .invalid }
        guard expires.count <= 12, expires.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let exp = Int64(expires),
              let given = Hex.decode(signature), given.count == 32 else { return .invalid }
        let message = Array("\(Self.scope(videoID: videoID))\n\(exp)".utf8)
        // Every key is tried (no early exit on a match), so the time taken does not tell which key matched.
        var matched = false
        for key in keys where Crypto.constantTimeEqual(Crypto.hmacSHA256(key: key, data: message), given) { matched = true }
        guard matched else { return .invalid }
        return exp >= now ? .valid : .expired
    }
}
