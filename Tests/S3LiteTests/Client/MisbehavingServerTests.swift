import Reactor
import S3Lite
import Synchronization
import Testing

/// Client behaviour against servers that break S3's rules (no real S3 server does this, so a
/// loopback server answering fixed bytes stands in; it checks the client, not S3).
@Suite struct MisbehavingServerTests {
    /// Requests answered so far.
    final class Counter: Sendable {
        let value = Atomic<Int>(0)
        var current: Int { value.load(ordering: .relaxed) }
    }

    /// Answers every request on every connection with `response(requestIndex)`; an empty response
    /// closes the connection instead (no answer at all), and so does `closeAfter(requestIndex)`
    /// once the answer is written (a keep-alive connection the server then drops).
    static func serve(closeAfter: @escaping @Sendable (Int) -> Bool = { _ in false },
                      _ response: @escaping @Sendable (Int) -> String) async throws -> (Listener, Counter) {
        let listener = try await Listener.bind(host: "127.0.0.1", port: 0)
        let counter = Counter()
        Task(executorPreference: EventLoop.shared) {
            while let c = try? await listener.accept() {
                Task(executorPreference: EventLoop.shared) {
                    var buffer = ByteBuffer()
                    while true {
                        do { try await c.read(into: &buffer, timeout: .seconds(5)) } catch { c.close(); return }
                        let bytes = Array(buffer.readableBytesView)
                        guard let end = bytes.indices.dropLast(3).first(where: {
                            bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 && bytes[$0 + 3] == 10
                        }) else { continue }
                        buffer.moveReaderIndex(forwardBy: end + 4)  // GET requests: no body
                        let i = counter.value.add(1, ordering: .relaxed).oldValue
                        let answer = response(i)
                        if answer.isEmpty { c.close(); return }
                        do { try await c.write(Array(answer.utf8)) } catch { c.close(); return }
                        if closeAfter(i) { c.close(); return }
                    }
                }
            }
        }
        return (listener, counter)
    }

    static func xmlResponse(_ body: String) -> String {
        "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    static func client(port: Int) throws -> S3Client {
        var config = try S3Configuration(endpoint: "http://127.0.0.1:\(port)", credentials: S3Credentials(accessKeyID: "a", secretAccessKey: "s"))
        config.retry = .none
        return S3Client(configuration: config)
    }

    @Test func truncatedListingWithoutTokenStopsInsteadOfLooping() async throws {
        let (listener, requests) = try await Self.serve { _ in
            Self.xmlResponse("<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>a</Key><Size>1</Size></Contents></ListBucketResult>")
        }
        defer { listener.close() }
        let s3 = try Self.client(port: listener.port)
        defer { s3.shutdown() }
        var keys: [String] = []
        do {
            for try await page in s3.listObjectsV2(bucket: "b") { keys += page.objects.map(\.key) }
            Issue.record("listing ended normally")
        } catch S3ClientError.truncatedListingWithoutToken(let bucket) {
            #expect(bucket == "b")
        }
        #expect(keys == ["a"])  // the page that revealed the problem is still delivered
        #expect(requests.current == 1)
    }

    @Test func repeatedContinuationTokenStops() async throws {
        let (listener, requests) = try await Self.serve { _ in
            Self.xmlResponse("<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>same</NextContinuationToken></ListBucketResult>")
        }
        defer { listener.close() }
        let s3 = try Self.client(port: listener.port)
        defer { s3.shutdown() }
        await #expect(throws: S3ClientError.self) {
            for try await _ in s3.listObjectsV2(bucket: "b") {}
        }
        #expect(requests.current == 2)
    }

    /// A pooled keep-alive connection the server closed before answering is retried at once on a
    /// new connection without using an attempt (here there is only one). The closed socket was once
    /// reported as a truncated response instead, which only a retry with an attempt left covered.
    @Test func aDroppedKeepAliveConnectionIsRetriedWithoutUsingAnAttempt() async throws {
        let (listener, requests) = try await Self.serve(closeAfter: { _ in true }) { _ in
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        }
        defer { listener.close() }
        let s3 = try Self.client(port: listener.port)   // RetryPolicy.none
        defer { s3.shutdown() }
        for key in ["a", "b", "c"] { _ = try await s3.headObject(bucket: "b", key: key) }
        #expect(requests.current == 3)
    }

    /// A POST the server read on a reused connection and never answered may have been acted on
    /// (an upload created): it is not sent again outside the retry policy (here: no retries).
    @Test func aPostTheServerReadButNeverAnsweredIsNotSentAgain() async throws {
        let (listener, requests) = try await Self.serve { i in
            switch i {
            case 0: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
            case 1: ""  // read, then closed without an answer
            default: Self.xmlResponse("<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>u2</UploadId></InitiateMultipartUploadResult>")
            }
        }
        defer { listener.close() }
        let s3 = try Self.client(port: listener.port)   // RetryPolicy.none
        defer { s3.shutdown() }
        _ = try await s3.headObject(bucket: "b", key: "a")
        await #expect(throws: (any Error).self) { _ = try await s3.createMultipartUpload(bucket: "b", key: "k") }
        #expect(requests.current == 2, "the POST went out once")
    }

    @Test func repeatedUploadMarkersStop() async throws {
        let (listener, requests) = try await Self.serve { _ in
            Self.xmlResponse("<ListMultipartUploadsResult><IsTruncated>true</IsTruncated><NextKeyMarker>k</NextKeyMarker><NextUploadIdMarker>u</NextUploadIdMarker><Upload><Key>k</Key><UploadId>u</UploadId></Upload></ListMultipartUploadsResult>")
        }
        defer { listener.close() }
        let s3 = try Self.client(port: listener.port)
        defer { s3.shutdown() }
        await #expect(throws: S3ClientError.self) { _ = try await s3.listMultipartUploads(bucket: "b") }
        #expect(requests.current == 2)
    }

    @Test func errorInsideA200IsThrown() async throws {
        // CompleteMultipartUpload may fail after S3 sent 200 and its headers.
        let (listener, _) = try await Self.serve { _ in
            Self.xmlResponse("<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message><RequestId>R</RequestId></Error>")
        }
        defer { listener.close() }
        let s3 = try Self.client(port: listener.port)
        defer { s3.shutdown() }
        do {
            try await s3.completeMultipartUpload(bucket: "b", key: "k", uploadID: "u", parts: [CompletedPart(partNumber: 1, etag: "\"e\"")])
            Issue.record("an error inside a 200 was taken for success")
        } catch let e as S3Error {
            #expect(e.code == "InternalError")
            #expect(e.requestID == "R")
            #expect(e.operation == "CompleteMultipartUpload")
        }
    }
}
