import HTTPServer
import Testing

/// The connection state machine driven by a mock clock: instants are built by adding durations to a
/// fixed origin, so timeouts are tested without sleeping.
@Suite struct HTTPConnectionStateMachineTests {
    typealias Machine = HTTPConnectionStateMachine
    let t0 = ContinuousClock.now
    let timeouts = HTTPTimeouts(header: .seconds(10), idle: .seconds(60), bodyProgress: .seconds(30), writeStall: .seconds(20))

    func at(_ seconds: Double) -> ContinuousClock.Instant { t0 + .milliseconds(Int(seconds * 1000)) }

    func head(_ framing: HTTPBodyFraming = .none, keepAlive: Bool = true, expect: Bool = false) -> HTTPRequestHead {
        HTTPRequestHead(method: .post, target: "/", framing: framing, keepAlive: keepAlive, expectsContinue: expect)
    }

    @Test func keepAliveCycleServesRequestsInTurn() {
        var m = Machine(timeouts: timeouts, now: at(0))
        for i in 0..<3 {
            m.bytesReceived(now: at(Double(i)), headStarted: true)
            m.headReceived(head(), now: at(Double(i)))
            #expect(m.isServing)
            #expect(m.responseStarted(now: at(Double(i)), canDrainBody: false) == true)
            #expect(m.responseEnded(now: at(Double(i) + 0.5)) == .readNextRequest)
        }
        #expect(m.requestsServed == 3)
        #expect(m.deadline == at(2.5) + .seconds(60))
    }

    @Test func connectionCloseRequestClosesAfterResponse() {
        var m = Machine(timeouts: timeouts, now: at(0))
        m.headReceived(head(keepAlive: false), now: at(0))
        #expect(m.responseStarted(now: at(0), canDrainBody: true) == false)
        #expect(m.responseEnded(now: at(0)) == .close(.notKeepAlive))
        #expect(m.isClosed)
    }

    /// After the last response the connection reads on for the client's close, for `linger` at most.
    @Test func aLastResponseLingersForTheClientsCloseThenCloses() {
        var m = Machine(timeouts: timeouts, now: at(0))
        m.headReceived(head(keepAlive: false), now: at(1))
        _ = m.responseStarted(now: at(1), canDrainBody: true)
        #expect(m.responseEnded(now: at(1.5)) == .close(.notKeepAlive))
        #expect(m.deadline == at(1.5) + timeouts.linger)
        #expect(m.deadlinePassed(now: at(1.6)) == .none, "not yet")
        #expect(m.deadlinePassed(now: at(1.5) + timeouts.linger) == .close(.notKeepAlive))
        #expect(m.deadline == nil, "said once")
        #expect(m.deadlinePassed(now: at(100)) == .none)

        // A connection closed any other way has nothing to wait for.
        var gone = Machine(timeouts: timeouts, now: at(0))
        #expect(gone.readClosed(now: at(1)) == .close(.clientClosed))
        #expect(gone.deadline == nil)

        // Shutdown while serving: the response ends the connection, and lingers the same way.
        var busy = Machine(timeouts: timeouts, now: at(0))
        busy.headReceived(head(), now: at(0))
        _ = busy.responseStarted(now: at(0), canDrainBody: true)
        #expect(busy.quiesce(now: at(1)) == .none)
        #expect(busy.responseEnded(now: at(2)) == .close(.quiesced))
        #expect(busy.deadline == at(2) + timeouts.linger)
    }

    /// The reader is woken at a response's end only when the deadline that begins then comes
    /// before its own wait ends: the linger (2 s) does, the idle timeout (60 s) does not.
    @Test func theReaderIsWokenOnlyForADeadlineBeforeItsWaitEnds() {
        var closing = Machine(timeouts: timeouts, now: at(0))
        closing.headReceived(head(keepAlive: false), now: at(1))
        closing.readerWaits(.seconds(5), now: at(1))              // the serving re-check
        _ = closing.responseStarted(now: at(1), canDrainBody: true)
        _ = closing.responseEnded(now: at(1.5))
        #expect(closing.readerMustLookAgain, "linger ends at 3.5, the reader would sleep until 6")

        var keepAlive = Machine(timeouts: timeouts, now: at(0))
        keepAlive.headReceived(head(), now: at(1))
        keepAlive.readerWaits(.seconds(5), now: at(1))
        _ = keepAlive.responseStarted(now: at(1), canDrainBody: true)
        _ = keepAlive.responseEnded(now: at(1.5))
        #expect(!keepAlive.readerMustLookAgain, "the idle deadline comes after the re-check")

        var unlimited = Machine(timeouts: timeouts, now: at(0))
        unlimited.headReceived(head(), now: at(1))
        unlimited.readerWaits(nil, now: at(1))
        _ = unlimited.responseStarted(now: at(1), canDrainBody: true)
        _ = unlimited.responseEnded(now: at(1.5))
        #expect(unlimited.readerMustLookAgain, "a reader waiting without a limit must learn of any deadline")
    }

