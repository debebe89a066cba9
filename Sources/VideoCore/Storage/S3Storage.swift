#if canImport(Glibc)
import Glibc
#endif
import Reactor
import S3Lite

/// The S3 backend (AWS S3, MinIO, any S3-compatible server) over S3Lite.
///
/// Every key is checked by `ObjectKeys.validate`, as in `FileStorage`, then stored as
/// `keyPrefix + key` in `bucket` (the prefix is empty in production; tests use one per test so
/// they can share a bucket). Uploads are atomic the way S3 makes them: a single PutObject, or a
/// multipart upload that becomes visible only when completed and is aborted on any failure or
/// cancellation, so no half-written object and no orphaned parts remain. S3Lite retries
/// transient failures (backoff with full jitter); what still fails is mapped to `StorageError`
/// with the operation, key, HTTP status and S3 error code, never a secret.
public struct S3Storage: Storage {
    public let client: S3Client
    public let bucket: String
    /// Prepended to every key (empty, or ending in `/`).
    public let keyPrefix: String
    private let redactor: Redactor

    /// Uses `configuration.s3` (endpoint, region, keys) and `configuration.bucket`. Connects to
    /// nothing yet; `checkReachable()` proves the bucket and credentials work.
    /// `onRetry` sees each retry S3Lite makes (see `retryReporter`).
    public init(_ configuration: Configuration, onRetry: (@Sendable (S3RetryEvent) -> Void)? = nil) throws {
        guard let settings = configuration.s3 else {
            throw StorageError.backend("VIDD_STORAGE=s3 needs VIDD_S3_ACCESS_KEY and VIDD_S3_SECRET_KEY (no S3 settings were loaded)")
        }
        var clientConfiguration = try Self.clientConfiguration(settings)
        clientConfiguration.retryObserver = onRetry
        try self.init(client: S3Client(configuration: clientConfiguration), bucket: configuration.bucket)
    }

    /// Retries made visible: a debug line each (operation, code, status, attempt, delay, key) and
    /// `vidd_s3_retries_total{operation,code}`. Both labels come from bounded sets (S3 operations;
    /// S3 error codes and S3Lite's network failure names). Runs on the retrying task: cheap.
    public static func retryReporter(logger: Logger, metrics: MetricsRegistry) -> @Sendable (S3RetryEvent) -> Void {
        { event in
            metrics.increment(ServiceMetrics.s3Retries, labels: [("operation", event.operation), ("code", event.code)])
            logger.debug("S3 request retried", [
                "operation": event.operation, "code": event.code, "status": event.status.map(String.init) ?? "none",
                "attempt": String(event.attempt), "delay_ms": String(event.delay.wholeMilliseconds),
                "key": event.key ?? "",
            ])
        }
    }

    /// Over an existing client (tests tune part sizes and retries on it). `keyPrefix` namespaces
    /// every key: `""` or a valid key ending in `/`.
    public init(client: S3Client, bucket: String, keyPrefix: String = "") throws {
        if !keyPrefix.isEmpty {
            guard keyPrefix.hasSuffix("/") else {
                throw StorageError.invalidKey(.init(key: keyPrefix, reason: "a key prefix must end with /"))
            }
            do { try ObjectKeys.validate(String(keyPrefix.dropLast())) } catch { throw StorageError.invalidKey(error) }
        }
        self.client = client
        self.bucket = bucket
        self.keyPrefix = keyPrefix
        self.redactor = Redactor(secrets: [client.configuration.credentials.secretAccessKey,
                                           client.configuration.credentials.sessionToken].compactMap { $0 })
    }

    /// S3Lite's configuration for vidd's settings: AWS endpoints (`*.amazonaws.com`) use
    /// virtual-hosted addressing as AWS recommends; anything else (MinIO, moto, Ceph…) path style,
    /// which works without wildcard DNS.
    public static func clientConfiguration(_ settings: Configuration.S3Settings) throws -> S3Configuration {
        let credentials = S3Credentials(accessKeyID: settings.accessKey, secretAccessKey: settings.secretKey)
        do {
            var config = try S3Configuration(endpoint: settings.endpoint, region: settings.region, credentials: credentials)
            if config.host == "amazonaws.com" || config.host.hasSuffix(".amazonaws.com") {
                config.addressing = .virtualHosted
            }
            return config
        } catch {
            throw StorageError.backend("VIDD_S3_ENDPOINT: \(error)")
        }
    }

    // MARK: Storage

    // `modified` of a fresh upload is this machine's clock (S3 does not return Last-Modified on
    // PUT, and a HEAD per output would cost a round trip each); `head` and `list` report S3's.

