@testable import Reactor
@testable import RESP
import Synchronization
import Testing
import TestSupport

/// The reader role (see `RESPConnection`): callers read their own replies, read for each other,
/// hand the role on, and an idle connection's input is read before the next command is sent.
@Suite struct ReaderRoleTests {
    @Test func aLoneCallerReadsItsOwnRepliesAndLeavesNothingWaitingOnTheSocket() async throws {
        guard let conn = try await TestRedis.connect() else { return }
        defer { conn.close() }
        let key = TestServices.uniqueName("resp:role:")
        let before = conn.readerCounters
        for i in 0..<50 {
            try await conn.set(key, "v\(i)")
            #expect(try await conn.getString(key) == "v\(i)")
        }
        let counters = conn.readerCounters
        #expect(counters.readByCaller - before.readByCaller == 100)
        #expect(counters.deliveredToWaiters == 0)
        #expect(counters.readerTasks == 0)
        // No reader task parked on the socket between commands, and the role is free.
        #expect(!conn.readerActive)
        #expect(conn.socket.registration.waiterCount == 0)
        try await conn.del(key)
    }

    /// Two replies in one segment: the caller holding the role reads both and resumes the other.
    @Test func theCallerHoldingTheRoleDeliversTheOtherCallersReply() async throws {
        try await withScriptedConnection { server, conn in
            let (a, b) = try await twoCallers(server, conn)
            try await server.send("+a\r\n+b\r\n")
            #expect(try await a.value == .simpleString("a"))
            #expect(try await b.value == .simpleString("b"))
            let counters = conn.readerCounters
            #expect(counters.deliveredToWaiters == 1)
            #expect(counters.handedToCallers == 0)
            #expect(!conn.readerActive)
        }
    }

    /// The holder's reply comes alone: it hands the role to the caller still waiting, which then
    /// reads its own reply when it comes.
    @Test func theRoleIsHandedToTheNextWaitingCaller() async throws {
        try await withScriptedConnection { server, conn in
            let (a, b) = try await twoCallers(server, conn)
            try await server.send("+a\r\n")
            #expect(try await a.value == .simpleString("a"))
            try await eventually { conn.readerCounters.handedToCallers == 1 }
            #expect(conn.readerActive)          // held by B, reading
            #expect(conn.waitingCallers == 0)
            try await server.send("+b\r\n")
            #expect(try await b.value == .simpleString("b"))
            #expect(conn.readerCounters.deliveredToWaiters == 0)
            #expect(!conn.readerActive)
        }
    }

    @Test func theServerClosingAnIdleConnectionFailsTheNextCommandBeforeItIsWritten() async throws {
        try await withScriptedConnection { server, conn in
            let first = Task { try await conn.send("FIRST") }
            try await eventually { server.commands == 1 }
            try await server.send("+ok\r\n")
            #expect(try await first.value == .simpleString("ok"))
            try await server.halfClose()
            try await eventually { conn.socket.hasReadEdgeSinceLastRead }
            #expect(!conn.isClosed)             // nobody read the end of stream yet
            await #expect(throws: RESPClientError.self) { try await conn.send("SECOND") }
            #expect(conn.isClosed)
            try await eventually { server.ended }
            #expect(server.commands == 1)       // SECOND was never written
        }
    }

    /// A reply nobody asked for, arriving while the connection is idle, must never be taken as the
    /// answer to the next command (go-redis #1113): the connection closes first.
    @Test func anUnsolicitedReplyOnAnIdleConnectionIsNeverTheNextCommandsAnswer() async throws {
        try await withScriptedConnection { server, conn in
            try await server.send("+stale\r\n")
            try await eventually { conn.socket.hasReadEdgeSinceLastRead }
            await #expect(throws: RESPClientError.self) { try await conn.send("NEXT") }
            #expect(conn.isClosed)
            try await eventually { server.ended }
            #expect(server.commands == 0)
        }
    }

    @Test func checkClosedNoticesAnIdleClose() async throws {
        try await withScriptedConnection { server, conn in
            #expect(await conn.checkClosed() == false)
            try await server.halfClose()
            try await eventually { conn.socket.hasReadEdgeSinceLastRead }
            #expect(await conn.checkClosed())
        }
    }

    /// The pool never hands out a connection the server closed while it sat idle.
    @Test func thePoolDropsAConnectionKilledWhileIdle() async throws {
        guard let config = try TestRedis.configuration() else { return }
        let client = RESPClient(configuration: config, options: RESPPoolOptions(maxConnections: 1))
        defer { Task { await client.shutdown() } }
        let (conn, id) = try await client.withConnection { c in (c, try await c.send("CLIENT", "ID").int ?? -1) }
        guard let admin = try await TestRedis.connect() else { return }
        defer { admin.close() }
        #expect(try await admin.send("CLIENT", "KILL", "ID", id) == .integer(1))
        try await eventually { conn.socket.hasReadEdgeSinceLastRead }
        #expect(!conn.isClosed)
        #expect(try await client.ping() == "PONG")     // on a new connection
        #expect(conn.isClosed)
        #expect(client.openConnections == 1)
    }

