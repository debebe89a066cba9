import Testing
@testable import RESP

private func b(_ s: String) -> RESPValue { .bulkString(Array(s.utf8)) }
private func push(_ items: String...) -> RESPValue { .push(items.map(b)) }

/// The connection's reply routing, without sockets: waiters are plain strings.
@Suite struct ReplyStateMachineTests {
    typealias Machine = ReplyStateMachine<String>

    func enqueue(_ m: inout Machine, _ name: String, replies: Int = 1, collects: Bool = false,
                 subscription: Bool = false) throws -> UInt64 {
        let id = try m.enqueue(name: name, replies: replies, collects: collects, isSubscription: subscription,
                               deadline: nil, timeout: nil)
        #expect(m.attach(name, to: id) == nil)
        return id
    }

    @Test func repliesCompleteRequestsInOrder() throws {
        var m = Machine()
        let a = try enqueue(&m, "A")
        let bID = try enqueue(&m, "B")
        guard case .complete(a, "A", .simpleString("OK")) = m.received(.simpleString("OK")) else { Issue.record("A"); return }
        guard case .complete(bID, "B", .integer(1)) = m.received(.integer(1)) else { Issue.record("B"); return }
        guard case .unsolicited = m.received(.integer(2)) else { Issue.record("unsolicited not flagged"); return }
    }

    @Test func pipelineCollectsItsReplies() throws {
        var m = Machine()
        let p = try enqueue(&m, "P", replies: 3, collects: true)
        guard case .partial = m.received(.integer(1)) else { Issue.record("1"); return }
        guard case .partial = m.received(.error(RESPServerError(line: "ERR x"))) else { Issue.record("2"); return }
        guard case .complete(p, "P", let v) = m.received(.integer(3)) else { Issue.record("3"); return }
        #expect(v == .array([.integer(1), .error(RESPServerError(line: "ERR x")), .integer(3)]))
    }

    @Test func pushesNeverCompleteCommands() throws {
        var m = Machine()
        let a = try enqueue(&m, "GET")
        guard case .push(_, nil) = m.received(push("message", "ch", "x")) else { Issue.record("push"); return }
        // Even a confirmation-shaped push does not answer a plain command.
        guard case .push(_, nil) = m.received(push("subscribe", "ch")) else { Issue.record("confirmation"); return }
        guard case .complete(a, "GET", .null) = m.received(.null) else { Issue.record("reply"); return }
    }

    @Test func subscriptionCompletesAfterAllConfirmations() throws {
        var m = Machine()
        let s = try enqueue(&m, "SUBSCRIBE", replies: 2, subscription: true)
        let after = try enqueue(&m, "PING")
        guard case .push(_, nil) = m.received(push("subscribe", "a")) else { Issue.record("first"); return }
        guard case .push(_, let done?) = m.received(push("subscribe", "b")) else { Issue.record("second"); return }
        #expect(done.id == s)
        #expect(done.waiter == "SUBSCRIBE")
        guard case .complete(after, "PING", .simpleString("PONG")) = m.received(.simpleString("PONG")) else { Issue.record("ping"); return }
    }

    @Test func refusedSubscriptionCompletesWithTheError() throws {
        var m = Machine()
        let s = try enqueue(&m, "SUBSCRIBE", replies: 2, subscription: true)
        let noperm = RESPValue.error(RESPServerError(line: "NOPERM no access to channel"))
        guard case .complete(s, _, noperm) = m.received(noperm) else { Issue.record("error"); return }
        #expect(m.queue.isEmpty)
    }

    @Test func resultArrivingBeforeTheWaiterIsParked() throws {
        var m = Machine()
        let id = try m.enqueue(name: "GET", replies: 1, collects: false, isSubscription: false, deadline: nil, timeout: nil)
        guard case .complete(id, nil, b("v")) = m.received(b("v")) else { Issue.record("complete"); return }
        #expect(try m.attach("late", to: id)?.get() == b("v"))
    }

