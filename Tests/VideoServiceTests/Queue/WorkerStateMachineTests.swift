import Testing
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

@Suite struct WorkerStateMachineTests {
    typealias A = WorkerStateMachine.Action
    static let policy = LeasePolicy(lease: .seconds(60), maxAttempts: 3, shutdownGrace: .seconds(30))

    func d(_ n: Int, count: Int = 1) -> Delivery { Delivery(entryID: "1-\(n)", videoID: "v\(n)", deliveryCount: count) }
    func t(_ s: Int) -> Duration { .seconds(s) }

    @Test func policyTiming() {
        #expect(Self.policy.heartbeatInterval == .seconds(20))
        #expect(Self.policy.claimInterval == .seconds(30))
        #expect(Self.policy.readBlock == .seconds(5))
        #expect(LeasePolicy(lease: .seconds(6)).readBlock == .seconds(2))
        let c = try! Configuration.load(from: ["VIDD_LEASE_SECONDS": "90", "VIDD_MAX_ATTEMPTS": "4", "VIDD_SHUTDOWN_GRACE_SECONDS": "5"])
        #expect(LeasePolicy(c) == LeasePolicy(lease: .seconds(90), maxAttempts: 4, shutdownGrace: .seconds(5)))
    }

    @Test func startsByReclaimingThenReads() {
        var m = WorkerStateMachine(policy: Self.policy, capacity: 2)
        #expect(m.tick(now: t(0)) == [.sweep(consumerIdle: .seconds(120)), .autoclaim(minIdle: .seconds(60), count: 2)])
        #expect(m.tick(now: t(1)) == [], "one request at a time")
        #expect(m.received([], from: .autoclaim, now: t(1)) == [.read(count: 2, block: .seconds(5))])
        #expect(m.tick(now: t(2)) == [], "the read is still blocking")
        #expect(m.received([d(1)], from: .read, now: t(3)) == [.start(d(1)), .read(count: 1, block: .seconds(5))])
        #expect(m.received([d(2)], from: .read, now: t(4)) == [.start(d(2))], "full: no read")
        #expect(m.tick(now: t(10)) == [])
        #expect(m.activeEntryIDs == ["1-1", "1-2"])
    }

    @Test func heartbeatsKeepTheLeaseAndClaimsRunPeriodically() {
        var m = WorkerStateMachine(policy: Self.policy, capacity: 2)
        _ = m.tick(now: t(0))
        _ = m.received([], from: .autoclaim, now: t(0))
        _ = m.received([d(1)], from: .read, now: t(0))
        #expect(m.nextDeadline(now: t(0)) == t(20))
        #expect(m.tick(now: t(19)) == [])
        #expect(m.tick(now: t(20)) == [.heartbeat(entryIDs: ["1-1"])])
        // The read from t(0) is still outstanding, so the claim at t(30) goes first.
        _ = m.received([], from: .read, now: t(25))
        #expect(m.tick(now: t(30)) == [.autoclaim(minIdle: .seconds(60), count: 1)])
        #expect(m.tick(now: t(40)) == [.heartbeat(entryIDs: ["1-1"])])
        // Over a long job the heartbeat is always well inside the lease: never stolen.
        var last = t(40)
        for s in stride(from: 41, through: 600, by: 1) {
            let actions = m.tick(now: t(s))
            if actions.contains(where: { if case .heartbeat = $0 { true } else { false } }) {
                #expect(t(s) - last < Self.policy.lease)
                last = t(s)
            }
            if actions.contains(where: { if case .autoclaim = $0 { true } else { false } }) { _ = m.received([], from: .autoclaim, now: t(s)) }
            if actions.contains(where: { if case .read = $0 { true } else { false } }) { _ = m.received([], from: .read, now: t(s)) }
        }
        #expect(t(600) - last <= Self.policy.heartbeatInterval)
    }