    /// One aws-chunked PutObject below S3Lite's `multipartThreshold`, else a multipart upload
    /// with parts streamed from the file, several at once.
    public func put(key: String, fromFile path: String, contentType: String?) async throws -> ObjectInfo {
        let s3Key = try objectKey(key)
        do {
            let result = try await client.putObject(bucket: bucket, key: s3Key, file: path,
                                                    attributes: ObjectAttributes(contentType: contentType))
            return ObjectInfo(key: key, size: result.size, modified: Self.now(), contentType: contentType)
        } catch {
            throw mapError(error, operation: "PutObject", key: key)
        }
    }

    public func put<Chunks: AsyncSequence & Sendable>(key: String, chunks: Chunks, contentType: String?) async throws -> ObjectInfo
        where Chunks.Element == [UInt8] {
        let s3Key = try objectKey(key)
        do {
            // S3Lite gathers parts of `partSize` as chunks arrive (a short stream is one
            // PutObject), keeps at most `maxConcurrentParts` in flight (memory about partSize ×
            // (maxConcurrentParts + 1)), and aborts the multipart upload on any failure, including
            // the stream's own and cancellation.
            let result = try await client.putObject(bucket: bucket, key: s3Key, from: SourceTaggedChunks(base: chunks),
                                                    attributes: ObjectAttributes(contentType: contentType))
            return ObjectInfo(key: key, size: result.size, modified: Self.now(), contentType: contentType)
        } catch {
            // The caller learns of its own stream's failure (a client that disconnected) as it
            // threw it, once the upload is aborted; a failed abort is the storage's problem.
            switch error {
            case let failure as ChunkSourceFailure:
                throw failure.underlying
            case S3ClientError.multipartUploadFailed(_, _, let uploadID, let underlying, let aborted):
                if let failure = underlying as? ChunkSourceFailure {
                    if aborted { throw failure.underlying }
                    throw StorageError.backend(redactor.redact(
                        "S3 upload of \(describe(key)) was interrupted (\(failure.underlying)) and aborting multipart upload \(uploadID) failed: its parts may remain until the bucket's lifecycle rule removes them"))
                }
                throw mapError(error, operation: "PutObject", key: key)
            default:
                throw mapError(error, operation: "PutObject", key: key)
            }
        }
    }

    public func get(key: String, range: ClosedRange<Int64>?) async throws -> [UInt8] {
        let s3Key = try objectKey(key)
        guard let range else {
            do { return try await client.getObject(bucket: bucket, key: s3Key) } catch {
                throw mapError(error, operation: "GetObject", key: key)
            }
        }
        guard range.lowerBound >= 0 else { throw try await invalidRange(key: key, range: range) }
        let bytes: [UInt8]
        do {
            bytes = try await client.getObject(bucket: bucket, key: s3Key, range: .bounded(range.lowerBound, range.upperBound))
        } catch let e as S3Error where e.status == 416 {
            throw try await invalidRange(key: key, range: range)
        } catch {
            throw mapError(error, operation: "GetObject", key: key)
        }
        // S3 (like HTTP) answers a range running past the end with the bytes that exist; the
        // contract is the local backend's: the whole range or `invalidRange`.
        if Int64(bytes.count) != range.upperBound - range.lowerBound + 1 {
            throw try await invalidRange(key: key, range: range)
        }
        return bytes
    }

    public func head(key: String) async throws -> ObjectInfo? {
        let s3Key = try objectKey(key)
        do {
            let info = try await client.headObject(bucket: bucket, key: s3Key)
            return ObjectInfo(key: key, size: info.size, modified: info.lastModified.flatMap(HTTPTime.parse) ?? 0,
                              contentType: info.contentType)
        } catch let e as S3Error where e.status == 404 && e.code != "NoSuchBucket" {
            return nil
        } catch {
            throw mapError(error, operation: "HeadObject", key: key)
        }
    }

    @discardableResult
    public func delete(prefix: String) async throws -> Int {
        let objects = try await list(prefix: prefix)
        if objects.isEmpty { return 0 }
        let result: S3Client.DeleteObjectsResult
        do {
            // S3Lite sends batches of 1000 keys (DeleteObjects' limit).
            result = try await client.deleteObjects(bucket: bucket, keys: objects.map { keyPrefix + $0.key })
        } catch {
            throw mapError(error, operation: "DeleteObjects", key: prefix.isEmpty ? nil : prefix + "*")
        }
        if let first = result.errors.first {
            throw StorageError.backend(redactor.redact(
                "S3 DeleteObjects in bucket \(bucket): \(result.errors.count) of \(objects.count) objects under \"\(keyPrefix + prefix)\" not deleted; first: \(first.key): \(first.code) \(first.message)"))
        }
        return objects.count
    }

