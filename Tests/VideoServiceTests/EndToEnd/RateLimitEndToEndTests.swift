import Foundation
import Reactor
import RESP
import Testing
import TestSupport
@testable import VideoCore

/// Rate limits with the real `vidd` binary: two API processes spend one budget kept in Redis,
/// answer 429 with Retry-After and the RateLimit fields, give tokens and forwarded clients their
/// own budgets, let requests through again as configured, and pass everything (counted) when
/// Redis is down.
@Suite(.serialized) struct RateLimitEndToEndTests {
    static let token = "ratelimit-token-0123456789"

    @Test func twoInstancesShareOneBudget() async throws {
        let prefix = TestServices.uniqueName("rl-e2e:") + ":"
        guard let sut = try await ServiceUnderTest.make("ratelimit", settings: [
            // Per hour and per minute: no quota comes back while the test runs, however slow
            // the machine, until the test waits for it.
            "VIDD_RATE_LIMIT_READ": "5/h", "VIDD_RATE_LIMIT_SUBMIT": "1/min", "VIDD_RATE_LIMIT_KEY_PREFIX": prefix,
            "VIDD_API_TOKENS": Self.token, "VIDD_TRUSTED_PROXIES": "127.0.0.0/8",
        ]) else { return }
        do {
            let a = try await sut.start("serve")
            let b = try await sut.start("serve")

            // Five reads across both instances, then the sixth is refused.
            for i in 0..<5 {
                let r = try await sut.request(i % 2 == 0 ? a : b, "GET", "/videos")
                #expect(r.status == 200, "\(r.status) \(r.text)")
                #expect(r.headers["ratelimit-policy"] == #""read";q=5;w=3600"#)
                #expect(r.headers["ratelimit"]?.hasPrefix(#""read";r=\#(4 - i);t="#) == true, "\(r.headers)")
            }
            let refused = try await sut.request(a, "GET", "/videos")
            #expect(refused.status == 429, "\(refused.status) \(refused.text)")
            #expect((refused.json["error"] as? [String: Any])?["code"] as? String == "rate_limited")
            let retryAfter = Int(refused.headers["retry-after"] ?? "") ?? -1
            #expect((1...720).contains(retryAfter), "Retry-After \(refused.headers["retry-after"] ?? "none")")
            #expect(refused.headers["ratelimit-policy"] == #""read";q=5;w=3600"#)
            #expect(refused.headers["ratelimit"] == #""read";r=0;t=\#(retryAfter)"#)
            #expect(try await sut.request(b, "GET", "/videos/\(UUID().uuidString.lowercased())").status == 429, "the other instance refuses too")

            // Other clients have budgets of their own: a forwarded client (from a trusted proxy)
            // and a token holder.
            let forwarded = try await sut.request(b, "GET", "/videos", ["-H", "X-Forwarded-For: 198.51.100.1, 203.0.113.5"])
            #expect(forwarded.status == 200 && forwarded.headers["ratelimit"]?.hasPrefix(#""read";r=4;"#) == true)
            let withToken = try await sut.request(a, "GET", "/videos", ["-H", "Authorization: Bearer \(Self.token)"])
            #expect(withToken.status == 200 && withToken.headers["ratelimit"]?.hasPrefix(#""read";r=4;"#) == true)
            // Operations endpoints are never limited.
            let health = try await sut.request(a, "GET", "/healthz")
            #expect(health.status == 200 && health.headers["ratelimit"] == nil)

            // The keys: per limit and partition, the token only as its SHA-256.
            let keys = try await sut.redis { try await $0.send("KEYS", prefix + "*").elements?.compactMap(\.string) ?? [] }
            let digest = Hex.encode(Crypto.sha256(Array(Self.token.utf8)))
            #expect(Set(keys) == [prefix + "read:a:127.0.0.1", prefix + "read:a:203.0.113.5", prefix + "read:t:" + digest], "\(keys)")
            #expect(!keys.contains { $0.contains(Self.token) })
            // Each key expires when its burst is full again: within the hour of the read limit.
            for key in keys {
                guard case .integer(let ttl) = try await sut.redis({ try await $0.send("PTTL", key) }) else { Issue.record("PTTL \(key)"); continue }
                #expect(ttl > 0 && ttl <= 3_600_000, "\(key): \(ttl) ms")
            }

            // Submissions: 1 per minute across both instances; once refused, let through again
            // after Retry-After (and not before: the quota comes back then, as configured).
            let submit = ["-H", "Authorization: Bearer \(Self.token)", "-H", "Content-Type: text/plain", "--data-binary", "x"]
            #expect(try await sut.request(a, "POST", "/jobs", submit).status == 415)
            let over = try await sut.request(b, "POST", "/jobs", submit)
            let wait = Int(over.headers["retry-after"] ?? "") ?? 0
            #expect(over.status == 429 && (1...60).contains(wait), "\(over.status) \(over.headers)")
            #expect(over.headers["ratelimit-policy"] == #""submit";q=1;w=60"#)
            try await Task.sleep(for: .seconds(wait))
            let again = try await sut.request(a, "POST", "/jobs", submit)
            #expect(again.status == 415, "after Retry-After the submission is let through: \(again.status) \(again.headers)")
            #expect(again.headers["ratelimit"]?.hasPrefix(#""submit";r=0;"#) == true)

            // Each process counts its own refusals.
            #expect(try await sut.request(a, "GET", "/metrics").text.contains("vidd_rate_limited_total{limit=\"read\"} 1"))
            #expect(try await sut.request(b, "GET", "/metrics").text.contains("vidd_rate_limited_total{limit=\"submit\"} 1"))
            _ = try await sut.redis { try await $0.del(keys) }
        } catch {
            await sut.cleanup()
            throw error
        }
        await sut.cleanup()
    }

    @Test func redisDownRequestsPassAndTheMetricCounts() async throws {
        let dead = try await Listener.bind(host: "127.0.0.1", port: 0)
        let port = dead.port
        dead.close()
        guard let sut = try await ServiceUnderTest.make("ratelimit-down", settings: [
            "VIDD_RATE_LIMIT_READ": "1/min", "VIDD_REDIS_URL": "redis://127.0.0.1:\(port)",
        ]) else { return }
        do {
            let vidd = try await sut.start("serve")
            let started = ContinuousClock.now
            for _ in 0..<4 {
                let r = try await sut.request(vidd, "GET", "/videos")
                #expect(r.status == 200 && r.headers["ratelimit"] == nil, "\(r.status) \(r.text)")
            }
            #expect(ContinuousClock.now - started < .seconds(10), "failing open must not stall the API")
            let metrics = try await sut.request(vidd, "GET", "/metrics").text
            #expect(metrics.contains("vidd_rate_limit_fail_open_total{limit=\"read\"} 4"), "\(metrics.split(separator: "\n").filter { $0.contains("rate_limit") })")
            #expect(vidd.process.log.contains("rate limiter cannot reach Redis"))
        } catch {
            await sut.cleanup()
            throw error
        }
        await sut.cleanup()
    }
}