    /// A caller reading its own reply attaches no waiter: its reply comes back in the action (not
    /// parked); a caller that has not started waiting gets its reply parked; waiters are resumed.
    @Test func theReadersOwnReplyIsReturnedOthersAreParkedOrResumed() throws {
        var m = Machine()
        let reader = try m.enqueue(name: "GET", replies: 1, collects: false, isSubscription: false, deadline: nil, timeout: nil)
        let notYet = try m.enqueue(name: "SET", replies: 1, collects: false, isSubscription: false, deadline: nil, timeout: nil)
        let other = try enqueue(&m, "OTHER")
        #expect(m.result(for: reader) == nil)                   // outstanding
        guard case .complete(reader, nil, b("mine")) = m.received(b("mine"), reader: reader) else { Issue.record("own"); return }
        #expect(!m.isPending(reader))
        guard case .complete(notYet, nil, .simpleString("OK")) = m.received(.simpleString("OK"), reader: reader) else {
            Issue.record("parked"); return
        }
        guard case .complete(other, "OTHER", b("theirs")) = m.received(b("theirs"), reader: reader) else { Issue.record("other"); return }
        #expect(try m.result(for: notYet)?.get() == .simpleString("OK"))
        // Nothing was parked for the reader: asking now says "lost", which only a closed connection would.
        #expect(throws: RESPClientError.self) { try m.result(for: reader)?.get() }
        #expect(m.queue.isEmpty)
    }

    /// Handing the reader role on: the oldest request that has a waiter gives it up, and its reply
    /// is then parked for its caller (who reads it) instead of resuming that waiter a second time.
    @Test func detachingTheFirstWaiterSkipsCallersNotWaitingYet() throws {
        var m = Machine()
        let writing = try m.enqueue(name: "W", replies: 1, collects: false, isSubscription: false, deadline: nil, timeout: nil)
        let a = try enqueue(&m, "A")
        _ = try enqueue(&m, "B")
        #expect(m.queue.waiterCount == 2)
        #expect(m.detachFirstWaiter() == "A")
        #expect(m.queue.waiterCount == 1)
        guard case .complete(writing, nil, _) = m.received(.integer(0)) else { Issue.record("W"); return }
        guard case .complete(a, nil, .integer(1)) = m.received(.integer(1)) else { Issue.record("A parked"); return }
        #expect(try m.result(for: a)?.get() == .integer(1))
        #expect(m.detachFirstWaiter() == "B")
        #expect(m.detachFirstWaiter() == nil)
    }

    @Test func closeFailsEveryoneAndRefusesNewRequests() throws {
        var m = Machine()
        let a = try enqueue(&m, "A")
        let parkedID = try m.enqueue(name: "B", replies: 1, collects: false, isSubscription: false, deadline: nil, timeout: nil)
        let resumes = m.close(.connectionClosed(reason: "test"), failing: [a: CancellationError()])
        #expect(resumes?.count == 1)
        #expect(resumes?.first?.0 == "A")
        #expect(resumes?.first?.1 is CancellationError)
        #expect(m.close(.connectionClosed(reason: "again")) == nil)
        #expect(throws: RESPClientError.self) { try m.attach("B", to: parkedID)?.get() }
        // A request after the close is refused as never sent (safe to send elsewhere), naming
        // the command and why the connection closed.
        #expect(refusal(&m, "C")?.contains("test") == true)
    }

    /// Why enqueueing `name` is refused as `notSent` naming it (nil, recorded as an issue: it was not).
    func refusal(_ m: inout Machine, _ name: String) -> String? {
        do {
            _ = try enqueue(&m, name)
            Issue.record("\(name) was enqueued")
        } catch let RESPClientError.notSent(command, reason) {
            #expect(command == name)
            return reason
        } catch {
            Issue.record("wrong error \(error)")
        }
        return nil
    }

    /// RESP3 lets an attribute precede any reply, errors included: the error is still an error,
    /// for a single reply and inside a pipeline's replies alike (the attribute is dropped).
    @Test func anErrorBehindAnAttributeIsAnError() throws {
        var m = Machine()
        let boom = RESPServerError(line: "ERR boom")
        let attributed = RESPValue.attributed(attributes: [RESPPair(b("trace"), .integer(7))], value: .error(boom))
        let a = try enqueue(&m, "A")
        guard case .complete(a, "A", .error(boom)) = m.received(attributed) else { Issue.record("single"); return }
        let p = try enqueue(&m, "P", replies: 2, collects: true)
        guard case .partial = m.received(.integer(1)) else { Issue.record("1"); return }
        guard case .complete(p, "P", let v) = m.received(attributed) else { Issue.record("pipeline"); return }
        #expect(v == .array([.integer(1), .error(boom)]))
        // Other values keep their attributes.
        let kept = RESPValue.attributed(attributes: [RESPPair(b("ttl"), .integer(3))], value: .integer(2))
        let c = try enqueue(&m, "C")
        guard case .complete(c, "C", kept) = m.received(kept) else { Issue.record("kept"); return }
    }