    @discardableResult
    public func abortUnfinishedUploads(prefix: String) async throws -> Int {
        try validatePrefix(prefix)
        let uploads: [MultipartUploadSummary]
        do {
            uploads = try await client.listMultipartUploads(bucket: bucket, prefix: keyPrefix + prefix)
        } catch {
            throw mapError(error, operation: "ListMultipartUploads", key: prefix.isEmpty ? nil : prefix + "*")
        }
        for upload in uploads {
            do {
                try await client.abortMultipartUpload(bucket: bucket, key: upload.key, uploadID: upload.uploadID)
            } catch let e as S3Error where e.code == "NoSuchUpload" {
                continue  // finished or aborted meanwhile
            } catch {
                throw mapError(error, operation: "AbortMultipartUpload", key: String(upload.key.dropFirst(keyPrefix.count)))
            }
        }
        return uploads.count
    }

    public func delete(key: String) async throws {
        let s3Key = try objectKey(key)
        do {
            try await client.deleteObject(bucket: bucket, key: s3Key)  // S3 answers 204 for a missing key too
        } catch {
            throw mapError(error, operation: "DeleteObject", key: key)
        }
    }

    public func list(prefix: String) async throws -> [ObjectInfo] {
        try validatePrefix(prefix)
        let summaries: [ObjectSummary]
        do {
            // Follows continuation tokens across pages (1000 keys each).
            summaries = try await client.listAllObjects(bucket: bucket, prefix: keyPrefix + prefix)
        } catch {
            throw mapError(error, operation: "ListObjectsV2", key: prefix.isEmpty ? nil : prefix + "*")
        }
        return summaries.compactMap { s -> ObjectInfo? in
            guard s.key.hasPrefix(keyPrefix) else { return nil }
            return ObjectInfo(key: String(s.key.dropFirst(keyPrefix.count)), size: s.size,
                              modified: s.lastModified.flatMap(HTTPTime.parse) ?? 0)
        }.sorted { $0.key < $1.key }
    }

    /// A presigned GET (the longest S3 allows is 7 days; `expiresIn` is clamped to 1 s…7 days and
    /// the value used is returned). A missing object is `notFound` here rather than a redirect
    /// to a 404 the client cannot explain.
    public func playableLocation(key: String, expiresIn: Duration) async throws -> PlayableLocation {
        let s3Key = try objectKey(key)
        guard try await head(key: key) != nil else { throw StorageError.notFound(key: key) }
        let seconds = Int(min(max(expiresIn.components.seconds, 1), 7 * 86_400))
        do {
            let url = try client.presignedURL(method: "GET", bucket: bucket, key: s3Key, expiresIn: seconds)
            return .redirect(url: url, expiresIn: .seconds(seconds))
        } catch {
            throw mapError(error, operation: "presign GET", key: key)
        }
    }

    /// HEAD on the bucket: proves the endpoint answers, the bucket exists and the keys are accepted.
    public func checkReachable() async throws {
        do {
            try await client.headBucket(bucket)
        } catch {
            throw mapError(error, operation: "HeadBucket", key: nil)
        }
    }

    // MARK: Internals

    /// The same check as the file backend, so a prefix is accepted by both or by neither.
    private func validatePrefix(_ prefix: String) throws(StorageError) {
        if let slash = prefix.lastIndex(of: "/") {
            do { try ObjectKeys.validate(String(prefix[..<slash])) } catch { throw StorageError.invalidKey(error) }
        }
    }

    func objectKey(_ key: String) throws(StorageError) -> String {
        do { try ObjectKeys.validate(key) } catch { throw .invalidKey(error) }
        return keyPrefix + key
    }

    private func invalidRange(key: String, range: ClosedRange<Int64>) async throws -> StorageError {
        guard let info = try await head(key: key) else { return .notFound(key: key) }
        return .invalidRange(key: key, size: info.size, requested: range)
    }

    private var endpoint: String {
        let c = client.configuration
        let defaultPort = c.secure ? 443 : 80
        let host = c.host.contains(":") ? "[\(c.host)]" : c.host
        return "\(c.secure ? "https" : "http")://\(host)\(c.port == defaultPort ? "" : ":\(c.port)")"
    }

    private func describe(_ key: String?) -> String {
        guard let key else { return "bucket \(bucket)" }
        return "\(bucket)/\(keyPrefix)\(key)"
    }

