/// `N/s`, `N/min` or `N/h`: at most N requests per period, with bursts of up to N.
public struct RateLimitRule: Sendable, Equatable, CustomStringConvertible {
    public var limit: Int
    public var periodSeconds: Int

    public init(limit: Int, periodSeconds: Int) {
        self.limit = limit
        self.periodSeconds = periodSeconds
    }

    init(parsing text: String) throws(Configuration.ValueError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map { String($0).trimmingBlanks() }
        guard parts.count == 2, let n = Int(parts[0]), n >= 1, n <= 1_000_000 else {
            throw Configuration.ValueError("must be N/s, N/min or N/h with N from 1 to 1000000, e.g. 60/min")
        }
        switch parts[1] {
        case "s", "sec", "second": periodSeconds = 1
        case "m", "min", "minute": periodSeconds = 60
        case "h", "hour": periodSeconds = 3600
        default: throw Configuration.ValueError("the period must be s, min or h (e.g. 60/min)")
        }
        limit = n
    }

    public var description: String {
        "\(limit)/" + (periodSeconds == 1 ? "s" : periodSeconds == 60 ? "min" : "h")
    }
}
