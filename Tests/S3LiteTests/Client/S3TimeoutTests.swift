import Reactor
import S3Lite
import Synchronization
import Testing

/// A server that accepts but never answers: the read deadline fires, and the request is
/// retried on a new connection as the policy says. Needs no S3 server.
@Suite struct S3TimeoutTests {
    @Test func silentServerTimesOutAndIsRetried() async throws {
        let listener = try await Listener.bind(host: "127.0.0.1", port: 0)
        defer { listener.close() }
        let accepted = Atomic<Int>(0)
        let held = Mutex<[Connection]>([])
        Task(executorPreference: EventLoop.shared) {
            while let c = try? await listener.accept() {
                accepted.add(1, ordering: .relaxed)
                held.withLock { $0.append(c) }  // keep it open, say nothing
            }
        }
        var config = try S3Configuration(endpoint: "http://127.0.0.1:\(listener.port)",
                                         credentials: S3Credentials(accessKeyID: "a", secretAccessKey: "s"))
        config.ioTimeout = .milliseconds(200)
        config.retry = RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(1), maxDelay: .milliseconds(5))
        let s3 = S3Client(configuration: config)
        defer { s3.shutdown() }
        await #expect(throws: NetworkError.timedOut("read")) {
            _ = try await s3.getObject(bucket: "b", key: "k")
        }
        #expect(accepted.load(ordering: .relaxed) == 2)
        held.withLock { $0.forEach { $0.close() } }
    }

    @Test func refusedConnectionIsANetworkError() async throws {
        // Bind then close to get a port nobody listens on.
        let listener = try await Listener.bind(host: "127.0.0.1", port: 0)
        let port = listener.port
        listener.close()
        var config = try S3Configuration(endpoint: "http://127.0.0.1:\(port)",
                                         credentials: S3Credentials(accessKeyID: "a", secretAccessKey: "s"))
        config.retry = .none
        let s3 = S3Client(configuration: config)
        defer { s3.shutdown() }
        await #expect(throws: NetworkError.self) { try await s3.headBucket("b") }
    }
}