    /// QUIT: the server closes the connection once it has answered, so the machine says to close
    /// as soon as QUIT's reply is in, and refuses (as never sent, so a pool sends it elsewhere)
    /// any request that would queue behind QUIT and be lost in the closing connection.
    @Test func quitsReplySaysCloseAndNothingQueuesBehindIt() throws {
        var m = Machine()
        let before = try enqueue(&m, "GET")
        let quit = try m.enqueue(name: "QUIT", replies: 1, collects: false, isSubscription: false, closesConnection: true,
                                 deadline: nil, timeout: nil)
        #expect(m.attach("QUIT", to: quit) == nil)
        #expect(refusal(&m, "PING")?.contains("QUIT") == true)
        // The reply before QUIT's is an ordinary one.
        guard case .complete(before, "GET", .null) = m.received(.null) else { Issue.record("GET"); return }
        guard case .completeAndClose(quit, "QUIT", .simpleString("OK"), let reason) = m.received(.simpleString("OK")) else {
            Issue.record("QUIT's reply did not say close"); return
        }
        #expect("\(reason)".contains("QUIT"))
        #expect(m.queue.isEmpty)
        // Still refused after QUIT's reply, until (and after) the connection closes.
        #expect(throws: RESPClientError.self) { _ = try enqueue(&m, "PING") }
        #expect(m.close(reason)?.isEmpty == true)
        #expect(throws: RESPClientError.self) { _ = try enqueue(&m, "PING") }
    }

    /// A pipeline holding QUIT closes after its last reply (the server closes after QUIT's, so
    /// replies to commands behind QUIT in the same pipeline never come: the close fails it).
    @Test func aPipelineWithQuitClosesAfterItsReplies() throws {
        var m = Machine()
        let p = try m.enqueue(name: "SET", replies: 2, collects: true, isSubscription: false, closesConnection: true,
                              deadline: nil, timeout: nil)
        guard case .partial = m.received(.simpleString("OK")) else { Issue.record("SET"); return }
        guard case .completeAndClose(p, nil, let v, _) = m.received(.simpleString("OK")) else { Issue.record("QUIT"); return }
        #expect(v == .array([.simpleString("OK"), .simpleString("OK")]))
        #expect(try m.result(for: p)?.get() == v)
    }

    /// QUIT failing (timeout, connection lost) leaves nothing to close after: the close that
    /// failed it already happened; other requests are still answered in order before it.
    @Test func aQuitThatFailsIsClosedWithTheFailure() throws {
        var m = Machine()
        let quit = try m.enqueue(name: "QUIT", replies: 1, collects: false, isSubscription: false, closesConnection: true,
                                 deadline: nil, timeout: nil)
        let resumes = m.close(.connectionClosed(reason: "end of stream"))
        #expect(resumes?.isEmpty == true)
        #expect(throws: RESPClientError.self) { try m.result(for: quit)?.get() }
    }

    @Test func expiredRequestsAndNextDeadline() throws {
        var m = Machine()
        let now = ContinuousClock.now
        let past = try m.enqueue(name: "BLPOP", replies: 1, collects: false, isSubscription: false,
                                 deadline: now - .seconds(1), timeout: .milliseconds(100))
        _ = try m.enqueue(name: "GET", replies: 1, collects: false, isSubscription: false,
                          deadline: now + .seconds(5), timeout: .seconds(5))
        _ = try m.enqueue(name: "SUBSCRIBE", replies: 1, collects: false, isSubscription: true, deadline: nil, timeout: nil)
        let (errors, next) = m.expired(at: now)
        #expect(Array(errors.keys) == [past])
        #expect("\(errors[past]!)".contains("BLPOP timed out"))
        #expect(next == now + .seconds(5))
    }
}
