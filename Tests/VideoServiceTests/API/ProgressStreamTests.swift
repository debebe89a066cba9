import Testing
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

@Suite struct ProgressStreamTests {
    static let id = "0f8e3c9a-1111-4222-8333-444455556666"

    func event(_ percent: Double, at second: Int, status: VideoStatus = .processing, id: String = id) -> ProgressEvent {
        ProgressEvent(videoID: id, status: status, stage: .transcoding, percent: percent,
                      timestamp: Timestamp.rfc3339(milliseconds: 1_795_933_500_000 + Int64(second) * 1000))
    }

    func frame(_ seq: Int, _ e: ProgressEvent) -> String { ServerSentEvent.format(id: String(seq), data: e.jsonString()) }

    @Test func framing() {
        #expect(ServerSentEvent.format(id: "7", data: "{\"a\":1}") == "id: 7\ndata: {\"a\":1}\n\n")
        #expect(ServerSentEvent.format(id: "1", event: "progress", data: "a\nb") == "id: 1\nevent: progress\ndata: a\ndata: b\n\n")
        #expect(ServerSentEvent.heartbeat.hasPrefix(":"))
    }

    @Test func snapshotFirstThenWhatArrivedMeanwhileWithoutDuplicates() {
        var s = ProgressStream(videoID: Self.id)
        // Published while the snapshot was being read: one older than the snapshot, one equal, one newer.
        #expect(s.published(event(10, at: 1)) == [])
        #expect(s.published(event(20, at: 2)) == [])
        #expect(s.published(event(30, at: 3)) == [])
        let snapshot = event(20, at: 2)
        #expect(s.snapshotLoaded(snapshot) == [.send(frame(1, snapshot)), .send(frame(2, event(30, at: 3)))])
        #expect(s.published(event(40, at: 4)) == [.send(frame(3, event(40, at: 4)))])
        #expect(s.heartbeatDue() == [.send(ServerSentEvent.heartbeat)])
        let done = event(100, at: 5, status: .completed)
        #expect(s.published(done) == [.close(frame(4, done))])
        #expect(s.isClosed && s.published(event(50, at: 6)) == [] && s.heartbeatDue() == [])
    }

    @Test func alreadyFinishedAtConnectClosesAfterTheSnapshot() {
        var s = ProgressStream(videoID: Self.id)
        let failed = ProgressEvent(videoID: Self.id, status: .failed, error: "not a media file", timestamp: "2026-11-29T06:00:00.000Z")
        #expect(s.snapshotLoaded(failed) == [.close(frame(1, failed))])
        #expect(s.isClosed)
    }

    @Test func noSnapshotYet() {
        var s = ProgressStream(videoID: Self.id)
        #expect(s.snapshotLoaded(nil) == [])
        #expect(s.published(event(1, at: 1)) == [.send(frame(1, event(1, at: 1)))])
    }

    @Test func otherVideosAreIgnoredAndTheAllStreamNeverCloses() {
        var one = ProgressStream(videoID: Self.id)
        _ = one.snapshotLoaded(nil)
        #expect(one.published(event(1, at: 1, id: "other")) == [])
        var all = ProgressStream(videoID: nil)
        _ = all.snapshotLoaded(nil)
        let a = event(100, at: 1, status: .completed, id: "a")
        let b = event(5, at: 1, id: "b")
        #expect(all.published(a) == [.send(frame(1, a))])
        #expect(all.published(b) == [.send(frame(2, b))], "per-video ordering: b's first event is not older than a's")
        #expect(!all.isClosed)
    }
}
