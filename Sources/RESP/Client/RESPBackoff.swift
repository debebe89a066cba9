/// Exponential backoff with full jitter (AWS architecture blog's "full jitter"): the n-th retry waits
/// a uniformly random time in [0, min(maximum, initial × multiplierⁿ)], so many clients that lost the
/// same server do not reconnect in lock step.
public struct RESPBackoff: Sendable, Hashable {
    public var initial: Duration
    public var maximum: Duration
    public var multiplier: Double

    public init(initial: Duration = .milliseconds(50), maximum: Duration = .seconds(5), multiplier: Double = 2) {
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
    }

    /// The ceiling for retry `attempt` (0-based), before jitter.
    public func ceiling(attempt: Int) -> Duration {
        let factor = Swift.min(pow2(attempt), 1e9)
        let nanos = Swift.min(Double(initial.nanoseconds) * factor, Double(maximum.nanoseconds))
        return .nanoseconds(Int64(nanos))
    }

    /// A jittered delay for retry `attempt`, never below 1 ms.
    public func delay(attempt: Int) -> Duration {
        let ceiling = ceiling(attempt: attempt).nanoseconds
        return .nanoseconds(Swift.max(1_000_000, Int64.random(in: 0...Swift.max(1, ceiling))))
    }

    private func pow2(_ n: Int) -> Double {
        var r = 1.0
        for _ in 0..<Swift.min(n, 64) { r *= multiplier }
        return r
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let c = components
        return c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000
    }
}
