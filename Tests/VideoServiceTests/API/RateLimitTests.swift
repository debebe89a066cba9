import HTTPClientCodec
import Reactor
import RESP
import Synchronization
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore

/// The rate limiter's decision as a pure function (vectors), the Lua script against it on a
/// real Redis (same inputs, same answers), the header fields, the client address behind trusted
/// proxies, and failing open when Redis cannot answer.
@Suite struct GCRATests {
    struct Step: Sendable, CustomStringConvertible {
        var stored: Int64?
        var now: Int64
        var limit: Int
        var period: Int64
        var expected: GCRA.Decision
        var description: String { "stored=\(stored.map(String.init) ?? "nil") now=\(now) \(limit)/\(period)" }
    }

    static let s: Int64 = 1_000_000

    static let vectors: [Step] = [
        // 3 per 3 s: one every second, bursts of 3.
        Step(stored: nil, now: 0, limit: 3, period: 3 * s, expected: .init(allowed: true, remaining: 2, retryAfter: 0, resetAfter: s, newTAT: s)),
        Step(stored: s, now: 0, limit: 3, period: 3 * s, expected: .init(allowed: true, remaining: 1, retryAfter: 0, resetAfter: 2 * s, newTAT: 2 * s)),
        Step(stored: 2 * s, now: 0, limit: 3, period: 3 * s, expected: .init(allowed: true, remaining: 0, retryAfter: 0, resetAfter: 3 * s, newTAT: 3 * s)),
        Step(stored: 3 * s, now: 0, limit: 3, period: 3 * s, expected: .init(allowed: false, remaining: 0, retryAfter: s, resetAfter: 3 * s, newTAT: nil)),
        Step(stored: 3 * s, now: s / 2, limit: 3, period: 3 * s, expected: .init(allowed: false, remaining: 0, retryAfter: s / 2, resetAfter: 5 * s / 2, newTAT: nil)),
        Step(stored: 3 * s, now: s, limit: 3, period: 3 * s, expected: .init(allowed: true, remaining: 0, retryAfter: 0, resetAfter: 3 * s, newTAT: 4 * s)),
        // Idle long enough: the whole burst is back (a stale TAT counts as now).
        Step(stored: 4 * s, now: 10 * s, limit: 3, period: 3 * s, expected: .init(allowed: true, remaining: 2, retryAfter: 0, resetAfter: s, newTAT: 11 * s)),
        // 1 per second.
        Step(stored: nil, now: 5, limit: 1, period: s, expected: .init(allowed: true, remaining: 0, retryAfter: 0, resetAfter: s, newTAT: s + 5)),
        Step(stored: s + 5, now: 5, limit: 1, period: s, expected: .init(allowed: false, remaining: 0, retryAfter: s, resetAfter: s, newTAT: nil)),
        // A period that does not divide: 7 per hour, interval rounded down to the microsecond.
        Step(stored: nil, now: 0, limit: 7, period: 3600 * s, expected: .init(allowed: true, remaining: 6, retryAfter: 0, resetAfter: 514_285_714, newTAT: 514_285_714)),
        // Real clocks: microseconds since 1970.
        Step(stored: nil, now: 1_796_000_000_000_000, limit: 10, period: 60 * s,
             expected: .init(allowed: true, remaining: 9, retryAfter: 0, resetAfter: 6 * s, newTAT: 1_796_000_006_000_000)),
    ]

    @Test(arguments: vectors)
    func decides(_ step: Step) {
        #expect(GCRA.decide(storedTAT: step.stored, now: step.now, limit: step.limit, period: step.period) == step.expected)
    }

    /// Over a long run, N per period get through, however they are spread.
    @Test func longRunRate() {
        var tat: Int64?
        var allowed = 0
        for now in stride(from: Int64(0), to: 60 * Self.s, by: 10_000) {  // 100 requests a second for a minute
            let d = GCRA.decide(storedTAT: tat, now: now, limit: 5, period: Self.s)
            if d.allowed { allowed += 1; tat = d.newTAT }
        }
        #expect(allowed == 5 + 59 * 5 || allowed == 5 + 60 * 5 - 1, "\(allowed)")
    }