    @Test func headerTimeoutCountsFromAcceptForTheFirstRequest() {
        var m = Machine(timeouts: timeouts, now: at(0))
        #expect(m.deadline == at(10))
        // slowloris: a byte per second does not move the deadline
        for s in 1...9 {
            m.bytesReceived(now: at(Double(s)), headStarted: true)
            #expect(m.deadlinePassed(now: at(Double(s))) == .none)
        }
        #expect(m.deadline == at(10))
        #expect(m.deadlinePassed(now: at(10)) == .respondAndClose(.requestTimeout, .headerTimeout))
        #expect(m.isClosed)
    }

    @Test func silentConnectionIsClosedByHeaderTimeoutWithoutAResponse() {
        var m = Machine(timeouts: timeouts, now: at(0))
        #expect(m.deadlinePassed(now: at(9.9)) == .none)
        #expect(m.deadlinePassed(now: at(10)) == .close(.headerTimeout))
    }

    @Test func idleKeepAliveTimeoutThenHeaderTimeoutFromFirstByte() {
        var m = Machine(timeouts: timeouts, now: at(0))
        m.headReceived(head(), now: at(1))
        _ = m.responseStarted(now: at(1), canDrainBody: false)
        #expect(m.responseEnded(now: at(2)) == .readNextRequest)
        #expect(m.deadline == at(62))
        // next request starts at 50 s: its head has until 60 s
        m.bytesReceived(now: at(50), headStarted: true)
        #expect(m.deadline == at(60))
        #expect(m.deadlinePassed(now: at(59)) == .none)
        #expect(m.deadlinePassed(now: at(60)) == .respondAndClose(.requestTimeout, .headerTimeout))

        var idle = Machine(timeouts: timeouts, now: at(0))
        idle.headReceived(head(), now: at(0))
        _ = idle.responseStarted(now: at(0), canDrainBody: false)
        _ = idle.responseEnded(now: at(0))
        #expect(idle.deadlinePassed(now: at(60)) == .close(.idleTimeout))
    }

    @Test func bodyProgressTimeoutOnlyWhileTheHandlerWaits() {
        var m = Machine(timeouts: timeouts, now: at(0))
        m.headReceived(head(.contentLength(100)), now: at(0))
        #expect(m.deadline == nil)  // handler busy, not reading: no body deadline
        #expect(m.bodyWanted(now: at(5)) == .none)
        #expect(m.deadline == at(35))
        m.bodyReceived(now: at(20))
        #expect(m.deadline == nil, "bytes handed over: the handler is busy with them, not waiting")
        #expect(m.bodyWanted(now: at(50)) == .none)
        #expect(m.deadline == at(80), "the wait starts again when the handler asks for more")
        #expect(m.deadlinePassed(now: at(79)) == .none)
        #expect(m.deadlinePassed(now: at(80)) == .respondAndClose(.requestTimeout, .bodyTimeout))
    }

    /// The connection re-checks a waiting handler every few seconds and reports the same wait
    /// again each time: that must not move the deadline (a stalled upload was never timed out).
    @Test func repeatedBodyWantedDoesNotPostponeTheBodyTimeout() {
        var m = Machine(timeouts: timeouts, now: at(0))
        m.headReceived(head(.contentLength(2_000_000_000)), now: at(0))
        _ = m.bodyWanted(now: at(1))
        for s in stride(from: 6.0, through: 30, by: 5) {
            #expect(m.bodyWanted(now: at(s)) == .none)
            #expect(m.deadline == at(31), "re-reported at \(s) s")
            #expect(m.deadlinePassed(now: at(s)) == .none)
        }
        #expect(m.deadlinePassed(now: at(31)) == .respondAndClose(.requestTimeout, .bodyTimeout))
        #expect(m.closeReason == .bodyTimeout, "the connection answers the 408 itself, not the handler")
    }

    @Test func bodyTimeoutAfterResponseStartedClosesWithoutResponse() {
        var m = Machine(timeouts: timeouts, now: at(0))
        m.headReceived(head(.chunked), now: at(0))
        _ = m.responseStarted(now: at(0), canDrainBody: false)
        _ = m.bodyWanted(now: at(1))
        #expect(m.deadlinePassed(now: at(31)) == .close(.bodyTimeout))
    }

    @Test func writeStallTimeout() {
        var m = Machine(timeouts: timeouts, now: at(0))
        m.headReceived(head(), now: at(0))
        _ = m.responseStarted(now: at(0), canDrainBody: false)
        m.writeStarted(now: at(1))
        m.writeFinished(now: at(2))
        #expect(m.deadline == nil)
        m.writeStarted(now: at(3))
        #expect(m.deadline == at(23))
        #expect(m.deadlinePassed(now: at(23)) == .close(.writeStalled))
    }

