import Foundation
import Testing
@testable import Reactor

/// More than one loop: made once per process, `shared` first, each an executor of its own thread.
@Suite struct EventLoopsTests {
    /// The calling thread's name (the loops name theirs `reactor`, `reactor-1`, …).
    static func threadName() -> String {
        ((try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func loopsAreMadeOnceWithSharedFirst() {
        #expect(EventLoop.loops(1).count == 1)
        #expect(EventLoop.loops(1)[0] === EventLoop.shared)
        #expect(EventLoop.loops(0)[0] === EventLoop.shared, "fewer than one is one")
        let three = EventLoop.loops(3)
        #expect(three.map(\.index) == [0, 1, 2])
        #expect(three[0] === EventLoop.shared)
        let two = EventLoop.loops(2)
        #expect(two[1] === three[1], "asking again returns the same loops, no new thread")
        #expect(EventLoop.loops(3)[2] === three[2])
    }

    @Test func aTaskPreferringAnotherLoopRunsOnItsThread() async {
        let loop = EventLoop.loops(2)[1]
        let (name, inLoop, inShared) = await Task(executorPreference: loop) {
            (Self.threadName(), loop.inLoopThread, EventLoop.shared.inLoopThread)
        }.value
        #expect(name == "reactor-1")
        #expect(inLoop && !inShared)
    }

    /// An actor whose executor is a loop other than `shared` runs there (the serial executor knows
    /// which loop it belongs to).
    @Test func anActorOnAnotherLoopRunsOnItsThread() async {
        let loop = EventLoop.loops(2)[1]
        let actor = LoopBoundActor(loop: loop)
        let (name, inLoop) = await actor.where_()
        #expect(name == "reactor-1")
        #expect(inLoop)
        let onShared = LoopBoundActor(loop: .shared)
        #expect(await onShared.where_().0 == "reactor")
    }

    /// A connection accepted for another loop waits and resumes there: its reads never hop.
    @Test func aConnectionAcceptedOnAnotherLoopIsServedThere() async throws {
        let loop = EventLoop.loops(2)[1]
        let listener = try await Listener.bind(host: "127.0.0.1", port: 0)
        defer { listener.close() }
        let client = try await Connection.connect(host: "127.0.0.1", port: listener.port)
        defer { client.close() }
        let server = try await listener.accept(on: loop)
        defer { server.close() }
        #expect(server.eventLoop === loop)
        #expect(client.eventLoop === EventLoop.shared)

        let served = Task(executorPreference: loop) { () -> (String, Bool) in
            var buffer = ByteBuffer(capacity: 64)
            // nothing sent yet: this read waits for the loop's epoll and resumes on its thread
            try await server.read(into: &buffer, timeout: .seconds(20))
            try await server.write(buffer)
            return (Self.threadName(), loop.inLoopThread)
        }
        try await client.write(Array("ping".utf8))
        let echoed = try await readExactly(client, 4)
        #expect(echoed == Array("ping".utf8))
        let (name, inLoop) = try await served.value
        #expect(name == "reactor-1")
        #expect(inLoop)
    }
}

actor LoopBoundActor {
    let loop: EventLoop
    init(loop: EventLoop) { self.loop = loop }
    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }

    func where_() -> (String, Bool) {
        (EventLoopsTests.threadName(), loop.inLoopThread)
    }
}