    @Test func fields() {
        let rule = RateLimitRule(limit: 10, periodSeconds: 60)
        let ok = RateLimitFields(name: "read", rule: rule, decision: .init(allowed: true, remaining: 7, retryAfter: 0, resetAfter: 18_000_001, newTAT: nil))
        #expect(ok.pairs.map { "\($0.0): \($0.1)" } == [#"RateLimit-Policy: "read";q=10;w=60"#, #"RateLimit: "read";r=7;t=19"#])
        let no = RateLimitFields(name: "submit", rule: rule, decision: .init(allowed: false, remaining: 0, retryAfter: 5_500_000, resetAfter: 60 * Self.s, newTAT: nil))
        #expect(no.pairs.map { "\($0.0): \($0.1)" } == [#"RateLimit-Policy: "submit";q=10;w=60"#, #"RateLimit: "submit";r=0;t=6"#, "Retry-After: 6"])
        let soon = RateLimitFields(name: "x", rule: rule, decision: .init(allowed: false, remaining: 0, retryAfter: 10, resetAfter: 10, newTAT: nil))
        #expect(soon.retryAfter == "1")
    }

    @Test func partitionsNeverHoldATokenInClear() {
        let token = Array("token-aaaaaaaaaaaaaaaa".utf8)
        let key = RateLimiter.partition(token: token, client: IPAddress(numeric: "10.0.0.1"))
        #expect(key == "t:" + Hex.encode(Crypto.sha256(token)) && !key.contains("token-"))
        #expect(RateLimiter.partition(token: nil, client: IPAddress(numeric: "2001:db8::1")) == "a:2001:db8::1")
    }
}

@Suite struct ClientAddressTests {
    struct Vector: Sendable, CustomStringConvertible {
        var peer: String
        var forwarded: [String]
        var trusted: String
        var expected: String
        var description: String { "\(peer) \(forwarded) trusted=\(trusted)" }
    }

    static let vectors: [Vector] = [
        // No trusted proxies: X-Forwarded-For is ignored.
        Vector(peer: "203.0.113.9:5555", forwarded: ["1.2.3.4"], trusted: "", expected: "203.0.113.9"),
        // From an untrusted peer: ignored too.
        Vector(peer: "203.0.113.9:5555", forwarded: ["1.2.3.4"], trusted: "10.0.0.0/8", expected: "203.0.113.9"),
        Vector(peer: "10.0.0.2:5555", forwarded: ["1.2.3.4"], trusted: "10.0.0.0/8", expected: "1.2.3.4"),
        // The right-most untrusted address: whatever the client wrote to the left is not believed.
        Vector(peer: "10.0.0.2:5555", forwarded: ["6.6.6.6, 1.2.3.4, 10.0.0.3"], trusted: "10.0.0.0/8", expected: "1.2.3.4"),
        Vector(peer: "10.0.0.2:5555", forwarded: ["6.6.6.6", "1.2.3.4,10.0.0.3"], trusted: "10.0.0.0/8", expected: "1.2.3.4"),
        Vector(peer: "[::1]:5555", forwarded: ["2001:db8::7"], trusted: "::1/128", expected: "2001:db8::7"),
        Vector(peer: "10.0.0.2:5555", forwarded: ["[2001:db8::7]:443", "1.2.3.4:80"], trusted: "10.0.0.0/8", expected: "1.2.3.4"),
        // Every hop trusted: the left-most.
        Vector(peer: "10.0.0.2:5555", forwarded: ["10.0.0.9, 10.0.0.3"], trusted: "10.0.0.0/8", expected: "10.0.0.9"),
        // Nothing forwarded, or garbage: the nearest trusted hop stands for the client.
        Vector(peer: "10.0.0.2:5555", forwarded: [], trusted: "10.0.0.0/8", expected: "10.0.0.2"),
        Vector(peer: "10.0.0.2:5555", forwarded: ["1.2.3.4, unknown"], trusted: "10.0.0.0/8", expected: "10.0.0.2"),
        Vector(peer: "10.0.0.2:5555", forwarded: ["1.2.3.4, garbage, 10.0.0.3"], trusted: "10.0.0.0/8", expected: "10.0.0.3"),
        // An IPv4 client of a dual-stack listener (VIDD_LISTEN=[::]:…) is seen as ::ffff:a.b.c.d: it is
        // that IPv4 address, for the trusted proxies (written as IPv4) and for its budget alike.
        Vector(peer: "[::ffff:10.0.0.2]:5555", forwarded: ["1.2.3.4"], trusted: "10.0.0.0/8", expected: "1.2.3.4"),
        Vector(peer: "[::ffff:203.0.113.9]:5555", forwarded: [], trusted: "", expected: "203.0.113.9"),
        Vector(peer: "10.0.0.2:5555", forwarded: ["1.2.3.4, ::ffff:10.0.0.3"], trusted: "10.0.0.0/8", expected: "1.2.3.4"),
        Vector(peer: "10.0.0.2:5555", forwarded: ["::ffff:1.2.3.4"], trusted: "10.0.0.0/8", expected: "1.2.3.4"),
    ]