    @Test func expectContinueIsSentOnceWhenTheBodyIsFirstWanted() {
        var m = Machine(timeouts: timeouts, now: at(0))
        m.headReceived(head(.contentLength(10), expect: true), now: at(0))
        #expect(m.bodyWanted(now: at(0)) == .sendContinue)
        m.bodyNotWanted()
        #expect(m.bodyWanted(now: at(1)) == .none)
        m.requestEnded(now: at(1))
        #expect(m.responseStarted(now: at(1), canDrainBody: false) == true)
        #expect(m.responseEnded(now: at(1)) == .readNextRequest)
    }

    @Test func expectContinueRejectedWithoutReadingClosesTheConnection() {
        // The handler answered (e.g. 413) without asking for the body: no 100 was sent, so we cannot
        // know whether the client will send the body; the connection closes.
        var m = Machine(timeouts: timeouts, now: at(0))
        m.headReceived(head(.contentLength(10), expect: true), now: at(0))
        #expect(m.responseStarted(now: at(0), canDrainBody: true) == false)
        #expect(m.bodyWanted(now: at(0)) == .none)  // never a 100 after the response started
        #expect(m.responseEnded(now: at(0)) == .close(.notKeepAlive))
    }

    @Test func unreadBodyKeepsAliveOnlyWhenDrainable() {
        var drainable = Machine(timeouts: timeouts, now: at(0))
        drainable.headReceived(head(.contentLength(10)), now: at(0))
        #expect(drainable.responseStarted(now: at(0), canDrainBody: true) == true)

        var huge = Machine(timeouts: timeouts, now: at(0))
        huge.headReceived(head(.contentLength(1 << 40)), now: at(0))
        #expect(huge.responseStarted(now: at(0), canDrainBody: false) == false)
    }

    @Test func zeroLengthBodyNeedsNoContinue() {
        var m = Machine(timeouts: timeouts, now: at(0))
        m.headReceived(head(.contentLength(0), expect: true), now: at(0))
        #expect(m.bodyWanted(now: at(0)) == .none)
        #expect(m.responseStarted(now: at(0), canDrainBody: false) == true)
    }

    @Test func quiesceClosesIdleConnectionsAndFinishesInFlightOnes() {
        var idle = Machine(timeouts: timeouts, now: at(0))
        #expect(idle.quiesce(now: at(1)) == .close(.quiesced))

        var busy = Machine(timeouts: timeouts, now: at(0))
        busy.headReceived(head(), now: at(0))
        #expect(busy.quiesce(now: at(1)) == .none)
        #expect(busy.isServing)
        #expect(busy.responseStarted(now: at(2), canDrainBody: false) == false)  // Connection: close
        #expect(busy.responseEnded(now: at(2)) == .close(.quiesced))

        // quiesce after the response head went out with keep-alive still closes at the end
        var late = Machine(timeouts: timeouts, now: at(0))
        late.headReceived(head(), now: at(0))
        #expect(late.responseStarted(now: at(0), canDrainBody: false) == true)
        #expect(late.quiesce(now: at(1)) == .none)
        #expect(late.responseEnded(now: at(2)) == .close(.quiesced))
    }

    @Test func requestsArrivingWhileQuiescingAreNotKeptAlive() {
        var m = Machine(timeouts: timeouts, now: at(0))
        m.headReceived(head(), now: at(0))
        _ = m.quiesce(now: at(0))
        #expect(m.responseStarted(now: at(0), canDrainBody: true) == false)
    }

    @Test func clientGoingAwayClosesAndCancels() {
        var m = Machine(timeouts: timeouts, now: at(0))
        m.headReceived(head(.chunked), now: at(0))
        #expect(m.readClosed(now: at(1)) == .close(.clientClosed))
        #expect(m.readClosed(now: at(1)) == .none)
        #expect(m.deadline == nil)
    }

    @Test func parseErrorsAnswerWithTheirStatusUnlessAResponseIsUnderway() {
        var m = Machine(timeouts: timeouts, now: at(0))
        let error = HTTPParseError(.tooManyFields, offset: 3)
        #expect(m.parseFailed(error) == .respondAndClose(.requestHeaderFieldsTooLarge, .badRequest))

        var streaming = Machine(timeouts: timeouts, now: at(0))
        streaming.headReceived(head(.chunked), now: at(0))
        _ = streaming.responseStarted(now: at(0), canDrainBody: false)
        #expect(streaming.parseFailed(HTTPParseError(.invalidChunkSize, offset: 9)) == .close(.badRequest))
    }
}
