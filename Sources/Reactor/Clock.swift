#if canImport(Glibc)
import Glibc
#endif

/// Monotonic time in nanoseconds, the unit of every deadline in the loop.
@inline(__always)
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

extension Duration {
    /// Whole nanoseconds, saturating at zero for negative durations and at UInt64.max.
    var nanoseconds: UInt64 {
        let (s, atto) = components
        if s < 0 { return 0 }
        let (mul, overflow) = UInt64(s).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        let (sum, o2) = mul.addingReportingOverflow(UInt64(atto / 1_000_000_000))
        return o2 ? .max : sum
    }
}

/// Deadline after `duration` from now (saturating).
@inline(__always)
func deadline(after duration: Duration) -> UInt64 {
    let (d, o) = monotonicNanos().addingReportingOverflow(duration.nanoseconds)
    return o ? .max : d
}
