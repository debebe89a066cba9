import HTTPClientCodec
import Reactor
import RESP
import Synchronization
import VideoCore

/// The API's rate limits, shared by every instance through Redis: one GCRA script call per
/// limited request, on a key per limit and partition (the SHA-256 of the API token, or the
/// client address — never a token in clear).
///
/// Never blocks the API: a Redis that does not answer within `budget` lets the request through
/// (fail open), counts it in `vidd_rate_limit_fail_open_total`, and for `pause` afterwards
/// requests pass without asking Redis at all (counted too), so an outage costs each request
/// nothing rather than the budget.
final class RateLimiter: Sendable {
    enum Limit: String, Sendable {
        case submit, read
    }

    enum Verdict: Sendable, Equatable {
        case allowed(RateLimitFields)
        case denied(RateLimitFields)
        /// Redis did not answer: let through, unchecked.
        case failedOpen
    }

    let redis: RESPClient
    let keyPrefix: String
    let rules: [Limit: RateLimitRule]
    let metrics: MetricsRegistry
    let logger: Logger
    let budget: Duration
    let pause: Duration
    /// Until when Redis is not asked (after a failure), and whether the outage was logged.
    private let outage = Mutex<(until: ContinuousClock.Instant?, logged: Bool)>((nil, false))
    private let scriptSHA = Mutex<String?>(nil)

    init(redis: RESPClient, configuration: Configuration, metrics: MetricsRegistry, logger: Logger,
         budget: Duration = .milliseconds(250), pause: Duration = .seconds(1)) {
        self.redis = redis
        self.keyPrefix = configuration.rateLimitKeyPrefix
        var rules: [Limit: RateLimitRule] = [:]
        rules[.submit] = configuration.rateLimitSubmit
        rules[.read] = configuration.rateLimitRead
        self.rules = rules
        self.metrics = metrics
        self.logger = logger
        self.budget = budget
        self.pause = pause
    }

    var isEnabled: Bool { !rules.isEmpty }

    /// nil when `limit` is not configured.
    func check(_ limit: Limit, partition: String) async -> Verdict? {
        guard let rule = rules[limit] else { return nil }
        let now = ContinuousClock.now
        if let until = outage.withLock({ $0.until }), now < until {
            metrics.increment(ServiceMetrics.rateLimitFailOpen, labels: [("limit", limit.rawValue)])
            return .failedOpen
        }
        let key = keyPrefix + limit.rawValue + ":" + partition
        let arguments: [any RESPArgument] = [String(rule.limit), String(Int64(rule.periodSeconds) * 1_000_000)]
        let redis = self.redis, known = scriptSHA.withLock { $0 }
        let reply = await TimeBudget.run(within: budget) { () async throws -> (RESPValue, String) in
            var sha1 = known ?? ""
            if known == nil { sha1 = try await redis.scriptLoad(RateLimitScript.text) }
            return (try await redis.evalCached(RateLimitScript.text, sha1: sha1, keys: [key], arguments: arguments), sha1)
        }
        guard case .value(let (value, sha1)) = reply, let decision = Self.decision(value) else {
            let reason: String = switch reply {
            case .timedOut(let budget): "no answer within \(budget)"
            case .failed(let e): "\(e)"
            case .value(let (v, _)): "unexpected reply \(v)"
            }
            failedOpen(limit, reason: reason, at: now)
            return .failedOpen
        }
        if known == nil { scriptSHA.withLock { $0 = sha1 } }
        outage.withLock { $0 = (nil, false) }
        let fields = RateLimitFields(name: limit.rawValue, rule: rule, decision: decision)
        if decision.allowed { return .allowed(fields) }
        metrics.increment(ServiceMetrics.rateLimited, labels: [("limit", limit.rawValue)])
        return .denied(fields)
    }

    private func failedOpen(_ limit: Limit, reason: String, at now: ContinuousClock.Instant) {
        metrics.increment(ServiceMetrics.rateLimitFailOpen, labels: [("limit", limit.rawValue)])
        let first = outage.withLock { o -> Bool in
            o.until = now + pause
            defer { o.logged = true }
            return !o.logged
        }
        if first {
            logger.warning("rate limiter cannot reach Redis: requests pass unchecked until it answers", ["error": reason])
        }
    }

    /// `{allowed, remaining, retry_after_us, reset_after_us}`.
    static func decision(_ value: RESPValue) -> GCRA.Decision? {
        guard case .array(let items) = value, items.count == 4 else { return nil }
        var numbers: [Int64] = []
        for item in items {
            guard case .integer(let n) = item else { return nil }
            numbers.append(n)
        }
        return GCRA.Decision(allowed: numbers[0] == 1, remaining: Int(numbers[1]), retryAfter: numbers[2],
                             resetAfter: numbers[3], newTAT: nil)
    }

    /// Whose budget a request spends: a configured API token's (as its SHA-256), else the client
    /// address's. A token that is not configured counts as none, so inventing tokens buys nothing.
    static func partition(token: [UInt8]?, client: IPAddress?) -> String {
        if let token { return "t:" + Hex.encode(Crypto.sha256(token)) }
        return "a:" + (client?.description ?? "unknown")
    }
}
