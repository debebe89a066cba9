import Reactor
import RESP
import Testing
import TestSupport

@Suite struct StreamCommandTests {
    @Test func consumerGroupRoundTrip() async throws {
        guard let r = try await TestRedis.connect() else { return }
        defer { r.close() }
        let s = TestServices.uniqueName("resp:stream:")
        #expect(try await r.xgroupCreate(s, group: "workers", id: "0", makeStream: true))
        #expect(try await r.xgroupCreate(s, group: "workers", id: "0", makeStream: true) == false)  // BUSYGROUP
        let id = try await r.xadd(s, fields: [("job", "42"), ("kind", [UInt8]([1, 2]))], trim: .maxLength(1000))
        #expect(id != nil)

        let reads = try await r.xreadgroup(group: "workers", consumer: "w1", streams: [(s, ">")], count: 10,
                                           block: .milliseconds(100))
        #expect(reads.count == 1)
        #expect(reads.first?.stream == s)
        #expect(reads.first?.entries.first?.id == id)
        #expect(reads.first?.entries.first?.string("job") == "42")
        #expect(reads.first?.entries.first?["kind"] == [1, 2])

        let pending = try await r.xpending(s, group: "workers")
        #expect(pending.count == 1)
        #expect(pending.consumers == ["w1": 1])
        #expect(pending.smallestID == id)

        #expect(try await r.xack(s, group: "workers", ids: [id!]) == 1)
        let after = try await r.xpending(s, group: "workers")
        #expect(after.count == 0)
        #expect(after.smallestID == nil)
        #expect(after.consumers.isEmpty)

        // Nothing new: the BLOCK read times out on the server and answers empty.
        #expect(try await r.xreadgroup(group: "workers", consumer: "w1", streams: [(s, ">")], block: .milliseconds(50)).isEmpty)
        try await r.del(s)
    }

    @Test func autoclaimMovesIdleEntryToAnotherConsumer() async throws {
        guard let r = try await TestRedis.connect() else { return }
        defer { r.close() }
        let s = TestServices.uniqueName("resp:claim:")
        try await r.xgroupCreate(s, group: "g", id: "$", makeStream: true)
        #expect(try await r.xgroupCreateConsumer(s, group: "g", consumer: "b"))
        let id1 = try await r.xadd(s, fields: [("n", 1)])!
        let id2 = try await r.xadd(s, fields: [("n", 2)])!
        _ = try await r.xreadgroup(group: "g", consumer: "a", streams: [(s, ">")], count: 2)
        try await EventLoop.shared.sleep(for: .milliseconds(30))

        let claimed = try await r.xautoclaim(s, group: "g", consumer: "b", minIdle: .milliseconds(20), count: 1)
        #expect(claimed.entries.map(\.id) == [id1])
        #expect(claimed.entries.first?.string("n") == "1")
        #expect(claimed.nextStart == id2)
        #expect(claimed.deletedIDs.isEmpty)

        let rows = try await r.xpending(s, group: "g", count: 10)
        #expect(rows.map(\.id) == [id1, id2])
        #expect(rows.map(\.consumer) == ["b", "a"])
        #expect(rows[0].deliveryCount == 2)

        // XCLAIM hands entry 2 to b as well; then the extended form filtered by consumer shows both.
        let xclaimed = try await r.xclaim(s, group: "g", consumer: "b", minIdle: .zero, ids: [id2])
        #expect(xclaimed.map(\.id) == [id2])
        #expect(try await r.xpending(s, group: "g", count: 10, consumer: "b").count == 2)
        #expect(try await r.xpending(s, group: "g", count: 10, consumer: "a").isEmpty)

        // A deleted pending entry: XAUTOCLAIM reports its ID as deleted (Redis 7).
        #expect(try await r.xdel(s, ids: [id1]) == 1)
        let second = try await r.xautoclaim(s, group: "g", consumer: "a", minIdle: .zero)
        #expect(second.deletedIDs == [id1])
        #expect(second.entries.map(\.id) == [id2])
        try await r.del(s)
    }

