/// The generic cell rate algorithm, as go-redis/redis_rate and redis-cell use it: a limit of N
/// per period lets a request through every period/N on average, with bursts of up to N. The
/// only state is the "theoretical arrival time" (TAT) of the next request; times are integer
/// microseconds, so Swift and Lua compute exactly the same thing.
///
/// This is the decision as a pure function of stored state and the clock, tested with vectors;
/// `RateLimitScript` is its transliteration into Lua, run by Redis with Redis's own clock.
public enum GCRA {
    public struct Decision: Sendable, Equatable {
        public var allowed: Bool
        /// Requests that could still go through right now.
        public var remaining: Int
        /// Denied: how long until one request would be let through (0 when allowed).
        public var retryAfter: Int64
        /// How long until the whole burst is available again.
        public var resetAfter: Int64
        /// The TAT to store (nil: leave the state as it was, as a denial does).
        public var newTAT: Int64?
    }

    /// `storedTAT` is nil for a new (or expired) key; `now` and every duration in microseconds.
    public static func decide(storedTAT: Int64?, now: Int64, limit: Int, period: Int64) -> Decision {
        let interval = period / Int64(limit)
        let tat = max(storedTAT ?? now, now)
        let newTAT = tat + interval
        let allowAt = newTAT - Int64(limit) * interval
        if now < allowAt {
            return Decision(allowed: false, remaining: 0, retryAfter: allowAt - now, resetAfter: tat - now, newTAT: nil)
        }
        return Decision(allowed: true, remaining: Int((now - allowAt) / interval), retryAfter: 0,
                        resetAfter: newTAT - now, newTAT: newTAT)
    }
}
