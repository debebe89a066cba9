import Reactor
import S3Lite
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

/// The S3 backend's own promises, against the real test server: multipart assembly, nothing
/// left behind by failed or cancelled uploads, presigned URLs usable by any HTTP client,
/// listings past one page, and errors that explain bad credentials without revealing them.
@Suite struct S3StorageTests {
    static let mib = 1024 * 1024

    /// Small parts (S3's 5 MiB minimum) so multipart paths run with modest payloads.
    static func smallParts(_ c: inout S3Configuration) {
        c.partSize = 5 * mib
        c.multipartThreshold = 5 * mib
        c.maxConcurrentParts = 2
    }

    @Test func aStreamLongerThanAPartIsAssembledByteExactly() async throws {
        try await StorageFixture.with(.s3, configure: Self.smallParts) { f in
            let (client, bucket) = try #require(f.s3)
            let bytes = pseudoRandomBytes(12 * Self.mib + 12_345, seed: 7)
            // Odd chunk sizes, so part boundaries fall inside chunks.
            let info = try await f.storage.put(key: "source/v1/big.mp4", chunks: AsyncChunks(bytes, chunkSize: 65_537),
                                               contentType: "video/mp4")
            #expect(info.size == Int64(bytes.count))
            #expect(try await f.storage.get(key: "source/v1/big.mp4") == bytes)
            let raw = try await client.headObject(bucket: bucket, key: "ns/source/v1/big.mp4")
            #expect(raw.etag?.hasSuffix("-3\"") == true, "uploaded as three parts, got ETag \(raw.etag ?? "none")")
            #expect(raw.contentType == "video/mp4")
            #expect(try await f.storage.head(key: "source/v1/big.mp4")?.contentType == "video/mp4")
            let middle = Int64(5 * Self.mib - 10)...Int64(5 * Self.mib + 10)  // across the first part boundary
            #expect(try await f.storage.get(key: "source/v1/big.mp4", range: middle) == Array(bytes[Int(middle.lowerBound)...Int(middle.upperBound)]))
            #expect(try await S3TestServer.pendingUploads(client, bucket).isEmpty)
        }
    }

    @Test func aFileAboveTheThresholdIsUploadedInParts() async throws {
        try await StorageFixture.with(.s3, configure: Self.smallParts) { f in
            let (client, bucket) = try #require(f.s3)
            let bytes = pseudoRandomBytes(11 * Self.mib + 3, seed: 3)
            let path = f.scratch + "/rendition.mp4"
            try FileFixture.write(path, bytes)
            let info = try await f.storage.put(key: "processed/v1/mp4/1080p.mp4", fromFile: path, contentType: "video/mp4")
            #expect(info.size == Int64(bytes.count) && info.contentType == "video/mp4")
            #expect(try await f.storage.get(key: "processed/v1/mp4/1080p.mp4") == bytes)
            let raw = try await client.headObject(bucket: bucket, key: "ns/processed/v1/mp4/1080p.mp4")
            #expect(raw.etag?.hasSuffix("-3\"") == true, "uploaded as three parts, got ETag \(raw.etag ?? "none")")
            #expect(raw.contentType == "video/mp4")
        }
    }

