import Reactor

/// One retry about to happen, as `S3Configuration.retryObserver` sees it: which request failed,
/// how, on which attempt, and how long the client waits before the next one.
public struct S3RetryEvent: Sendable {
    /// The S3 operation (`PutObject`, `UploadPart`, `GetObject`…) and what it is about.
    public var operation: String
    public var bucket: String?
    public var key: String?
    /// The attempt that failed (1 = the first); the retry is attempt + 1. A pooled connection the
    /// server had closed while idle is retried at once without using an attempt (`code`
    /// `StaleConnection`): such events repeat the attempt number.
    public var attempt: Int
    /// The HTTP status the service answered; nil when no answer came (a connection failure).
    public var status: Int?
    /// What went wrong, as a short name from a bounded set, fit for a metrics label: S3's error
    /// code (`SlowDown`, `InternalError`, `RequestTimeout`, `HTTP503`…), else the network failure
    /// (`endOfStream`, `connectionReset`, `timedOut`, `connectionRefused`, `closed`, `system`),
    /// `truncated` for a response cut short, `StaleConnection` (see `attempt`).
    public var code: String
    /// The error itself: `S3Error`, `NetworkError` or `HTTPMessageError`.
    public var error: any Error
    /// The wait before the retry (backoff with full jitter; zero for `StaleConnection`).
    public var delay: Duration

    public init(operation: String, bucket: String?, key: String?, attempt: Int, status: Int?, code: String,
                error: any Error, delay: Duration) {
        self.operation = operation
        self.bucket = bucket
        self.key = key
        self.attempt = attempt
        self.status = status
        self.code = code
        self.error = error
        self.delay = delay
    }

    /// The label for `error` (see `code`).
    static func code(of error: any Error) -> String {
        switch error {
        case let e as S3Error:
            return e.code
        case let e as NetworkError:
            switch e {
            case .endOfStream: return "endOfStream"
            case .connectionReset: return "connectionReset"
            case .closed: return "closed"
            case .timedOut: return "timedOut"
            case .connectionRefused: return "connectionRefused"
            case .resolutionFailed: return "resolutionFailed"
            case .tls: return "tls"
            case .system: return "system"
            }
        case let e as HTTPMessageError:
            if case .truncated = e { return "truncated" }
            return "invalidResponse"
        default:
            return "other"
        }
    }
}
