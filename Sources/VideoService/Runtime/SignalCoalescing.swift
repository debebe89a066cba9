/// Signals that arrive close together count as one. A Ctrl-C in a terminal reaches every process
/// of the foreground job at once — vidd and the script that started it (`scripts/run.sh`), which
/// forwards what it receives — so one key press arrives twice within a millisecond; counted twice,
/// it cut the shutdown grace short and cancelled the running job. A second signal meant as one
/// (Ctrl-C pressed again to stop now) comes well after `window`.
struct SignalCoalescing: Sendable {
    typealias Instant = ContinuousClock.Instant

    let window: Duration
    private var lastCounted: Instant?

    init(window: Duration = .seconds(1)) { self.window = window }

    /// Whether a signal arriving `now` counts (false: it repeats the one counted just before).
    mutating func counts(at now: Instant) -> Bool {
        if let last = lastCounted, now - last < window { return false }
        lastCounted = now
        return true
    }
}