    @Test func infoLengthTrimDeleteAndGroups() async throws {
        guard let r = try await TestRedis.connect() else { return }
        defer { r.close() }
        let s = TestServices.uniqueName("resp:info:")
        var ids: [String] = []
        for i in 0..<10 { ids.append(try await r.xadd(s, fields: [("i", i)])!) }
        #expect(try await r.xlen(s) == 10)
        try await r.xgroupCreate(s, group: "g1", id: "0")
        _ = try await r.xreadgroup(group: "g1", consumer: "c1", streams: [(s, ">")], count: 3, noAck: false)

        let info = try await r.xinfoStream(s)
        #expect(info.length == 10)
        #expect(info.groups == 1)
        #expect(info.lastGeneratedID == ids.last)
        #expect(info.firstEntry?.id == ids.first)
        #expect(info.lastEntry?.string("i") == "9")

        let groups = try await r.xinfoGroups(s)
        #expect(groups.map(\.name) == ["g1"])
        #expect(groups.first?.pending == 3)
        #expect(groups.first?.consumers == 1)
        #expect(groups.first?.lastDeliveredID == ids[2])
        #expect(groups.first?.lag == 7)
        let consumers = try await r.xinfoConsumers(s, group: "g1")
        #expect(consumers.map(\.name) == ["c1"])
        #expect(consumers.first?.pending == 3)

        #expect(try await r.xtrim(s, .maxLength(6, approximate: false)) == 4)
        #expect(try await r.xlen(s) == 6)
        #expect(try await r.xtrim(s, .minID(ids[8], approximate: false)) == 4)
        #expect(try await r.xdel(s, ids: [ids[8], "1-1"]) == 1)
        #expect(try await r.xrange(s).map(\.id) == [ids[9]])
        #expect(try await r.xgroupDeleteConsumer(s, group: "g1", consumer: "c1") == 3)
        #expect(try await r.xgroupDestroy(s, group: "g1"))
        #expect(try await r.xgroupDestroy(s, group: "g1") == false)
        #expect(try await r.xadd(s + "none", fields: [("a", 1)], noMakeStream: true) == nil)
        try await r.del(s)
    }

    /// A BLOCK read whose client-side deadline passes first must never hand its late reply to the
    /// next command: the connection is closed, and the pool's next lease is a fresh connection.
    @Test func timedOutBlockReadNeverAnswersTheNextCommand() async throws {
        guard let config = try TestRedis.configuration() else { return }
        let client = RESPClient(configuration: config, options: RESPPoolOptions(maxConnections: 1))
        let s = TestServices.uniqueName("resp:late:")
        let k = TestServices.uniqueName("resp:late-key:")
        try await client.xgroupCreate(s, group: "g", id: "$", makeStream: true)
        try await client.set(k, "the real value")

        let blocked = try await client.withConnection { conn in
            let cmd = RESPCommand("XREADGROUP", "GROUP", "g", "c", "BLOCK", 2000, "STREAMS", s, ">")
            let outcome: Result<RESPValue, any Error>
            do {
                outcome = .success(try await conn.execute(cmd, timeout: .after(.milliseconds(100))))
            } catch {
                outcome = .failure(error)
            }
            return (outcome.isTimeout, conn.isClosed)
        }
        #expect(blocked.0, "the blocked read did not time out")
        #expect(blocked.1, "a connection with a reply outstanding was kept open")
        // The entry the old read would have received arrives now; the next command must get its own reply.
        guard let other = try await TestRedis.connect() else { return }
        defer { other.close() }
        try await other.xadd(s, fields: [("late", "reply")])
        #expect(try await client.getString(k) == "the real value")
        #expect(try await client.ping() == "PONG")
        try await client.del(s, k)
        await client.shutdown()
    }
}

extension Result where Failure == any Error {
    var isTimeout: Bool {
        if case .failure(let e) = self, let ce = e as? RESPClientError, case .timedOut = ce { return true }
        return false
    }
}
