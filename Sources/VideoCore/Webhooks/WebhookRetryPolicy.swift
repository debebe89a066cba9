/// When a failed delivery is tried again, and when it is given up: after about 5 s, 30 s, 2 min,
/// 10 min and 1 h, then every hour until a day has passed since the event (each delay jittered,
/// so endpoints that failed together are not retried together).
public struct WebhookRetryPolicy: Sendable, Equatable {
    public var delays: [Duration]
    /// After `delays`: this, until `giveUpAfter` has passed since the delivery was created.
    public var thenEvery: Duration
    public var giveUpAfter: Duration
    /// ± this fraction of each delay.
    public var jitter: Double

    public init(delays: [Duration] = [.seconds(5), .seconds(30), .seconds(120), .seconds(600), .seconds(3600)],
                thenEvery: Duration = .seconds(3600), giveUpAfter: Duration = .seconds(86_400), jitter: Double = 0.1) {
        self.delays = delays
        self.thenEvery = thenEvery
        self.giveUpAfter = giveUpAfter
        self.jitter = jitter
    }

    /// The delay before attempt `attemptsMade + 1`; `random` in 0..<1 picks the jitter.
    public func delay(afterAttempts attemptsMade: Int, random: Double) -> Duration {
        let base = attemptsMade >= 1 && attemptsMade <= delays.count ? delays[attemptsMade - 1] : thenEvery
        let factor = 1 + jitter * (2 * min(max(random, 0), 1) - 1)
        return base * factor
    }
}

/// One delivery's life as a value: attempted until an answer in 2xx; retried on any other
/// answer, a timeout or a refused connection; given up after the policy's last retry, or at once
/// when the endpoint answers 410 Gone (it asked for no more: the endpoint is disabled).
public struct WebhookDeliveryState: Sendable, Equatable {
    public enum Status: String, Sendable, Equatable { case pending, delivered, failed }

    /// What one attempt came to.
    public enum Outcome: Sendable, Equatable {
        /// The endpoint answered with this status (and `Retry-After` in seconds, if it sent one).
        case answered(status: Int, retryAfter: Duration?)
        /// No answer: refused, reset, timed out, or the guard refused the address.
        case noAnswer(String)
    }

    public enum Decision: Sendable, Equatable {
        case delivered
        case retry(after: Duration)
        /// No more attempts; `disableEndpoint` when the endpoint said 410.
        case giveUp(reason: String, disableEndpoint: Bool)
    }

    public private(set) var status: Status
    public private(set) var attempts: Int

    public init(status: Status = .pending, attempts: Int = 0) {
        self.status = status
        self.attempts = attempts
    }

    /// `age`: time since the delivery was created, when this attempt ended.
    public mutating func attemptFinished(_ outcome: Outcome, age: Duration, policy: WebhookRetryPolicy, random: Double) -> Decision {
        precondition(status == .pending, "only a pending delivery is attempted")
        attempts += 1
        var retryAfter: Duration?
        switch outcome {
        case .answered(let code, _) where (200...299).contains(code):
            status = .delivered
            return .delivered
        case .answered(410, _):
            status = .failed
            return .giveUp(reason: "the endpoint answered 410 Gone: it is disabled", disableEndpoint: true)
        case .answered(_, let after):
            retryAfter = after
        case .noAnswer:
            break
        }
        var delay = policy.delay(afterAttempts: attempts, random: random)
        if let retryAfter, retryAfter > delay { delay = retryAfter }
        guard age + delay <= policy.giveUpAfter else {
            status = .failed
            return .giveUp(reason: "no success after \(attempts) attempts in \(policy.giveUpAfter)", disableEndpoint: false)
        }
        return .retry(after: delay)
    }
}
