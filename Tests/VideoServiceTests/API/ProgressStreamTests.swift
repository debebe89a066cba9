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

    /// An event under stream id `n-0`.
    func entry(_ n: UInt64, _ e: ProgressEvent) -> ProgressStream.Entry { .init(id: eid(n), event: e) }
    func eid(_ n: UInt64) -> ProgressEventID { ProgressEventID(milliseconds: 1_795_933_500_000 + n, sequence: 0) }
    func frame(_ n: UInt64?, _ e: ProgressEvent) -> String { ServerSentEvent.format(id: n.map { eid($0).description }, data: e.jsonString()) }

    @Test func framing() {
        #expect(ServerSentEvent.format(id: "7-0", data: "{\"a\":1}") == "id: 7-0\ndata: {\"a\":1}\n\n")
        #expect(ServerSentEvent.format(id: "1-2", event: "progress", data: "a\nb") == "id: 1-2\nevent: progress\ndata: a\ndata: b\n\n")
        #expect(ServerSentEvent.format(id: nil, event: "reset", data: "x") == "event: reset\ndata: x\n\n", "no id line: the client keeps its id")
        #expect(ServerSentEvent.heartbeat.hasPrefix(":"))
    }

    @Test(arguments: [
        ("1795933500000-0", ProgressEventID(milliseconds: 1_795_933_500_000, sequence: 0)),
        ("0-1", ProgressEventID(milliseconds: 0, sequence: 1)),
        ("18446744073709551615-18446744073709551615", ProgressEventID(milliseconds: .max, sequence: .max)),
    ])
    func eventIDsParse(text: String, id: ProgressEventID) {
        #expect(ProgressEventID(text) == id)
        #expect(id.description == text)
    }

    @Test(arguments: ["", "1", "1-", "-1", "1-2-3", "a-1", "1-b", " 1-2", "1-2 ", "+1-2", "18446744073709551616-0", "1.0-2", "１-2"])
    func malformedEventIDsAreRefused(text: String) {
        #expect(ProgressEventID(text) == nil)
        #expect(ProgressResume(header: text, query: nil) == (text.isEmpty ? .none : .invalid(text)))
    }

    @Test func resumePrefersTheHeaderToTheQuery() {
        #expect(ProgressResume(header: "5-0", query: "6-0") == .after(ProgressEventID(milliseconds: 5, sequence: 0)))
        #expect(ProgressResume(header: nil, query: "6-0") == .after(ProgressEventID(milliseconds: 6, sequence: 0)))
        #expect(ProgressResume(header: nil, query: nil) == .none)
        #expect(ProgressEventID(milliseconds: 5, sequence: 9) < ProgressEventID(milliseconds: 6, sequence: 0))
        #expect(ProgressEventID(milliseconds: 5, sequence: 1) < ProgressEventID(milliseconds: 5, sequence: 2))
    }

    @Test func snapshotFirstThenWhatArrivedMeanwhileWithoutDuplicates() {
        var s = ProgressStream(videoID: Self.id)
        // Published while the snapshot was being read: one older than the snapshot, the snapshot's own, one newer.
        #expect(s.published(entry(1, event(10, at: 1))) == [])
        #expect(s.published(entry(2, event(20, at: 2))) == [])
        #expect(s.published(entry(3, event(30, at: 3))) == [])
        #expect(s.started(.snapshot(entry(2, event(20, at: 2)), reset: nil))
                == [.send(frame(2, event(20, at: 2))), .send(frame(3, event(30, at: 3)))])
        #expect(s.published(entry(4, event(40, at: 4))) == [.send(frame(4, event(40, at: 4)))])
        #expect(s.published(entry(4, event(40, at: 4))) == [], "the same id twice (history re-read): sent once")
        #expect(s.heartbeatDue() == [.send(ServerSentEvent.heartbeat)])
        let done = event(100, at: 5, status: .completed)
        #expect(s.published(entry(5, done)) == [.close(frame(5, done))])
        #expect(s.isClosed && s.published(entry(6, event(50, at: 6))) == [] && s.heartbeatDue() == [])
        #expect(s.lastEventID == eid(5))
    }

    /// A client back with Last-Event-ID k: the history after k, then what the subscription held,
    /// each once, in id order.
    @Test func replayAfterTheLastEventIDThenLiveWithoutGapOrDuplicate() {
        var s = ProgressStream(videoID: Self.id)
        // Held while the history was read: one the history also has, one after it, one before k.
        #expect(s.published(entry(2, event(20, at: 2))) == [])
        #expect(s.published(entry(4, event(40, at: 4))) == [])
        #expect(s.published(entry(5, event(50, at: 5))) == [])
        let actions = s.started(.replay(after: eid(3), [entry(4, event(40, at: 4))]))
        #expect(actions == [.send(frame(4, event(40, at: 4))), .send(frame(5, event(50, at: 5)))])
        #expect(s.published(entry(6, event(60, at: 6))) == [.send(frame(6, event(60, at: 6)))])
    }

    @Test func replayOfNothingWaitsForLiveEvents() {
        var s = ProgressStream(videoID: Self.id)
        #expect(s.started(.replay(after: eid(7), [])) == [])
        #expect(s.published(entry(7, event(70, at: 7))) == [], "k itself is not sent again")
        #expect(s.published(entry(8, event(80, at: 8))) == [.send(frame(8, event(80, at: 8)))])
    }

    @Test func anIDThatCannotBeHonouredSaysSoThenSendsTheSnapshot() {
        var s = ProgressStream(videoID: Self.id)
        let actions = s.started(.snapshot(entry(9, event(90, at: 9)), reset: "gone"))
        #expect(actions == [.send(ProgressStream.resetFrame("gone")), .send(frame(9, event(90, at: 9)))])
        #expect(ProgressStream.resetFrame("gone") == "event: reset\ndata: {\"reason\":\"gone\"}\n\n")
    }

    @Test func alreadyFinishedAtConnectClosesAfterTheSnapshot() {
        var s = ProgressStream(videoID: Self.id)
        let failed = ProgressEvent(videoID: Self.id, status: .failed, error: "not a media file", timestamp: "2026-11-29T06:00:00.000Z")
        #expect(s.started(.snapshot(.init(id: nil, event: failed), reset: nil)) == [.close(frame(nil, failed))])
        #expect(s.isClosed)
    }

    /// A snapshot built from the row has no id: what follows is ordered by timestamp until an
    /// event with an id arrives.
    @Test func aSnapshotWithoutIDOrdersByTimestamp() {
        var s = ProgressStream(videoID: Self.id)
        #expect(s.started(.snapshot(.init(id: nil, event: event(0, at: 5, status: .queued)), reset: nil))
                == [.send(frame(nil, event(0, at: 5, status: .queued)))])
        #expect(s.published(.init(id: nil, event: event(1, at: 4))) == [], "older, without an id: dropped")
        #expect(s.published(entry(10, event(10, at: 6))) == [.send(frame(10, event(10, at: 6)))])
    }

    @Test func otherVideosAreIgnoredAndTheAllStreamNeverCloses() {
        var one = ProgressStream(videoID: Self.id)
        _ = one.started(.snapshot(nil, reset: nil))
        #expect(one.published(entry(1, event(1, at: 1, id: "other"))) == [])
        var all = ProgressStream(videoID: nil)
        #expect(all.started(.snapshot(nil, reset: nil)) == [])
        let a = event(100, at: 1, status: .completed, id: "a")
        let b = event(5, at: 1, id: "b")
        #expect(all.published(entry(1, a)) == [.send(frame(1, a))])
        #expect(all.published(entry(2, b)) == [.send(frame(2, b))])
        #expect(all.published(entry(2, b)) == [])
        #expect(!all.isClosed)
    }
}
