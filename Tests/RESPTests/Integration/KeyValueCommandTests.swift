import Reactor
import RESP
import Testing
import TestSupport

@Suite struct KeyValueCommandTests {
    @Test func stringsAndKeys() async throws {
        guard let r = try await TestRedis.connect() else { return }
        defer { r.close() }
        let k = TestServices.uniqueName("resp:kv:")
        #expect(try await r.get(k) == nil)
        #expect(try await r.set(k, "v1"))
        #expect(try await r.getString(k) == "v1")
        #expect(try await r.set(k, "v2", condition: .ifNotExists) == false)
        #expect(try await r.getString(k) == "v1")
        #expect(try await r.set(k, "v3", condition: .ifExists))
        #expect(try await r.set(k + "nx", "x", condition: .ifExists) == false)
        #expect(try await r.set(k, [UInt8]([0, 255, 13, 10]), expiration: .seconds(100)))
        #expect(try await r.get(k) == [0, 255, 13, 10])
        let ttl = try await r.ttl(k)
        #expect(ttl > 0 && ttl <= 100)
        #expect(try await r.set(k, "px", expiration: .milliseconds(50_000)))
        let pttl = try await r.pttl(k)
        #expect(pttl > 0 && pttl <= 50_000)
        #expect(try await r.set(k, "keep", expiration: .keepTTL))
        #expect(try await r.pttl(k) > 0)
        #expect(try await r.expire(k, seconds: 500))
        #expect(try await r.expire(k + "missing", seconds: 5) == false)
        #expect(try await r.ttl(k + "missing") == -2)
        #expect(try await r.exists(k, k + "missing") == 1)
        #expect(try await r.incr(k + "n") == 1)
        #expect(try await r.incrBy(k + "n", 41) == 42)
        #expect(try await r.decr(k + "n") == 41)
        #expect(try await r.ttl(k + "n") == -1)
        #expect(try await r.mget([k, k + "missing", k + "n"]) == [Array("keep".utf8), nil, Array("41".utf8)])
        #expect(try await r.del(k, k + "n", k + "missing") == 2)
        do {
            try await r.set(k + "l", "text")
            _ = try await r.incr(k + "l")
            Issue.record("INCR on text succeeded")
        } catch let e as RESPServerError {
            #expect(e.code == "ERR")
        }
        try await r.del(k + "l")
    }

    @Test func hashes() async throws {
        guard let r = try await TestRedis.connect() else { return }
        defer { r.close() }
        let k = TestServices.uniqueName("resp:hash:")
        #expect(try await r.hset(k, [("a", "1"), ("b", [UInt8]([2])), ("n", 10)]) == 3)
        #expect(try await r.hset(k, [("a", "one")]) == 0)
        #expect(try await r.hget(k, "a") == Array("one".utf8))
        #expect(try await r.hget(k, "zz") == nil)
        #expect(try await r.hmget(k, ["a", "zz", "b"]) == [Array("one".utf8), nil, [2]])
        #expect(try await r.hgetall(k) == ["a": Array("one".utf8), "b": [2], "n": Array("10".utf8)])
        #expect(try await r.hincrby(k, "n", 5) == 15)
        #expect(try await r.hexists(k, "a"))
        #expect(try await r.hexists(k, "zz") == false)
        #expect(try await r.hlen(k) == 3)
        #expect(try await r.hdel(k, ["a", "zz"]) == 1)
        #expect(try await r.hgetall(k + "missing") == [:])
        try await r.del(k)
    }

    @Test func listsAndBlockingPop() async throws {
        guard let r = try await TestRedis.connect() else { return }
        defer { r.close() }
        let k = TestServices.uniqueName("resp:list:")
        #expect(try await r.rpush(k, ["a", "b"]) == 2)
        #expect(try await r.lpush(k, ["z"]) == 3)
        #expect(try await r.lrange(k, 0, -1) == ["z", "a", "b"].map { Array($0.utf8) })
        let popped = try await r.blpop([k], timeout: .seconds(1))
        #expect(popped?.key == k)
        #expect(popped?.value == Array("z".utf8))
        // Server-side timeout: an empty reply after 100 ms, within the client's margin.
        #expect(try await r.blpop([k + "empty"], timeout: .milliseconds(100)) == nil)
        try await r.del(k)
    }

    @Test func scripting() async throws {
        guard let r = try await TestRedis.connect() else { return }
        defer { r.close() }
        let k = TestServices.uniqueName("resp:lua:")
        let script = "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])"
        #expect(try await r.eval(script, keys: [k], arguments: ["hello"]).string == "hello")
        let sha = try await r.scriptLoad(script)
        #expect(sha.count == 40)
        #expect(try await r.evalsha(sha, keys: [k], arguments: [42]).string == "42")
        do {
            try await r.evalsha(String(repeating: "0", count: 40))
            Issue.record("unknown script ran")
        } catch let e as RESPServerError {
            #expect(e.code == "NOSCRIPT")
        }
        let fresh = "return ARGV[1] .. '\(k)'"
        // A SHA the server does not know: NOSCRIPT, then the EVAL fallback runs it.
        #expect(try await r.evalCached(fresh, sha1: String(repeating: "f", count: 40), arguments: ["x"]).string == "x\(k)")
        try await r.del(k)
    }

    @Test func multiExec() async throws {
        guard let r = try await TestRedis.connect() else { return }
        defer { r.close() }
        let k = TestServices.uniqueName("resp:tx:")
        let replies = try await r.transaction([RESPCommand("SET", k, "1"), RESPCommand("INCR", k), RESPCommand("HGET", k, "f")])
        #expect(replies?.count == 3)
        #expect(replies?[1] == .integer(2))
        if case .error(let e)? = replies?[2] { #expect(e.code == "WRONGTYPE") } else { Issue.record("no WRONGTYPE in EXEC") }
        // A command rejected at queue time aborts the transaction: its error is thrown.
        do {
            _ = try await r.transaction([RESPCommand("SET", k, "2"), RESPCommand("NOSUCHCMD")])
            Issue.record("aborted transaction succeeded")
        } catch let e as RESPServerError {
            #expect(e.code == "ERR")
        }
        #expect(try await r.getString(k) == "2")   // unchanged: nothing of the aborted transaction ran
        try await r.del(k)
    }

    @Test func publishCountsReceivers() async throws {
        guard let r = try await TestRedis.connect() else { return }
        defer { r.close() }
        #expect(try await r.publish(TestServices.uniqueName("resp:nobody:"), "x") == 0)
    }
}
