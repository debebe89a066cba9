import Reactor
import RESP
import Testing
import TestSupport

/// Against the real redis-server 7 from the harness (VIDD_TEST_REDIS_URL).
@Suite struct ConnectionTests {
    @Test func helloMapAndServerInfo() async throws {
        guard let conn = try await TestRedis.connect({ $0.clientName = "vidd-resp-test" }) else { return }
        defer { conn.close() }
        #expect(conn.protocolVersion == 3)
        guard case .map(let pairs) = conn.helloReply else {
            Issue.record("HELLO did not answer a map: \(conn.helloReply)")
            return
        }
        let fields = Dictionary(pairs.map { ($0.key.string ?? "", $0.value) }, uniquingKeysWith: { a, _ in a })
        #expect(fields["server"]?.string == "redis")
        #expect(fields["proto"] == .integer(3))
        #expect(try await conn.send("CLIENT", "GETNAME").string == "vidd-resp-test")
        #expect(try await conn.ping() == "PONG")
    }

    @Test func selectsDatabaseFromURL() async throws {
        guard let conn = try await TestRedis.connect({ $0.database = 3 }) else { return }
        defer { conn.close() }
        let info = try await conn.send("CLIENT", "INFO").string ?? ""
        #expect(info.contains(" db=3 "))
    }

    @Test func wrongPasswordIsClearError() async throws {
        guard var config = try TestRedis.configuration() else { return }
        config.password = "definitely-not-the-password"
        do {
            let c = try await RESPConnection.connect(config)
            c.close()
            Issue.record("connected with a wrong password")
        } catch let error as RESPServerError {
            #expect(error.code == "WRONGPASS")
            #expect(error.description.contains("WRONGPASS"))
        }
    }

