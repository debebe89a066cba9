import Reactor
import RESP
import Testing
import TestSupport

/// Collects `count` messages from a subscription (the test's own deadline comes from the caller).
func collect(_ sub: RESPSubscription, count: Int) async -> [RESPPubSubMessage] {
    var out: [RESPPubSubMessage] = []
    for await m in sub {
        out.append(m)
        if out.count == count { break }
    }
    return out
}

@Suite struct PubSubTests {
    @Test func threeSubscribersShareOneConnection() async throws {
        guard let config = try TestRedis.configuration() else { return }
        let pubsub = RESPPubSub(configuration: config)
        guard let publisher = try await TestRedis.connect() else { return }
        defer { publisher.close() }
        let ch = TestServices.uniqueName("resp:ch:")
        let a = try await pubsub.subscribe(ch)
        let b = try await pubsub.subscribe(ch, ch + ":other")
        let c = try await pubsub.psubscribe(patterns: [ch + ":*"])

        // One server-side connection carries all three subscribers.
        #expect(try await publisher.publish(ch, "hello") == 1)
        #expect(try await publisher.publish(ch + ":other", "other") == 2)   // b by channel, c by pattern

        async let ra = collect(a, count: 1)
        async let rb = collect(b, count: 2)
        async let rc = collect(c, count: 1)
        let (ma, mb, mc) = await (ra, rb, rc)
        #expect(ma.map(\.string) == ["hello"])
        #expect(mb.map(\.string) == ["hello", "other"])
        #expect(mc.map(\.string) == ["other"])
        #expect(mc.first?.pattern == ch + ":*")
        #expect(mc.first?.channel == ch + ":other")

        // Unsubscribing one subscriber keeps the channel for the other.
        await a.unsubscribe()
        #expect(try await publisher.publish(ch, "again") == 1)
        #expect(await collect(b, count: 1).map(\.string) == ["again"])
        await b.unsubscribe()
        await c.unsubscribe()
        #expect(try await publisher.publish(ch, "nobody") == 0)
        await pubsub.shutdown()
    }

    @Test func regularCommandsAndPushesOnOneConnection() async throws {
        // RESP3 lets a subscribed connection run commands; pushes must never be taken for replies.
        guard let conn = try await TestRedis.connect(), let publisher = try await TestRedis.connect() else { return }
        defer { conn.close(); publisher.close() }
        let ch = TestServices.uniqueName("resp:mixed:")
        let received = PushLog()
        conn.setPushHandler { received.append($0) }
        try await conn.sendSubscription(RESPCommand("SUBSCRIBE", ch), confirmations: 1)
        for i in 0..<20 {
            try await publisher.publish(ch, "m\(i)")
            #expect(try await conn.send("ECHO", "reply\(i)").string == "reply\(i)")
        }
        try await conn.sendSubscription(RESPCommand("UNSUBSCRIBE", ch), confirmations: 1)
        let messages = received.values.compactMap { v -> String? in
            guard case .push(let items) = v, items.first?.string == "message" else { return nil }
            return items[2].string
        }
        #expect(messages == (0..<20).map { "m\($0)" })
    }

    @Test func slowSubscriberDropsOldestAndNeverStallsOthers() async throws {
        guard let config = try TestRedis.configuration(), let publisher = try await TestRedis.connect() else { return }
        defer { publisher.close() }
        let pubsub = RESPPubSub(configuration: config, bufferCapacity: 4)
        let ch = TestServices.uniqueName("resp:slow:")
        let slow = try await pubsub.subscribe(ch)
        let other = try await pubsub.subscribe(ch + ":other")
        var burst: [RESPCommand] = []
        for i in 0..<20 { burst.append(RESPCommand("PUBLISH", ch, "m\(i)")) }
        _ = try await publisher.pipeline(burst)
        // Nobody reads `slow`, yet the shared connection keeps delivering to others.
        try await publisher.publish(ch + ":other", "still flowing")
        #expect(await collect(other, count: 1).map(\.string) == ["still flowing"])
        // `slow` kept the newest 4 and counted the rest as dropped.
        #expect(await collect(slow, count: 4).map(\.string) == ["m16", "m17", "m18", "m19"])
        #expect(slow.droppedMessages == 16)
        await pubsub.shutdown()
    }

    @Test func subscriptionsResumeAfterServerRestart() async throws {
        guard let server = try await PrivateRedis.start() else { return }
        defer { server.destroy() }
        let config = try RESPConfiguration(url: server.url)
        let pubsub = RESPPubSub(configuration: config, backoff: RESPBackoff(initial: .milliseconds(20), maximum: .milliseconds(200)))
        let sub = try await pubsub.subscribe("jobs")
        let psub = try await pubsub.psubscribe(patterns: ["progress:*"])
        let restored = Mutex(0)
        pubsub.onResubscribed { restored.withLock { $0 += 1 } }
        do {
            let p = try await RESPConnection.connect(config)
            #expect(try await p.publish("jobs", "before") == 1)
            p.close()
        }
        #expect(await collect(sub, count: 1).map(\.string) == ["before"])

        try await server.stop()
        try await server.launch()
        // Wait for the supervisor to reconnect and re-subscribe (PUBLISH then reaches our subscribers).
        let p = try await RESPConnection.connect(config)
        defer { p.close() }
        var receivers = 0
        for _ in 0..<300 {
            receivers = try await p.publish("jobs", "probe")
            if receivers > 0 { break }
            try await EventLoop.shared.sleep(for: .milliseconds(20))
        }
        #expect(receivers == 1)
        #expect(pubsub.reconnectCount >= 1)
        // The pattern is restored in the same write; allow the server a moment to process it.
        var patternReceivers = 0
        for _ in 0..<300 {
            patternReceivers = try await p.publish("progress:7", "50%")
            if patternReceivers > 0 { break }
            try await EventLoop.shared.sleep(for: .milliseconds(20))
        }
        #expect(patternReceivers == 1)
        #expect(await collect(psub, count: 1).map(\.string) == ["50%"])
        // The server may deliver PUBLISH to the restored subscription before the supervisor has
        // read the confirmations and counted the restoration: wait for the counters to settle.
        try await eventually { pubsub.resubscriptionCount == pubsub.reconnectCount }
        #expect(pubsub.resubscriptionCount == pubsub.reconnectCount, "every reconnection restored the subscriptions")
        try await eventually { restored.withLock { $0 } == pubsub.resubscriptionCount }
        #expect(restored.withLock { $0 } == pubsub.resubscriptionCount, "the handler heard every restoration")
        // Drain the probes, then the next real message arrives in order.
        try await p.publish("jobs", "after")
        var seen: [String] = []
        for await m in sub {
            seen.append(m.string)
            if m.string == "after" { break }
        }
        #expect(seen.last == "after")
        await pubsub.shutdown()
    }
}

/// Thread-safe log of push frames seen by a handler.
final class PushLog: Sendable {
    private let storage = Mutex<[RESPValue]>([])
    func append(_ v: RESPValue) { storage.withLock { $0.append(v) } }
    var values: [RESPValue] { storage.withLock { $0 } }
}

import Synchronization
