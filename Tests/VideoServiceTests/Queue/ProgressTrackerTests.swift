import Testing
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

@Suite struct ProgressTrackerTests {
    func tracker() -> ProgressTracker { ProgressTracker(videoID: "v", interval: .milliseconds(500), clock: { "T" }) }
    func ms(_ n: Int) -> Duration { .milliseconds(n) }

    @Test func aJobFromStartToCompletion() throws {
        var t = tracker()
        let first = t.started(now: ms(0))
        #expect(first.status == .processing && first.stage == .probing && first.percent == 0 && first.processedFrames == nil)
        let plan = t.planned(heights: [360, 1080, 720], totalFrames: 1000, sourceFrameRate: 25, now: ms(100))
        #expect(plan.stage == .transcoding && plan.renditions.map(\.height) == [1080, 720, 360])
        #expect(plan.renditions.allSatisfy { $0.state == .transcoding })

        let e = t.framesProcessed(250, now: ms(1100))
        let event = try #require(e)
        #expect(event.processedFrames == 250 && event.totalFrames == 1000)
        #expect(event.fps == 250 && event.speed == 10 && event.etaSeconds == 3)
        #expect(event.percent == 23.75, "25 % of the transcoding share (95 %)")
        #expect(event.renditions.allSatisfy { $0.percent == 25 })

        #expect(t.framesProcessed(300, now: ms(1200)) == nil, "rate-limited")
        #expect(t.framesProcessed(400, now: ms(1600)) != nil, "due again after the interval")
        #expect(t.framesProcessed(100, now: ms(2200))?.processedFrames == 400, "never goes backwards")

        let up = t.rendition(height: 1080, .uploading, now: ms(2300))
        #expect(up.renditions.first == .init(height: 1080, state: .uploading, percent: 100), "state changes are never rate-limited")
        #expect(t.stage(.uploading, now: ms(2400)).percent == 95)
        #expect(t.stage(.finalizing, now: ms(2500)).percent == 99)
        let done = t.completed(now: ms(2600))
        #expect(done.status == .completed && done.percent == 100 && done.etaSeconds == 0)
        #expect(done.renditions.allSatisfy { $0.state == .done && $0.percent == 100 })
    }

    @Test func failureKeepsThePercentReached() {
        var t = tracker()
        _ = t.started(now: ms(0))
        _ = t.planned(heights: [360], totalFrames: 100, sourceFrameRate: nil, now: ms(0))
        _ = t.framesProcessed(50, now: ms(1000))
        let failed = t.failed("decoder error: invalid data", now: ms(1100))
        #expect(failed.status == .failed && failed.error == "decoder error: invalid data" && failed.percent == 47.5)
        #expect(failed.speed == nil, "unknown without the source frame rate")
    }

    @Test func unknownFrameCount() {
        var t = tracker()
        _ = t.planned(heights: [360], totalFrames: nil, sourceFrameRate: 30, now: ms(0))
        let e = t.framesProcessed(30, now: ms(1000))
        #expect(e?.percent == 0 && e?.etaSeconds == nil && e?.fps == 30)
    }

    /// The `playable` stage event: due at once, then the work's own stage again with `playable` true.
    @Test func playableIsOneStageEventThenAFlag() throws {
        var t = tracker()
        _ = t.started(now: ms(0))
        #expect(t.planned(heights: [720, 360], totalFrames: 1000, sourceFrameRate: 25, now: ms(0)).playable == false)
        _ = t.framesProcessed(200, now: ms(1000))
        let event = t.playable(at: "2026-11-29T06:00:09.000Z", now: ms(1001))
        #expect(event.stage == .playable && event.playable && event.playableAt == "2026-11-29T06:00:09.000Z")
        #expect(event.status == .processing && event.percent == 19, "percent as in transcoding")
        let due = t.framesProcessed(400, now: ms(2000))
        let next = try #require(due)
        #expect(next.stage == .transcoding && next.playable && next.playableAt == "2026-11-29T06:00:09.000Z")
        #expect(t.completed(now: ms(3000)).playable)
        // A failure after playable: the video is not playable any more; the moment stays.
        let failed = t.failed("storage went away", now: ms(3100))
        #expect(!failed.playable && failed.playableAt == "2026-11-29T06:00:09.000Z")
    }

