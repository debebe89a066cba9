import Reactor
@testable import S3Lite
import Synchronization
import Testing
import TestSupport

/// A pooled keep-alive connection on which the server said something while it sat idle — its end
/// of stream (an idle timeout) or bytes nobody asked for (a `408` before closing) — is dropped
/// before it is reused, so the next request goes out on a fresh connection at once, not after
/// failing on the old one (a retry, which a POST would not even get for free). A loopback server
/// answers, since no real S3 server closes idle connections on demand.
@Suite struct IdlePooledConnectionTests {
    /// Answers every request with a 200 (to a POST, an InitiateMultipartUploadResult; bodiless
    /// requests only) and keeps each connection open; the test holds the server's side of each
    /// connection to close it or write into it.
    final class KeepAliveServer: Sendable {
        let listener: Listener
        let connections = Mutex<[Connection]>([])
        let requests = Atomic<Int>(0)

        var accepted: Int { connections.withLock { $0.count } }
        var answered: Int { requests.load(ordering: .relaxed) }
        func connection(_ i: Int) -> Connection { connections.withLock { $0[i] } }

        init() async throws {
            listener = try await Listener.bind(host: "127.0.0.1", port: 0)
            Task(executorPreference: EventLoop.shared) { [self] in
                while let c = try? await listener.accept() {
                    connections.withLock { $0.append(c) }
                    Task(executorPreference: EventLoop.shared) { await self.answer(c) }
                }
            }
        }

        private func answer(_ c: Connection) async {
            var buffer = ByteBuffer()
            while true {
                do { try await c.read(into: &buffer, timeout: .seconds(30)) } catch { c.close(); return }
                while let end = Self.endOfHead(buffer.readableBytesView) {
                    let isPost = buffer.readableBytesView.starts(with: Array("POST ".utf8))
                    buffer.moveReaderIndex(forwardBy: end)
                    requests.add(1, ordering: .relaxed)
                    let body = isPost ? Self.initiated : ""
                    let response = "HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
                    do { try await c.write(Array(response.utf8)) } catch { c.close(); return }
                }
            }
        }

        static let initiated = "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>u1</UploadId></InitiateMultipartUploadResult>"

        private static func endOfHead(_ bytes: some Collection<UInt8>) -> Int? {
            let b = Array(bytes)
            guard b.count >= 4 else { return nil }
            return (0...(b.count - 4)).first { b[$0] == 13 && b[$0 + 1] == 10 && b[$0 + 2] == 13 && b[$0 + 3] == 10 }.map { $0 + 4 }
        }

        func stop() {
            listener.close()
            for c in connections.withLock({ $0 }) { c.close() }
        }
    }

    final class Events: Sendable {
        let list = Mutex<[S3RetryEvent]>([])
        var all: [S3RetryEvent] { list.withLock { $0 } }
    }

    static func client(port: Int, events: Events) throws -> S3Client {
        var config = try S3Configuration(endpoint: "http://127.0.0.1:\(port)",
                                         credentials: S3Credentials(accessKeyID: "a", secretAccessKey: "s"))
        config.retry = .none
        config.retryObserver = { event in events.list.withLock { $0.append(event) } }
        return S3Client(configuration: config)
    }

    /// One request on a fresh keep-alive connection; then, while it sits idle in the pool,
    /// `meanwhile` on the server's side of it, and a wait until the client's event loop has seen
    /// input on it; then `next`, the next request. Checks that `next` went out on a second
    /// connection without any retry.
    static func requestAfterIdleInput(meanwhile: (Connection) async throws -> Void,
                                      next: (S3Client) async throws -> Void) async throws {
        let server = try await KeepAliveServer()
        defer { server.stop() }
        let events = Events()
        let s3 = try Self.client(port: server.listener.port, events: events)   // RetryPolicy.none
        defer { s3.shutdown() }
        _ = try await s3.headObject(bucket: "b", key: "first")
        try #require(server.accepted == 1)
        try await meanwhile(server.connection(0))
        let key = ConnectionPool.Key(host: "127.0.0.1", port: server.listener.port, secure: false)
        try await waitUntil("the idle pooled connection shows input", timeout: .seconds(10)) {
            s3.pool.idleConnections(for: key).first?.connection.hasReadEdgeSinceLastRead == true
        }
        try await next(s3)
        #expect(server.accepted == 2)
        #expect(server.answered == 2)
        #expect(events.all.isEmpty, "\(events.all.map(\.code))")
    }

    @Test func aConnectionTheServerClosedWhileIdleIsReplacedWithoutARetry() async throws {
        try await Self.requestAfterIdleInput(meanwhile: { $0.close() }) {   // the server's idle timeout
            _ = try await $0.headObject(bucket: "b", key: "second")
        }
    }

    /// A POST is not sent again for free when its connection turns out dead (it may have been
    /// acted on): on a connection the server closed while idle it would fail outright, with no
    /// retry left. It goes out on a fresh connection instead.
    @Test func aPostAfterTheServerClosedTheIdleConnectionGoesOutOnAFreshOne() async throws {
        try await Self.requestAfterIdleInput(meanwhile: { $0.close() }) { s3 in
            let uploadID = try await s3.createMultipartUpload(bucket: "b", key: "k")
            #expect(uploadID == "u1")
        }
    }

    /// Bytes on an idle connection (a server's `408` before it closes): the next request must not
    /// read them as its response (it would throw).
    @Test func aConnectionWithUnaskedBytesIsReplacedAndTheBytesAreNotAResponse() async throws {
        let timeout = Array("HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n".utf8)
        try await Self.requestAfterIdleInput(meanwhile: { try await $0.write(timeout) }) {
            _ = try await $0.headObject(bucket: "b", key: "second")
        }
    }

    /// An edge alone is no proof (epoll repeats readiness for bytes already read): a connection
    /// with nothing to read is still reused.
    @Test func aQuietIdleConnectionIsReused() async throws {
        let server = try await KeepAliveServer()
        defer { server.stop() }
        let events = Events()
        let s3 = try Self.client(port: server.listener.port, events: events)
        defer { s3.shutdown() }
        for i in 0..<20 { _ = try await s3.headObject(bucket: "b", key: "k\(i)") }
        #expect(server.accepted == 1)
        #expect(server.answered == 20)
        #expect(events.all.isEmpty)
    }
}
