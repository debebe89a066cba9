import Reactor
import RESP
import Testing
import TestSupport

@Suite struct PoolTests {
    @Test func limitsConnectionsAndQueuesWaiters() async throws {
        guard var config = try TestRedis.configuration() else { return }
        let list = TestServices.uniqueName("resp:pool:")
        config.clientName = list.replacingOccurrences(of: ":", with: "-")
        let client = RESPClient(configuration: config, options: RESPPoolOptions(maxConnections: 2))
        // Two BLPOPs hold both connections; a third command waits in the queue until one returns.
        async let first = client.blpop([list], timeout: .seconds(5))
        async let second = client.blpop([list], timeout: .seconds(5))
        try await eventually { client.openConnections == 2 }
        guard let outside = try await TestRedis.connect() else { return }
        defer { outside.close() }
        // Both BLPOPs blocked on the server (the pool counts a connection before its command is
        // sent; pushing earlier would let the queued RPUSH below run between the two pops).
        var blocked = 0
        for _ in 0..<500 where blocked < 2 {
            let list = try await outside.send("CLIENT", "LIST").string ?? ""
            blocked = list.split(separator: "\n").filter { $0.contains("name=\(config.clientName!) ") && $0.contains("cmd=blpop") && $0.contains("flags=b") }.count
            if blocked < 2 { try await EventLoop.shared.sleep(for: .milliseconds(10)) }
        }
        #expect(blocked == 2)
        // No free connection: this one waits in the queue until a BLPOP returns its connection.
        async let third = client.rpush(list, ["a", "b"])
        // Push from outside to release the two BLPOPs.
        try await outside.rpush(list, ["x", "y"])
        let got = try await [first, second].compactMap { $0?.value }
        #expect(got.sorted { $0.lexicographicallyPrecedes($1) } == [Array("x".utf8), Array("y".utf8)])
        #expect(try await third == 2)
        #expect(client.openConnections <= 2)
        try await client.del(list)
        await client.shutdown()
    }

    @Test func waitQueueLimitAndTimeout() async throws {
        guard let config = try TestRedis.configuration() else { return }
        // The wait timeout must outlast the polling below on a loaded machine: with 200 ms the
        // waiter sometimes timed out before `eventually` saw it queued, and the next caller was
        // then queued instead of refused.
        let client = RESPClient(configuration: config, options: RESPPoolOptions(maxConnections: 1, maxWaiters: 1,
                                                                                waitTimeout: .seconds(2)))
        let list = TestServices.uniqueName("resp:poolq:")
        // Holds the only connection until the list gets an element (pushed below, from outside).
        let holder = Task { try await client.blpop([list], timeout: .seconds(30)) }
        try await eventually { client.openConnections == 1 }
        let waiter = Task { try await client.ping() }
        try await eventually { client.waitingCallers == 1 }
        do {
            _ = try await client.ping()
            Issue.record("second waiter was admitted")
        } catch let e as RESPClientError {
            guard case .poolExhausted = e else { Issue.record("wrong error \(e)"); return }
        }
        do {
            _ = try await waiter.value
            Issue.record("waiter got a connection while BLPOP held it")
        } catch let e as RESPClientError {
            guard case .poolTimeout = e else { Issue.record("wrong error \(e)"); return }
        }
        guard let outside = try await TestRedis.connect() else { return }
        defer { outside.close() }
        try await outside.rpush(list, ["release"])
        #expect(try await holder.value?.value == Array("release".utf8))
        #expect(try await client.ping() == "PONG")
        await client.shutdown()
    }

    @Test func wrongPasswordIsNotRetried() async throws {
        guard var config = try TestRedis.configuration() else { return }
        config.password = "wrong"
        let client = RESPClient(configuration: config)
        do {
            _ = try await client.ping()
            Issue.record("authenticated with a wrong password")
        } catch let e as RESPServerError {
            #expect(e.code == "WRONGPASS")
        }
        #expect(client.openConnections == 0)
        await client.shutdown()
    }
}

/// Polls `condition` (every 5 ms, up to 5 s): for states reached asynchronously, without guessing a sleep.
func eventually(_ condition: () -> Bool) async throws {
    for _ in 0..<1000 {
        if condition() { return }
        try await EventLoop.shared.sleep(for: .milliseconds(5))
    }
    Issue.record("condition never became true")
}
