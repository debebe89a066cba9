import Testing
@testable import VideoCore

/// The one Duration → milliseconds / seconds conversion every Redis argument, SQL interval, SSE
/// `retry:` and log field uses.
@Suite struct DurationUnitsTests {
    @Test(arguments: [
        (Duration.milliseconds(1500), Int64(1500), 1.5),
        (.seconds(20), 20_000, 20),
        (.microseconds(2_999), 2, 0.002999),
        (.zero, 0, 0),
    ])
    func subSecondPartsAreKept(duration: Duration, milliseconds: Int64, seconds: Double) {
        #expect(duration.wholeMilliseconds == milliseconds)
        #expect(abs(duration.fractionalSeconds - seconds) < 1e-12)
    }
}
