import VideoCore

/// The response fields of draft-ietf-httpapi-ratelimit-headers (-10): `RateLimit-Policy` (a
/// Structured Field List of String items with `q`, the quota, and `w`, the window in seconds)
/// and `RateLimit` (`r`, remaining, and `t`, seconds until more quota is available), plus
/// `Retry-After` on a 429. Times are rounded up to whole seconds: a client that waits that long
/// is let through.
struct RateLimitFields: Sendable, Equatable {
    var policy: String
    var limit: String
    var retryAfter: String?

    init(name: String, rule: RateLimitRule, decision: GCRA.Decision) {
        policy = "\"\(name)\";q=\(rule.limit);w=\(rule.periodSeconds)"
        let reset = decision.allowed ? decision.resetAfter : decision.retryAfter
        limit = "\"\(name)\";r=\(decision.remaining);t=\(Self.seconds(reset))"
        retryAfter = decision.allowed ? nil : String(max(1, Self.seconds(decision.retryAfter)))
    }

    /// Microseconds rounded up to whole seconds.
    static func seconds(_ micros: Int64) -> Int64 { (max(0, micros) + 999_999) / 1_000_000 }

    var pairs: [(String, String)] {
        [("RateLimit-Policy", policy), ("RateLimit", limit)] + (retryAfter.map { [("Retry-After", $0)] } ?? [])
    }
}