    /// Cancelling either of two callers — the one reading for both, or the one waiting — with
    /// replies outstanding closes the connection and fails the other; a late reply reaches nobody.
    @Test(arguments: [true, false])
    func cancellingACallerClosesAndFailsTheOther(cancelTheReader: Bool) async throws {
        try await withScriptedConnection { server, conn in
            let (a, b) = try await twoCallers(server, conn)
            let (cancelled, other) = cancelTheReader ? (a, b) : (b, a)
            cancelled.cancel()
            await #expect(throws: CancellationError.self) { try await cancelled.value }
            await #expect(throws: RESPClientError.self) { try await other.value }
            #expect(conn.isClosed)
            try? await server.send("+a\r\n+b\r\n")
            await #expect(throws: RESPClientError.self) { try await conn.send("C") }
        }
    }

    @Test func aPushHandlerKeepsAReaderTaskSoPushesArriveWhileIdle() async throws {
        try await withScriptedConnection { server, conn in
            let log = PushLog()
            conn.setPushHandler { log.append($0) }
            #expect(conn.readerActive)
            #expect(conn.readerCounters.readerTasks == 1)
            try await server.send(">3\r\n+message\r\n+ch\r\n+hello\r\n")
            try await eventually { log.values.count == 1 }
            let reply = Task { try await conn.send("X") }
            try await eventually { server.commands == 1 }
            try await server.send("+x\r\n")
            #expect(try await reply.value == .simpleString("x"))
            #expect(conn.readerCounters.deliveredToWaiters == 1)
            #expect(conn.readerActive)          // still reading for pushes
        }
    }

    /// Many callers from the event loop and from the global executor on one connection: every
    /// reply reaches its own caller, whoever read it.
    @Test func concurrentCallersFromAnyExecutorGetTheirOwnReplies() async throws {
        guard let conn = try await TestRedis.connect() else { return }
        defer { conn.close() }
        let prefix = TestServices.uniqueName("resp:role-conc:")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for t in 0..<24 {
                let body: @Sendable () async throws -> Void = {
                    for i in 0..<40 {
                        let key = "\(prefix)\(t)"
                        if i % 5 == 4 {
                            let r = try await conn.pipeline([RESPCommand("SET", key, "p\(i)"), RESPCommand("GET", key)])
                            #expect(r.last?.string == "p\(i)")
                        } else {
                            try await conn.set(key, "v\(i)")
                            #expect(try await conn.getString(key) == "v\(i)")
                        }
                    }
                }
                if t % 2 == 0 {
                    group.addTask(executorPreference: EventLoop.shared) { try await body() }
                } else {
                    group.addTask { try await body() }
                }
            }
            try await group.waitForAll()
        }
        #expect(!conn.readerActive)
        #expect(conn.waitingCallers == 0)
        #expect(conn.socket.registration.waiterCount == 0)
        try await conn.del((0..<24).map { "\(prefix)\($0)" })
    }

    /// Callers cancelled at random moments while others share the connection: whoever held the
    /// reader role, every caller finishes (a reply, or an error once the connection closed) —
    /// nobody is left waiting for a reader — and every reply that did arrive is the caller's own.
    @Test func randomCancellationsLeaveNoCallerHanging() async throws {
        guard let config = try TestRedis.configuration() else { return }
        let prefix = TestServices.uniqueName("resp:role-cancel:")
        for round in 0..<15 {
            let conn = try await RESPConnection.connect(config)
            defer { conn.close() }
            let tasks = (0..<8).map { t in
                Task(executorPreference: t % 2 == 0 ? EventLoop.shared : nil) { () -> Int in
                    var ok = 0
                    for i in 0..<30 {
                        let key = "\(prefix)\(t)"
                        do {
                            try await conn.set(key, "v\(i)")
                            let got = try await conn.getString(key)
                            #expect(got == "v\(i)", "round \(round) task \(t)")
                            ok += 1
                        } catch {
                            return ok
                        }
                    }
                    return ok
                }
            }
            try await EventLoop.shared.sleep(for: .microseconds(Int64(300 + 700 * (round % 8))))
            tasks[round % tasks.count].cancel()
            let watchdog = Task {
                try await Task.sleep(for: .seconds(10))
                Issue.record("round \(round): a caller is still waiting 10 s after the cancellation")
                conn.close()
            }
            for task in tasks { _ = await task.value }
            watchdog.cancel()
            #expect(conn.waitingCallers == 0)
        }
        guard let cleanup = try await TestRedis.connect() else { return }
        defer { cleanup.close() }
        try await cleanup.del((0..<8).map { "\(prefix)\($0)" })
    }

    /// A connection to a fresh scripted server, both closed after `body`.
    private func withScriptedConnection(_ body: (ScriptedServer, RESPConnection) async throws -> Void) async throws {
        let server = try await ScriptedServer()
        defer { server.stop() }
        let conn = try await RESPConnection.connect(server.configuration)
        defer { conn.close() }
        try await body(server, conn)
    }

    /// Caller A sends and holds the reader role; caller B sends and waits behind it. No reply yet.
    private func twoCallers(_ server: ScriptedServer, _ conn: RESPConnection) async throws
        -> (Task<RESPValue, any Error>, Task<RESPValue, any Error>) {
        let a = Task { try await conn.send("A") }
        try await eventually { server.commands == 1 && conn.readerActive }
        let b = Task { try await conn.send("B") }
        try await eventually { server.commands == 2 && conn.waitingCallers == 1 }
        return (a, b)
    }
}