    @Test(arguments: vectors)
    func resolves(_ v: Vector) throws {
        let trusted = v.trusted.split(separator: ",").map { IPNetwork(cidr: $0)! }
        let client = ClientAddress.resolve(peer: ClientAddress.peer(v.peer), forwardedFor: v.forwarded, trustedProxies: trusted)
        #expect(client?.description == v.expected)
    }
}

@Suite struct RateLimitRedisTests {
    /// The script on Redis and `GCRA.decide` agree exactly, given the same clock.
    @Test func scriptMatchesThePureDecision() async throws {
        guard let url = try TestServices.require(TestServices.redisURL, "VIDD_TEST_REDIS_URL") else { return }
        let redis = try RESPClient(url: url)
        let key = TestServices.uniqueName("rl-diff:")
        let s: Int64 = 1_000_000
        let base: Int64 = 1_796_000_000_000_000
        let times: [Int64] = [0, 0, 0, 0, s / 3, s, s, 2 * s + 1, 2 * s + 1, 2 * s + 1, 10 * s, 10 * s + 7, 10 * s + 7, 11 * s]
        var tat: Int64?
        for offset in times {
            let now = base + offset
            let expected = GCRA.decide(storedTAT: tat, now: now, limit: 3, period: 3 * s)
            let reply = try await redis.eval(RateLimitScript.withGivenClock, keys: [key], arguments: ["3", String(3 * s), String(now)])
            var got = try #require(RateLimiter.decision(reply))
            got.newTAT = expected.newTAT
            #expect(got == expected, "at +\(offset)")
            if let t = expected.newTAT { tat = t }
            let stored = try await redis.send("GET", key).string
            #expect(stored == tat.map(String.init), "stored TAT at +\(offset)")
        }
        guard case .integer(let ttl) = try await redis.send("PTTL", key) else { Issue.record("PTTL"); return }
        #expect(ttl > 0, "the key expires by itself")
        _ = try await redis.send("DEL", key)
        await redis.shutdown()
    }