    @Test func aStreamFailingAfterAPartLeavesNoObjectAndNoPendingUpload() async throws {
        try await StorageFixture.with(.s3, configure: Self.smallParts) { f in
            let (client, bucket) = try #require(f.s3)
            // More than a part, so a multipart upload exists when the client goes away.
            await #expect(throws: UploadAborted.self) {
                _ = try await f.storage.put(key: "source/v2/a.mp4", chunks: FailingChunks(before: pseudoRandomBytes(6 * Self.mib)),
                                            contentType: nil)
            }
            #expect(try await f.storage.head(key: "source/v2/a.mp4") == nil)
            #expect(try await client.listAllObjects(bucket: bucket).isEmpty)
            #expect(try await S3TestServer.pendingUploads(client, bucket).isEmpty, "the multipart upload was aborted")
        }
    }

    @Test func aCancelledUploadIsAborted() async throws {
        try await StorageFixture.with(.s3, configure: Self.smallParts) { f in
            let (client, bucket) = try #require(f.s3)
            let (askedForMore, continuation) = AsyncStream<Void>.makeStream()
            let storage = f.storage
            let upload = Task {
                try await storage.put(key: "source/v3/a.mp4", chunks: StallingChunks(first: pseudoRandomBytes(6 * Self.mib), askedForMore: continuation),
                                      contentType: nil)
            }
            // The stream is asked for more only after the first part is cut and the upload created.
            var signals = askedForMore.makeAsyncIterator()
            _ = await signals.next()
            let pending = try await S3TestServer.pendingUploads(client, bucket)
            #expect(pending.map(\.key) == ["ns/source/v3/a.mp4"], "a multipart upload is in progress before the cancel")
            upload.cancel()
            await #expect(throws: CancellationError.self) { _ = try await upload.value }
            #expect(try await S3TestServer.pendingUploads(client, bucket).isEmpty, "the cancelled upload was aborted")
            #expect(try await storage.head(key: "source/v3/a.mp4") == nil)
        }
    }

    @Test func presignedURLsServeBytesAndRanges() async throws {
        try await StorageFixture.with(.s3) { f in
            let bytes = pseudoRandomBytes(100_000, seed: 9)
            // A key needing URI encoding (space, non-ASCII, reserved characters).
            let key = "processed/v1/hls/720p/segment 1 é+(x).m4s"
            _ = try await f.storage.put(key: key, chunks: AsyncChunks(bytes, chunkSize: 30_000), contentType: "video/iso.segment")
            guard case .redirect(let url, let expiresIn) = try await f.storage.playableLocation(key: key, expiresIn: .seconds(300)) else {
                Issue.record("S3 storage must redirect")
                return
            }
            #expect(expiresIn == .seconds(300))
            #expect(try await f.storage.head(key: key)?.contentType == "video/iso.segment", "content type stored with a single PutObject")
            let whole = try await S3TestServer.curl(url)
            #expect(whole.status == 0 && whole.body == bytes)
            let part = try await S3TestServer.curl(url, range: "1000-1999")
            #expect(part.status == 0 && part.body == Array(bytes[1000...1999]))
            // A tampered URL is refused: the signature covers the key.
            let tampered = try await S3TestServer.curl(url.replacing("segment", with: "Segment"))
            #expect(tampered.status != 0)
            // S3 refuses presigned URLs valid for more than 7 days: the expiry is clamped.
            guard case .redirect(let longURL, let clamped) = try await f.storage.playableLocation(key: key, expiresIn: .seconds(30 * 86_400)) else { return }
            #expect(clamped == .seconds(7 * 86_400) && longURL.contains("X-Amz-Expires=604800"))
            #expect(try await S3TestServer.curl(longURL).body == bytes)
        }
    }

    @Test func listingAndDeletingPastOnePage() async throws {
        try await StorageFixture.with(.s3) { f in
            let storage = f.storage
            let keys = (0..<1_005).map { "processed/v1/hls/360p/segment_\(String(100_000 + $0).dropFirst()).m4s" }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (i, key) in keys.enumerated() {
                    if i >= 8 { try await group.next() }
                    group.addTask { _ = try await storage.put(key: key, chunks: AsyncChunks([Array(key.utf8)]), contentType: nil) }
                }
                try await group.waitForAll()
            }
            _ = try await storage.put(key: "processed/v10/poster.jpg", chunks: AsyncChunks([[1]]), contentType: nil)
            let listed = try await storage.list(prefix: "processed/v1/")
            #expect(listed.count == 1_005 && listed.map(\.key) == keys.sorted(), "every page was followed, in key order")
            #expect(try await storage.delete(prefix: "processed/v1/") == 1_005)
            #expect(try await storage.list(prefix: "processed/").map(\.key) == ["processed/v10/poster.jpg"])
        }
    }

    /// An upload begun and never finished (its CreateMultipartUpload answer lost, say) keeps its
    /// parts in S3 and shows in no listing: `abortUnfinishedUploads` aborts those under a prefix;
    /// other prefixes', and the key prefix's neighbours', are left, and objects are untouched.
    @Test func unfinishedUploadsUnderAPrefixAreAborted() async throws {
        try await StorageFixture.with(.s3) { f in
            let (client, bucket) = try #require(f.s3)
            func begin(_ key: String) async throws {
                let id = try await client.createMultipartUpload(bucket: bucket, key: key)
                _ = try await client.uploadPart(bucket: bucket, key: key, uploadID: id, partNumber: 1, bytes: [1, 2, 3])
            }
            func pending() async throws -> [String] { try await S3TestServer.pendingUploads(client, bucket).map(\.key).sorted() }
            _ = try await f.storage.put(key: "processed/v1/poster.jpg", chunks: AsyncChunks([[1]]), contentType: nil)
            try await begin("ns/processed/v1/mp4/720p.mp4")
            try await begin("ns/processed/v1/mp4/360p.mp4")
            try await begin("ns/processed/v10/mp4/720p.mp4")
            try await begin("nsx/processed/v1/a.mp4")

            #expect(try await f.storage.abortUnfinishedUploads(prefix: "processed/v1/") == 2)
            #expect(try await pending() == ["ns/processed/v10/mp4/720p.mp4", "nsx/processed/v1/a.mp4"])
            #expect(try await f.storage.list(prefix: "processed/v1/").map(\.key) == ["processed/v1/poster.jpg"])
            #expect(try await f.storage.abortUnfinishedUploads(prefix: "processed/v1/") == 0, "nothing left to abort")
            #expect(try await f.storage.abortUnfinishedUploads(prefix: "") == 1, "the whole storage: only under its key prefix")
            #expect(try await pending() == ["nsx/processed/v1/a.mp4"])
            await #expect(throws: StorageError.self) { _ = try await f.storage.abortUnfinishedUploads(prefix: "../x/") }
        }
    }

    @Test func theKeyPrefixIsolatesTheStorage() async throws {
        try await StorageFixture.with(.s3) { f in
            let (client, bucket) = try #require(f.s3)
            try await client.putObject(bucket: bucket, key: "outside/x", bytes: [1])
            try await client.putObject(bucket: bucket, key: "nsx/y", bytes: [2])
            _ = try await f.storage.put(key: "a/b", chunks: AsyncChunks([[3]]), contentType: nil)
            #expect(try await f.storage.list(prefix: "").map(\.key) == ["a/b"])
            #expect(try await f.storage.delete(prefix: "") == 1)
            #expect(try await client.listAllObjects(bucket: bucket).map(\.key).sorted() == ["nsx/y", "outside/x"])
            #expect(throws: StorageError.self) { _ = try S3Storage(client: client, bucket: bucket, keyPrefix: "no-slash") }
            #expect(throws: StorageError.self) { _ = try S3Storage(client: client, bucket: bucket, keyPrefix: "../") }
        }
    }

    @Test func aWrongSecretKeyIsExplainedWithoutRevealingIt() async throws {
        guard let good = try S3TestServer.client() else { return }
        let bucket = try await S3TestServer.makeBucket(good)
        defer { good.shutdown() }
        let wrongSecret = "wrongSecret" + TestServices.uniqueName("")
        let bad = try #require(try S3TestServer.client(secret: wrongSecret) { $0.retry = RetryPolicy(maxAttempts: 1) })
        defer { bad.shutdown() }
        let storage = try S3Storage(client: bad, bucket: bucket)
        let attempts: [@Sendable () async throws -> Void] = [
            { try await storage.checkReachable() },
            { _ = try await storage.get(key: "source/x") },
            { _ = try await storage.put(key: "source/x", chunks: AsyncChunks([[1]]), contentType: nil) },
        ]
        for attempt in attempts {
            do {
                try await attempt()
                Issue.record("a wrong secret key was accepted")
            } catch let error as StorageError {
                let text = error.description
                guard case .backend = error else { Issue.record("refused credentials are not an outage: \(error)"); continue }
                #expect(text.contains("HTTP 403"), "\(text)")
                #expect(text.contains("VIDD_S3_SECRET_KEY"), "\(text)")
                #expect(text.contains(bucket), "\(text)")
                #expect(!text.contains(wrongSecret) && !text.contains(TestServices.s3SecretKey ?? "-"), "no secret in \(text)")
            }
        }
        let info = try await S3Storage(client: good, bucket: bucket).put(key: "k", chunks: AsyncChunks([[1]]), contentType: nil)
        #expect(info.size == 1, "the bucket itself is fine")
        await S3TestServer.removeBucket(good, bucket)
    }

    @Test func aMissingBucketIsExplained() async throws {
        guard let client = try S3TestServer.client() else { return }
        defer { client.shutdown() }
        let storage = try S3Storage(client: client, bucket: TestServices.uniqueName("vidd-missing-").lowercased())
        do {
            try await storage.checkReachable()
            Issue.record("a missing bucket was reachable")
        } catch let error as StorageError {
            #expect(error.description.contains("HTTP 404") && error.description.contains("does not exist") &&
                    error.description.contains("VIDD_S3_BUCKET"), "\(error)")
        }
    }

    /// ... and is `unavailable`: worth retrying later, answered 503 by the API.
    @Test func anUnreachableEndpointIsExplained() async throws {
        // A port nothing listens on (bound then closed by the kernel's choice is racy; port 1 is
        // privileged and unused on test machines).
        let settings = Configuration.S3Settings(endpoint: "http://127.0.0.1:1", region: "us-east-1", accessKey: "AKIAEXAMPLE", secretKey: "s3cr3t-value")
        var config = try S3Storage.clientConfiguration(settings)
        config.retry = RetryPolicy(maxAttempts: 1)
        let client = S3Client(configuration: config)
        defer { client.shutdown() }
        let storage = try S3Storage(client: client, bucket: "videos")
        do {
            try await storage.checkReachable()
            Issue.record("nothing listens on port 1")
        } catch let error as StorageError {
            guard case .unavailable = error else { Issue.record("nothing listening is an outage (503), not a bug: \(error)"); return }
            #expect(error.description.contains("HeadBucket") && error.description.contains("127.0.0.1:1"), "\(error)")
            #expect(!error.description.contains("s3cr3t-value"))
        }
    }

    /// Issue 14 item 15: every retry is a debug line and a count by operation and code.
    @Test func retriesAreLoggedAndCounted() async throws {
        var configuration = Configuration()
        configuration.storage = .s3
        configuration.s3 = Configuration.S3Settings(endpoint: "http://127.0.0.1:1", region: "us-east-1", accessKey: "AKIAEXAMPLE", secretKey: "s3cr3t-value")
        configuration.bucket = "videos"
        let logs = LogSink.memory()
        let metrics = MetricsRegistry()
        ServiceMetrics.registerAll(in: metrics)
        let storage = try ServiceContext.makeStorage(configuration, logger: Logger(level: .debug, sink: logs), metrics: metrics)
        let s3 = try #require(storage as? S3Storage)
        defer { s3.client.shutdown() }
        await #expect(throws: StorageError.self) { _ = try await storage.head(key: "source/v/clip.mp4") }
        let retries = s3.client.configuration.retry.maxAttempts - 1
        #expect(retries > 0)
        let text = metrics.render()
        #expect(text.contains(#"vidd_s3_retries_total{code="connectionRefused",operation="HeadObject"} \#(retries)"#), "\(text)")
        let lines = logs.lines.filter { $0.contains("S3 request retried") }
        #expect(lines.count == retries && lines.allSatisfy { $0.contains("level=debug") && $0.contains("operation=HeadObject") && $0.contains("code=connectionRefused") })
        #expect(!lines.joined().contains("s3cr3t-value"))
    }

    @Test func builtFromTheServiceConfiguration() async throws {
        guard let settings = try S3TestServer.settings(), let admin = try S3TestServer.client() else { return }
        let bucket = try await S3TestServer.makeBucket(admin)
        var configuration = Configuration()
        configuration.storage = .s3
        configuration.s3 = settings
        configuration.bucket = bucket
        let storage = try ServiceContext.makeStorage(configuration)
        let s3 = try #require(storage as? S3Storage)
        #expect(s3.client.configuration.addressing == .path && s3.keyPrefix.isEmpty && s3.bucket == bucket)
        try await storage.checkReachable()
        _ = try await storage.put(key: "source/v/clip.mp4", chunks: AsyncChunks([[1, 2, 3]]), contentType: "video/mp4")
        #expect(try await admin.getObject(bucket: bucket, key: "source/v/clip.mp4") == [1, 2, 3])
        s3.client.shutdown()
        await S3TestServer.removeBucket(admin, bucket)
    }

    @Test func awsEndpointsUseVirtualHostedAddressing() throws {
        let aws = try S3Storage.clientConfiguration(.init(endpoint: "https://s3.eu-west-1.amazonaws.com", region: "eu-west-1", accessKey: "a", secretKey: "b"))
        #expect(aws.addressing == .virtualHosted && aws.secure && aws.host == "s3.eu-west-1.amazonaws.com" && aws.region == "eu-west-1")
        let minio = try S3Storage.clientConfiguration(.init(endpoint: "http://minio:9000", region: "us-east-1", accessKey: "a", secretKey: "b"))
        #expect(minio.addressing == .path && !minio.secure && minio.port == 9000)
        #expect(throws: StorageError.self) {
            _ = try S3Storage.clientConfiguration(.init(endpoint: "ftp://x", region: "us-east-1", accessKey: "a", secretKey: "b"))
        }
        var noSettings = Configuration()
        noSettings.storage = .s3
        #expect(throws: StorageError.self) { _ = try S3Storage(noSettings) }
    }

    @Test(arguments: [
        ("Sun, 29 Nov 2026 08:37:28 GMT", Int64(1_795_941_448)),
        ("2026-11-29T08:37:28.000Z", Int64(1_795_941_448)),
        ("2026-11-29T08:37:28Z", Int64(1_795_941_448)),
        ("Thu, 01 Jan 1970 00:00:00 GMT", Int64(0)),
        ("2000-02-29T23:59:59.999Z", Int64(951_868_799)),
    ])
    func timesFromS3AreParsed(_ text: String, _ seconds: Int64) {
        #expect(HTTPTime.parse(text) == seconds)
    }

    @Test func malformedTimesAreNil() {
        for text in ["", "yesterday", "2026-13-01T00:00:00Z", "Sun, 29 Foo 2026 08:37:28 GMT", "2026-11-29 08:37:28"] {
            #expect(HTTPTime.parse(text) == nil, "\(text)")
        }
    }
}
