import Reactor

/// When and how long to wait before retrying a request: exponential backoff with full jitter
/// (delay drawn uniformly from 0...min(maxDelay, baseDelay·2^attempt)), on an explicit table of
/// retryable conditions modelled on minio-go's `retry.go`.
public struct RetryPolicy: Sendable {
    /// Total attempts including the first (1 = no retries).
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration

    public init(maxAttempts: Int = 5, baseDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(5)) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    public static let none = RetryPolicy(maxAttempts: 1)

    /// HTTP statuses worth retrying (throttling and transient server failures).
    public static let retryableStatuses: Set<Int> = [408, 429, 499, 500, 502, 503, 504, 520]

    /// S3 error codes worth retrying whatever the status.
    public static let retryableCodes: Set<String> = [
        "RequestError", "RequestTimeout", "Throttling", "ThrottlingException", "RequestLimitExceeded",
        "RequestThrottled", "InternalError", "SlowDown", "SlowDownRead", "SlowDownWrite",
        "ServiceUnavailable", "RequestTimeTooSkewed" /* a retry re-signs with a fresh date */,
    ]

    /// Whether `error` is transient. Connection failures are; TLS and name resolution failures
    /// (configuration problems) are not; nor are the service's other answers.
    public static func isRetryable(_ error: any Error) -> Bool {
        switch error {
        case let e as S3Error:
            return retryableStatuses.contains(e.status) || retryableCodes.contains(e.code)
        case let e as NetworkError:
            switch e {
            case .endOfStream, .connectionReset, .closed, .timedOut, .connectionRefused, .system: return true
            case .tls, .resolutionFailed: return false
            }
        case let e as HTTPMessageError:
            if case .truncated = e { return true }
            return false
        default:
            return false
        }
    }

    /// The delay before retry number `retry` (1 = first retry), with `unitRandom` in [0, 1).
    public func delay(beforeRetry retry: Int, unitRandom: Double) -> Duration {
        let cap = Double(maxDelay.components.seconds) + Double(maxDelay.components.attoseconds) / 1e18
        let base = Double(baseDelay.components.seconds) + Double(baseDelay.components.attoseconds) / 1e18
        let ceiling = min(cap, base * Double(1 << min(retry - 1, 30)))
        return .nanoseconds(Int64(ceiling * unitRandom * 1e9))
    }
}