    /// Two limiters on two clients (two API instances) spend one budget. 4 per hour: no quota
    /// comes back while the test runs, however slow the machine.
    @Test func instancesShareOneBudget() async throws {
        guard let url = try TestServices.require(TestServices.redisURL, "VIDD_TEST_REDIS_URL") else { return }
        var configuration = Configuration()
        configuration.rateLimitRead = RateLimitRule(limit: 4, periodSeconds: 3600)
        configuration.rateLimitKeyPrefix = TestServices.uniqueName("rl-share:")
        let a = try RESPClient(url: url), b = try RESPClient(url: url)
        let metrics = MetricsRegistry()
        ServiceMetrics.registerAll(in: metrics)
        let logger = Logger(level: .error, redactor: Redactor(secrets: []), sink: LogSink.memory())
        // A budget no loaded machine misses: this test is about sharing, not about failing open.
        let first = RateLimiter(redis: a, configuration: configuration, metrics: metrics, logger: logger, budget: .seconds(30))
        let second = RateLimiter(redis: b, configuration: configuration, metrics: metrics, logger: logger, budget: .seconds(30))
        let started = ContinuousClock.now
        var fields: [RateLimitFields] = []
        for i in 0..<5 {
            switch await (i % 2 == 0 ? first : second).check(.read, partition: "a:198.51.100.1") {
            case .allowed(let f)? where i < 4: fields.append(f)
            case .denied(let f)? where i == 4: fields.append(f)
            case let other: Issue.record("request \(i): \(String(describing: other))"); return
            }
        }
        let elapsed = Int((ContinuousClock.now - started).components.seconds) + 1
        // r is exact; t (seconds until more quota) is the interval times the quota spent, less
        // the time the requests took.
        for (i, f) in fields.enumerated() {
            #expect(f.policy == #""read";q=4;w=3600"#)
            let parts = f.limit.split(separator: ";")
            let r = Int(parts[1].dropFirst(2))!, t = Int(parts[2].dropFirst(2))!
            #expect(r == max(0, 3 - i), "\(f.limit)")
            let expected = i < 4 ? 900 * (i + 1) : 900
            #expect(t <= expected && t >= expected - elapsed, "\(i): \(f.limit)")
        }
        #expect(fields[4].retryAfter == String(Int(fields[4].limit.split(separator: "=").last!)!))
        // Another partition has its own budget; submissions are not limited here.
        if case .allowed? = await first.check(.read, partition: "a:198.51.100.2") {} else { Issue.record("another client was limited") }
        #expect(await first.check(.submit, partition: "a:198.51.100.1") == nil)
        _ = try await a.send("DEL", configuration.rateLimitKeyPrefix + "read:a:198.51.100.1", configuration.rateLimitKeyPrefix + "read:a:198.51.100.2")
        await a.shutdown()
        await b.shutdown()
    }

    /// A Redis that accepts connections and never answers: without the budget each check would
    /// wait for the client's own timeouts (a minute here). With it, the first check fails open,
    /// and the ones after it do not ask Redis at all for the pause (no second connection is
    /// tried); every one is counted and the outage is logged once.
    @Test func failsOpenWithinItsBudget() async throws {
        let silent = try await Listener.bind(host: "127.0.0.1", port: 0)
        let accepted = Atomic<Int>(0)
        let held = Mutex<[Connection]>([])
        Task(executorPreference: EventLoop.shared) {
            while let c = try? await silent.accept() {
                accepted.add(1, ordering: .relaxed)
                held.withLock { $0.append(c) }
            }
        }
        defer {
            silent.close()
            held.withLock { $0.forEach { $0.close() } }
        }
        var configuration = Configuration()
        configuration.rateLimitSubmit = RateLimitRule(limit: 1, periodSeconds: 60)
        let metrics = MetricsRegistry()
        ServiceMetrics.registerAll(in: metrics)
        let logs = LogSink.memory()
        let logger = Logger(level: .info, redactor: Redactor(secrets: []), sink: logs)
        var redisConfiguration = try RESPConfiguration(url: "redis://127.0.0.1:\(silent.port)")
        redisConfiguration.connectTimeout = .seconds(60)
        redisConfiguration.commandTimeout = .seconds(60)
        var options = RESPPoolOptions()
        options.waitTimeout = .seconds(60)
        let redis = RESPClient(configuration: redisConfiguration, options: options)
        let limiter = RateLimiter(redis: redis, configuration: configuration, metrics: metrics, logger: logger,
                                  budget: .milliseconds(200), pause: .seconds(600))
        let started = ContinuousClock.now
        for _ in 0..<5 { #expect(await limiter.check(.submit, partition: "a:x") == .failedOpen) }
        #expect(ContinuousClock.now - started < .seconds(30), "the budget, not the client's minute, bounds a check")
        #expect(accepted.load(ordering: .relaxed) <= 1, "Redis was asked again during the pause")
        #expect(metrics.render().contains("vidd_rate_limit_fail_open_total{limit=\"submit\"} 5"))
        #expect(logs.lines.filter { $0.contains("rate limiter cannot reach Redis") }.count == 1, "logged once per outage")
        await redis.shutdown()
    }
}