    /// The facts a person needs (operation, bucket/key, HTTP status, S3 code, request id, what to
    /// check) as a `StorageError`; not-found keys as `.notFound`; cancellation passes through.
    func mapError(_ error: any Error, operation: String, key: String?) -> any Error {
        switch error {
        case is StorageError, is CancellationError:
            return error
        case let e as S3Error:
            if e.status == 404, let key, e.code == "NoSuchKey" || e.code == "NotFound" {
                return StorageError.notFound(key: key)
            }
            var text = "S3 \(operation) \(describe(key)) at \(endpoint) failed: HTTP \(e.status) \(e.code)"
            if !e.message.isEmpty { text += ": \(e.message)" }
            if let id = e.requestID { text += " (request id \(id))" }
            if e.code == "NoSuchBucket" || (e.status == 404 && key == nil) {
                text += "; the bucket \(bucket) does not exist: create it or set VIDD_S3_BUCKET"
            } else if e.status == 403 || e.code == "InvalidAccessKeyId" || e.code == "SignatureDoesNotMatch" {
                text += "; the credentials were refused: check VIDD_S3_ACCESS_KEY and VIDD_S3_SECRET_KEY (and the bucket policy)"
            } else if e.status == 301 || e.code == "PermanentRedirect" || e.code == "AuthorizationHeaderMalformed" {
                text += "; the bucket is in another region: check VIDD_S3_REGION"
            }
            return RetryPolicy.isRetryable(e) ? StorageError.unavailable(redactor.redact(text)) : StorageError.backend(redactor.redact(text))
        case S3ClientError.fileIO(let path, let op, let code):
            return StorageError.io(operation: op, path: path, errno: code, message: String(cString: strerror(code)))
        case S3ClientError.multipartUploadFailed(_, _, let uploadID, let underlying, let aborted):
            let inner = mapError(underlying, operation: operation, key: key)
            if aborted, inner is StorageError || inner is CancellationError { return inner }
            let text = redactor.redact(
                "\(inner); " + (aborted ? "multipart upload \(uploadID) aborted" : "aborting multipart upload \(uploadID) failed too: its parts may remain"))
            if case StorageError.unavailable = inner { return StorageError.unavailable(text) }
            return StorageError.backend(text)
        default:
            let text = redactor.redact("S3 \(operation) \(describe(key)) at \(endpoint) failed: \(error)")
            return RetryPolicy.isRetryable(error) ? StorageError.unavailable(text) : StorageError.backend(text)
        }
    }

    private static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec)
    }
}

/// An error thrown by the caller's chunk sequence, marked so it can be told apart from S3's own
/// failures once S3Lite has aborted the upload.
struct ChunkSourceFailure: Error {
    var underlying: any Error
}

/// The caller's chunks, with their errors wrapped in `ChunkSourceFailure`.
struct SourceTaggedChunks<Base: AsyncSequence>: AsyncSequence where Base.Element == [UInt8] {
    typealias Element = [UInt8]
    let base: Base

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        mutating func next() async throws -> [UInt8]? {
            do { return try await base.next() } catch { throw ChunkSourceFailure(underlying: error) }
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator()) }
}

/// The two time formats S3 uses: `Last-Modified` (IMF-fixdate, `Sun, 29 Nov 2026 08:37:28 GMT`)
/// and listings (ISO 8601, `2026-11-29T08:37:28.000Z`). Seconds since 1970, or nil.
enum HTTPTime {
    static func parse(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from >= 0, from + count <= b.count else { return nil }
            var n = 0
            for c in b[from..<(from + count)] {
                guard c >= 48 && c <= 57 else { return nil }
                n = n * 10 + Int(c - 48)
            }
            return n
        }
        if b.count >= 20, b[4] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T") {
            guard let y = number(0, 4), let m = number(5, 2), let d = number(8, 2),
                  let hh = number(11, 2), let mm = number(14, 2), let ss = number(17, 2) else { return nil }
            return seconds(y, m, d, hh, mm, ss)
        }
        // "Sun, 29 Nov 2026 08:37:28 GMT"
        guard b.count == 29, let d = number(5, 2), let y = number(12, 4), let hh = number(17, 2),
              let mm = number(20, 2), let ss = number(23, 2) else { return nil }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard let m = months.firstIndex(of: String(decoding: b[8..<11], as: UTF8.self)) else { return nil }
        return seconds(y, m + 1, d, hh, mm, ss)
    }

    private static func seconds(_ y: Int, _ m: Int, _ d: Int, _ hh: Int, _ mm: Int, _ ss: Int) -> Int64? {
        guard (1...12).contains(m), (1...31).contains(d), hh < 24, mm < 60, ss <= 60 else { return nil }
        return Timestamp.days(year: Int64(y), month: Int64(m), day: Int64(d)) * 86_400 + Int64(hh * 3600 + mm * 60 + ss)
    }
}
