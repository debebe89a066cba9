import Reactor
import Testing
@testable import S3Lite

@Suite struct RetryPolicyTests {
    static func s3(_ status: Int, _ code: String) -> S3Error { S3Error(status: status, code: code, message: "", operation: "Op") }

    @Test func retryTable() {
        #expect(RetryPolicy.isRetryable(Self.s3(503, "SlowDown")))
        #expect(RetryPolicy.isRetryable(Self.s3(500, "InternalError")))
        #expect(RetryPolicy.isRetryable(Self.s3(400, "RequestTimeout")))
        #expect(RetryPolicy.isRetryable(Self.s3(429, "TooManyRequests")))
        #expect(RetryPolicy.isRetryable(Self.s3(200, "InternalError")))  // error inside a 200 (Complete/Copy)
        #expect(!RetryPolicy.isRetryable(Self.s3(403, "SignatureDoesNotMatch")))
        #expect(!RetryPolicy.isRetryable(Self.s3(404, "NoSuchKey")))
        #expect(RetryPolicy.isRetryable(NetworkError.connectionReset))
        #expect(RetryPolicy.isRetryable(NetworkError.endOfStream))
        #expect(RetryPolicy.isRetryable(NetworkError.timedOut("read")))
        #expect(!RetryPolicy.isRetryable(NetworkError.tls("certificate verify failed")))
        #expect(RetryPolicy.isRetryable(HTTPMessageError.truncated(expected: 10, received: 3)))
        #expect(!RetryPolicy.isRetryable(HTTPMessageError.invalidChunk("x")))
        #expect(!RetryPolicy.isRetryable(S3ClientError.invalidArgument("x")))
    }

    @Test func backoffIsExponentialWithFullJitterAndCapped() {
        let p = RetryPolicy(maxAttempts: 10, baseDelay: .milliseconds(100), maxDelay: .seconds(1))
        #expect(p.delay(beforeRetry: 1, unitRandom: 0) == .zero)
        #expect(p.delay(beforeRetry: 1, unitRandom: 0.5) == .milliseconds(50))
        #expect(p.delay(beforeRetry: 2, unitRandom: 0.5) == .milliseconds(100))
        #expect(p.delay(beforeRetry: 3, unitRandom: 0.5) == .milliseconds(200))
        #expect(p.delay(beforeRetry: 9, unitRandom: 0.5) == .milliseconds(500))  // capped at 1 s
        #expect(p.delay(beforeRetry: 60, unitRandom: 0.999) < .seconds(1))
    }
}
