import Testing
@testable import VideoService

/// One Ctrl-C reaches vidd from the terminal and again from `scripts/run.sh`'s trap within a
/// millisecond: that is one request to stop. A Ctrl-C pressed again later is a second one.
@Suite struct SignalCoalescingTests {
    let t0 = ContinuousClock.now
    func at(_ ms: Int) -> ContinuousClock.Instant { t0 + .milliseconds(ms) }

    @Test func signalsWithinTheWindowCountOnce() {
        var c = SignalCoalescing(window: .seconds(1))
        // (arrival in ms, counts): the terminal's and the script's copy of one Ctrl-C, then a
        // second press a second later; the window runs from the last signal that counted.
        let arrivals = [(0, true), (0, false), (1, false), (999, false), (1000, true), (1500, false), (2100, true)]
        let counted = arrivals.map { c.counts(at: at($0.0)) }
        #expect(counted == arrivals.map(\.1))
    }
}