    @Test func outcomes() {
        var m = WorkerStateMachine(policy: Self.policy, capacity: 5)
        _ = m.tick(now: t(0))
        _ = m.received([d(1), d(2), d(3, count: 2), d(4, count: 3), d(5)], from: .autoclaim, now: t(0))
        #expect(m.finished(entryID: "1-1", .completed, now: t(1)).first == .acknowledge(entryID: "1-1"))
        #expect(m.finished(entryID: "1-2", .failed(.badMedia(.notMedia, "not a media file")), now: t(1)).first == .failPermanently(d(2), code: .notMedia, message: "not a media file"))
        #expect(m.finished(entryID: "1-3", .failed(.transient("storage timed out")), now: t(1)).first
                == .leaveUnacknowledged(entryID: "1-3", reason: "attempt 2 failed, retried after the lease: storage timed out"))
        #expect(m.finished(entryID: "1-4", .failed(.transient("db down")), now: t(1)).first
                == .deadLetter(d(4, count: 3), reason: "attempt 3 of 3 failed: db down"))
        #expect(m.finished(entryID: "1-5", .alreadyFinished, now: t(1)).first == .acknowledge(entryID: "1-5"))
        #expect(m.finished(entryID: "1-5", .completed, now: t(1)) == [], "unknown entry: nothing")
        #expect(m.activeEntryIDs.isEmpty)
    }

    @Test func poisonJobIsDeadLetteredOnDelivery() {
        var m = WorkerStateMachine(policy: Self.policy, capacity: 1)
        _ = m.tick(now: t(0))
        let actions = m.received([d(9, count: 4), d(1)], from: .autoclaim, now: t(0))
        #expect(actions.prefix(2) == [.deadLetter(d(9, count: 4), reason: "gave up after 3 attempts (delivered 4 times)"), .start(d(1))])
        #expect(m.activeEntryIDs == ["1-1"], "the poison job took no slot; others keep flowing")
    }

    @Test(arguments: 1...5)
    func attemptsCountUpToTheLimit(maxAttempts: Int) {
        let policy = LeasePolicy(lease: .seconds(60), maxAttempts: maxAttempts)
        for count in 1...(maxAttempts + 2) {
            var m = WorkerStateMachine(policy: policy, capacity: 1)
            _ = m.tick(now: t(0))
            let first = m.received([d(1, count: count)], from: .autoclaim, now: t(0)).first
            if count <= maxAttempts {
                #expect(first == .start(d(1, count: count)))
                let end = m.finished(entryID: "1-1", .failed(.transient("x")), now: t(1)).first
                if count == maxAttempts {
                    #expect(end == .deadLetter(d(1, count: count), reason: "attempt \(count) of \(maxAttempts) failed: x"))
                } else {
                    #expect(end == .leaveUnacknowledged(entryID: "1-1", reason: "attempt \(count) failed, retried after the lease: x"))
                }
            } else {
                if case .deadLetter = first {} else { Issue.record("delivery \(count) of max \(maxAttempts): \(String(describing: first))") }
            }
        }
    }

    @Test func ownEntriesReturnedByAutoclaimAreNotStartedTwice() {
        var m = WorkerStateMachine(policy: Self.policy, capacity: 2)
        _ = m.tick(now: t(0))
        _ = m.received([d(1)], from: .autoclaim, now: t(0))
        let again = m.received([d(1, count: 2)], from: .read, now: t(1))
        #expect(!again.contains(.start(d(1, count: 2))))
    }

    @Test func sigtermLetsTheJobFinishWithinGrace() {
        var m = WorkerStateMachine(policy: Self.policy, capacity: 1)
        _ = m.tick(now: t(0))
        _ = m.received([d(1)], from: .autoclaim, now: t(0))
        #expect(m.terminationRequested(now: t(10)) == [.notifyStopping])
        #expect(m.phase == .draining(deadline: t(40)))
        #expect(m.tick(now: t(30)) == [.heartbeat(entryIDs: ["1-1"])], "keeps the lease while finishing, takes nothing new")
        #expect(m.received([d(2)], from: .read, now: t(31)).first == .release(entryID: "1-2", reason: "shutting down"),
                "handed back at once, not left for the lease")
        #expect(m.finished(entryID: "1-1", .completed, now: t(35)) == [.acknowledge(entryID: "1-1"), .exit])
        #expect(m.phase == .stopped)
        #expect(m.tick(now: t(36)) == [] && m.nextDeadline(now: t(36)) == nil)
    }

    @Test func sigtermPastGraceCancelsAndLeavesTheJobForAnotherWorker() {
        var m = WorkerStateMachine(policy: Self.policy, capacity: 2)
        _ = m.tick(now: t(0))
        _ = m.received([d(1), d(2)], from: .autoclaim, now: t(0))
        _ = m.terminationRequested(now: t(0))
        #expect(m.nextDeadline(now: t(0)) == t(20), "heartbeat comes before the deadline")
        #expect(m.tick(now: t(30)) == [.cancelJobs(entryIDs: ["1-1", "1-2"]), .exit])
        #expect(m.finished(entryID: "1-1", .cancelled, now: t(31)) == [], "never acknowledged")
    }

    @Test func sweepsAtStartThenEveryLeaseWhileRunning() {
        var m = WorkerStateMachine(policy: Self.policy, capacity: 1)
        func sweeps(_ actions: [A]) -> Int { actions.filter { if case .sweep = $0 { true } else { false } }.count }
        #expect(sweeps(m.tick(now: t(0))) == 1)
        _ = m.received([], from: .autoclaim, now: t(0))
        #expect(m.nextDeadline(now: t(1)) == t(30), "the claim comes first")
        #expect(sweeps(m.tick(now: t(59))) == 0)
        #expect(sweeps(m.tick(now: t(60))) == 1)
        #expect(sweeps(m.tick(now: t(61))) == 0)
        _ = m.received([d(1)], from: .read, now: t(61))
        _ = m.terminationRequested(now: t(62))
        #expect(sweeps(m.tick(now: t(125))) == 0, "not while stopping")
    }

    @Test func aCancelledJobIsHandedBack() {
        var m = WorkerStateMachine(policy: Self.policy, capacity: 1)
        _ = m.tick(now: t(0))
        _ = m.received([d(1)], from: .autoclaim, now: t(0))
        #expect(m.finished(entryID: "1-1", .cancelled, now: t(5)).first == .release(entryID: "1-1", reason: "cancelled"))
    }

    @Test func secondSigtermStopsAtOnce() {
        var m = WorkerStateMachine(policy: Self.policy, capacity: 1)
        _ = m.tick(now: t(0))
        _ = m.received([d(1)], from: .autoclaim, now: t(0))
        _ = m.terminationRequested(now: t(1))
        #expect(m.terminationRequested(now: t(2)) == [.cancelJobs(entryIDs: ["1-1"]), .exit])
    }

    @Test func idleSigtermExitsImmediately() {
        var m = WorkerStateMachine(policy: Self.policy, capacity: 1)
        #expect(m.terminationRequested(now: t(0)) == [.notifyStopping, .exit])
    }

    @Test func aFailedRequestIsRetriedOnTheNextTick() {
        var m = WorkerStateMachine(policy: Self.policy, capacity: 1)
        _ = m.tick(now: t(0))
        m.requestFailed(.autoclaim)
        #expect(m.tick(now: t(1)) == [.read(count: 1, block: .seconds(5))])
        m.requestFailed(.read)
        #expect(m.tick(now: t(2)) == [.read(count: 1, block: .seconds(5))])
    }
}