    /// A short video is playable only once its playlists are complete, which may be after
    /// `finalizing` went out: its `playable` event keeps the percent reached.
    @Test func aLatePlayableEventNeverTakesThePercentBack() {
        var t = tracker()
        _ = t.started(now: ms(0))
        _ = t.planned(heights: [360], totalFrames: 100, sourceFrameRate: 25, now: ms(0))
        _ = t.framesProcessed(100, now: ms(1000))
        #expect(t.stage(.uploading, now: ms(1100)).percent == 95)
        #expect(t.stage(.finalizing, now: ms(1200)).percent == 99)
        let late = t.playable(at: "2026-11-29T06:00:09.000Z", now: ms(1300))
        #expect(late.stage == .playable && late.percent == 99)
        #expect(t.completed(now: ms(1400)).percent == 100)
    }

    @Test func aRedeliveredJobOfAPlayableVideoSaysSoFromItsFirstEvent() {
        var t = tracker()
        t.resumePlayable(at: "2026-11-29T06:00:09.000Z")
        let first = t.started(now: ms(0))
        #expect(first.playable && first.stage == .probing)
        var fresh = tracker()
        #expect(!fresh.started(now: ms(0)).playable)
        #expect(fresh.completed(now: ms(1)).playable, "completed is playable even when the early master was never recorded")
    }

    /// Events of one job never share a timestamp: an SSE stream drops an event that is not newer
    /// than the last it sent, and the `playable` event may come in the same millisecond as another.
    @Test func timestampsOfAJobOnlyGrow() {
        var t = ProgressTracker(videoID: "v", interval: .milliseconds(500), clock: { "2026-11-29T23:59:59.999Z" })
        let a = t.started(now: ms(0))
        let b = t.playable(at: "x", now: ms(0))
        let c = t.completed(now: ms(0))
        #expect([a, b, c].map(\.timestamp) == ["2026-11-29T23:59:59.999Z", "2026-11-30T00:00:00.000Z", "2026-11-30T00:00:00.001Z"])
    }

    @Test(arguments: ["", "T", "2026-11-29T06:25:44.123", "2026-13-29T06:25:44.123Z", "2026-11-29 06:25:44.123Z", "2026-11-29T06:25:4x.123Z"])
    func timestampsThatAreNotOursDoNotParse(_ text: String) {
        #expect(Timestamp.milliseconds(rfc3339: text) == nil)
    }
}

@Suite struct FetchingProgressTests {
    @Test func fetchingReportsBytesThenHandsOverToProbing() {
        var t = ProgressTracker(videoID: "v", interval: .seconds(1), clock: { "t" })
        let start = t.fetching(bytes: 0, total: 1000, now: .zero)
        #expect(start?.stage == .fetching && start?.bytesFetched == 0 && start?.bytesTotal == 1000 && start?.percent == 0)
        // The first bytes are always reported; more within the interval are not.
        #expect(t.fetching(bytes: 100, total: 1000, now: .milliseconds(10))?.bytesFetched == 100)
        #expect(t.fetching(bytes: 200, total: 1000, now: .milliseconds(20)) == nil)
        #expect(t.fetching(bytes: 900, total: 1000, now: .milliseconds(1020))?.bytesFetched == 900)
        let probing = t.stage(.probing, now: .milliseconds(1100))
        #expect(probing.stage == .probing && probing.bytesFetched == nil && probing.bytesTotal == nil)
        let unknown = ProgressTracker(videoID: "v").event(fetchingBytes: 5)
        #expect(unknown.bytesTotal == nil && unknown.bytesFetched == 5)
    }
}

extension ProgressTracker {
    fileprivate func event(fetchingBytes bytes: Int64) -> ProgressEvent {
        var copy = self
        return copy.fetching(bytes: bytes, total: nil, now: .zero)!
    }
}
