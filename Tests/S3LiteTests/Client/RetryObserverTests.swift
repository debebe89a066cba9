import Reactor
import S3Lite
import Synchronization
import Testing

/// `S3Configuration.retryObserver` sees every retry: what failed, how, which attempt, and the
/// delay before the next. (A loopback server answers, since no real S3 server fails on demand.)
@Suite struct RetryObserverTests {
    final class Events: Sendable {
        let list = Mutex<[S3RetryEvent]>([])
        var all: [S3RetryEvent] { list.withLock { $0 } }
        /// Without StaleConnection events: the loopback server drops a connection idle for 5 s,
        /// which on a loaded machine can happen between two attempts (and is then reported too).
        var failures: [S3RetryEvent] { all.filter { $0.code != "StaleConnection" } }
    }

    static func client(port: Int, maxAttempts: Int, events: Events) throws -> S3Client {
        var config = try S3Configuration(endpoint: "http://127.0.0.1:\(port)",
                                         credentials: S3Credentials(accessKeyID: "a", secretAccessKey: "s"))
        config.retry = RetryPolicy(maxAttempts: maxAttempts, baseDelay: .milliseconds(2), maxDelay: .milliseconds(4))
        config.retryObserver = { event in events.list.withLock { $0.append(event) } }
        return S3Client(configuration: config)
    }

    static let slowDown = {
        let body = "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>R1</RequestId></Error>"
        return "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }()

    @Test func aSlowDownThenSuccessIsReportedOnce() async throws {
        let (listener, requests) = try await MisbehavingServerTests.serve { i in
            i == 0 ? Self.slowDown : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        }
        defer { listener.close() }
        let events = Events()
        let s3 = try Self.client(port: listener.port, maxAttempts: 3, events: events)
        defer { s3.shutdown() }
        #expect(try await s3.getObject(bucket: "b", key: "k") == Array("ok".utf8))
        #expect(requests.current == 2)
        let seen = events.failures
        try #require(seen.count == 1, "\(events.all.map(\.code))")
        #expect(seen[0].operation == "GetObject")
        #expect(seen[0].bucket == "b")
        #expect(seen[0].key == "k")
        #expect(seen[0].attempt == 1)
        #expect(seen[0].status == 503)
        #expect(seen[0].code == "SlowDown")
        #expect((seen[0].error as? S3Error)?.requestID == "R1")
        #expect(seen[0].delay >= .zero && seen[0].delay <= .milliseconds(2))  // full jitter under base·2⁰
    }

    @Test func aConnectionLostWithoutAnswerIsReportedWithTheNetworkError() async throws {
        let (listener, _) = try await MisbehavingServerTests.serve { i in
            i < 2 ? "" : "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        }
        defer { listener.close() }
        let events = Events()
        let s3 = try Self.client(port: listener.port, maxAttempts: 3, events: events)
        defer { s3.shutdown() }
        _ = try await s3.headObject(bucket: "b", key: "k")
        let seen = events.all
        #expect(seen.map(\.attempt) == [1, 2])
        #expect(seen.allSatisfy { $0.operation == "HeadObject" && $0.status == nil && $0.code == "endOfStream" })
        #expect(seen.allSatisfy { $0.error as? NetworkError == .endOfStream })
        #expect(seen[1].delay <= .milliseconds(4))
    }

    /// A pooled keep-alive connection the server drops as a request goes out on it is retried at
    /// once on a new one without using an attempt; the observer still sees it, as
    /// `StaleConnection`. (The server closes on reading the second request, so the pool cannot
    /// have seen the close before; one closed while idle is dropped before use instead, see
    /// IdlePooledConnectionTests.)
    @Test func aStalePooledConnectionIsReported() async throws {
        let (listener, requests) = try await MisbehavingServerTests.serve { i in
            i == 1 ? "" : "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        }
        defer { listener.close() }
        let events = Events()
        let s3 = try Self.client(port: listener.port, maxAttempts: 1, events: events)
        defer { s3.shutdown() }
        _ = try await s3.headObject(bucket: "b", key: "first")
        _ = try await s3.headObject(bucket: "b", key: "second")   // pooled connection, closed on it
        #expect(requests.current == 3)
        let seen = events.all
        try #require(seen.count == 1, "\(events.all.map(\.code))")
        #expect(seen[0].code == "StaleConnection")
        #expect(seen[0].key == "second")
        #expect(seen[0].attempt == 1)
        #expect(seen[0].delay == .zero)
        #expect(seen[0].status == nil)
    }

    /// The last failure is thrown, not reported as a retry; nor is an error that is not retried.
    @Test func noEventWithoutARetry() async throws {
        let (listener, requests) = try await MisbehavingServerTests.serve { _ in Self.slowDown }
        defer { listener.close() }
        let events = Events()
        let s3 = try Self.client(port: listener.port, maxAttempts: 2, events: events)
        defer { s3.shutdown() }
        await #expect(throws: S3Error.self) { _ = try await s3.getObject(bucket: "b", key: "k") }
        #expect(requests.current == 2)
        #expect(events.failures.count == 1)

        let notFound = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
        let (other, _) = try await MisbehavingServerTests.serve { _ in notFound }
        defer { other.close() }
        let quiet = Events()
        let s3b = try Self.client(port: other.port, maxAttempts: 3, events: quiet)
        defer { s3b.shutdown() }
        await #expect(throws: S3Error.self) { _ = try await s3b.headObject(bucket: "b", key: "k") }
        #expect(quiet.failures.isEmpty)
    }
}