    @Test func aclUserGetsTypedNOPERM() async throws {
        guard let admin = try await TestRedis.connect() else { return }
        defer { admin.close() }
        let user = TestServices.uniqueName("resp_acl_")
        let key = TestServices.uniqueName("resp:acl:")
        try await admin.send("ACL", "SETUSER", user, "on", ">userpw", "~*", "&*", "+@connection", "+get", "-set")
        guard var config = try TestRedis.configuration() else { return }
        config.username = user
        config.password = "userpw"
        let limited = try await RESPConnection.connect(config)
        defer { limited.close() }
        // A wrong password for an existing ACL user is WRONGPASS too.
        var wrong = config
        wrong.password = "nope"
        await #expect(throws: RESPServerError(code: "WRONGPASS", message: "invalid username-password pair or user is disabled.")) {
            _ = try await RESPConnection.connect(wrong)
        }
        #expect(try await limited.get(key) == nil)   // allowed
        do {
            try await limited.set(key, "x")
            Issue.record("SET was allowed")
        } catch let error as RESPServerError {
            #expect(error.code == "NOPERM")
            #expect(error.message.contains("set"))
        }
        // The connection is still usable after an error reply.
        #expect(try await limited.ping() == "PONG")
        try await admin.send("ACL", "DELUSER", user)
    }

    @Test func pipelineKeepsOrderAndReturnsErrorsInPlace() async throws {
        guard let conn = try await TestRedis.connect() else { return }
        defer { conn.close() }
        let key = TestServices.uniqueName("resp:pipe:")
        var commands: [RESPCommand] = []
        for i in 0..<100 { commands.append(RESPCommand("RPUSH", key, i)) }
        commands.append(RESPCommand("HGET", key, "f"))   // WRONGTYPE, in place
        commands.append(RESPCommand("LLEN", key))
        let replies = try await conn.pipeline(commands)
        #expect(replies.count == 102)
        #expect(replies[0..<100].map(\.int) == (1...100).map { Int64($0) })
        guard case .error(let e) = replies[100] else { Issue.record("expected WRONGTYPE, got \(replies[100])"); return }
        #expect(e.code == "WRONGTYPE")
        #expect(replies[101] == .integer(100))
        try await conn.del(key)
    }

    @Test func concurrentCallersShareOneConnection() async throws {
        guard let conn = try await TestRedis.connect() else { return }
        defer { conn.close() }
        let prefix = TestServices.uniqueName("resp:conc:")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<50 {
                group.addTask {
                    try await conn.set("\(prefix)\(i)", "v\(i)")
                    let v = try await conn.getString("\(prefix)\(i)")
                    #expect(v == "v\(i)")
                }
            }
            try await group.waitForAll()
        }
        try await conn.del((0..<50).map { "\(prefix)\($0)" })
    }

    @Test func resp3TypesFromRealReplies() async throws {
        guard let conn = try await TestRedis.connect() else { return }
        defer { conn.close() }
        let key = TestServices.uniqueName("resp:types:")
        // Double (ZSCORE in RESP3), map (HGETALL), set (SMEMBERS), null, boolean via Lua.
        try await conn.send("ZADD", key + "z", "1.5", "a")
        #expect(try await conn.send("ZSCORE", key + "z", "a") == .double(1.5))
        try await conn.hset(key + "h", [("f", "v")])
        #expect(try await conn.send("HGETALL", key + "h") == .map([RESPPair(.bulkString(Array("f".utf8)), .bulkString(Array("v".utf8)))]))
        try await conn.send("SADD", key + "s", "m")
        #expect(try await conn.send("SMEMBERS", key + "s") == .set([.bulkString(Array("m".utf8))]))
        #expect(try await conn.send("GET", key + "missing") == .null)
        #expect(try await conn.eval("redis.setresp(3); return true") == .boolean(true))
        #expect(try await conn.eval("redis.setresp(3); return {double=3.25}") == .double(3.25))
        #expect(try await conn.eval("redis.setresp(3); return {big_number='123456789012345678901234567890'}")
            == .bigNumber("123456789012345678901234567890"))
        try await conn.del(key + "z", key + "h", key + "s")
    }

    @Test func cancelledCommandClosesConnection() async throws {
        guard let conn = try await TestRedis.connect() else { return }
        defer { conn.close() }
        let key = TestServices.uniqueName("resp:cancel:")
        let task = Task { try await conn.blpop([key], timeout: .seconds(5)) }
        try await EventLoop.shared.sleep(for: .milliseconds(100))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(conn.isClosed)
        await #expect(throws: RESPClientError.self) { try await conn.ping() }
    }

    @Test func largeRepliesSpanningManyReads() async throws {
        guard let conn = try await TestRedis.connect() else { return }
        defer { conn.close() }
        let key = TestServices.uniqueName("resp:large:")
        // 160 KiB and ~60 KiB of list reply: each spans several socket reads. Kept small because the
        // reactor's ByteBuffer zero-fills its growth byte by byte in debug builds (~1 s per MiB).
        var big = [UInt8](repeating: 0xA5, count: 160 * 1024)
        for i in stride(from: 0, to: big.count, by: 4093) { big[i] = UInt8(truncatingIfNeeded: i) }
        try await conn.set(key, big)
        #expect(try await conn.get(key) == big)
        var push: [RESPCommand] = []
        for chunk in 0..<5 {
            var cmd = RESPCommand("RPUSH", key + "l")
            for i in 0..<1000 { cmd.append(chunk * 1000 + i) }
            push.append(cmd)
        }
        _ = try await conn.pipeline(push)
        let items = try await conn.lrange(key + "l", 0, -1)
        #expect(items.count == 5_000)
        #expect(items.last == Array("4999".utf8))
        try await conn.del(key, key + "l")
    }

    @Test func unsolicitedServerErrorPaths() async throws {
        guard let conn = try await TestRedis.connect() else { return }
        defer { conn.close() }
        do {
            try await conn.send("NOSUCHCOMMAND", "x")
            Issue.record("unknown command succeeded")
        } catch let e as RESPServerError {
            #expect(e.code == "ERR")
            #expect(e.message.contains("unknown command"))
        }
        #expect(try await conn.ping() == "PONG")
    }
}
