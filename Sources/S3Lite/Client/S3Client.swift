import Reactor

/// An S3 client: SigV4-signed requests over keep-alive HTTP/1.1 connections on the reactor,
/// with retries (exponential backoff, full jitter) for transient failures.
///
/// Operations live in extensions (`S3Client+Buckets`, `+Objects`, `+List`, `+Multipart`,
/// `+Presign`). Call `shutdown()` when done to close pooled connections.
public final class S3Client: Sendable {
    public let configuration: S3Configuration
    let signer: SigV4Signer
    let pool: ConnectionPool

    public init(configuration: S3Configuration) {
        self.configuration = configuration
        self.signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region)
        self.pool = ConnectionPool(maxIdlePerKey: configuration.maxIdleConnectionsPerHost, tls: configuration.tls,
                                   connectTimeout: configuration.connectTimeout, ioTimeout: configuration.ioTimeout)
    }

    deinit { pool.shutdown() }

    /// Closes idle connections; requests in flight finish on their own connections.
    public func shutdown() { pool.shutdown() }

    static let userAgent = "vidd-S3Lite/1"

    // MARK: Execution with retries

    /// Runs `request`, retrying transient failures, and hands a successful (2xx) response to
    /// `handle`. Errors answered by the service are thrown as `S3Error`. A failure after `handle`
    /// started is retried only when `restartable` (the handler can start over, e.g. it collects).
    func execute<R: Sendable>(
        _ request: S3Request, restartable: Bool = true,
        _ handle: (HTTPResponseHead, S3ResponseBody) async throws -> R
    ) async throws -> R {
        var request = request
        try request.validate()  // before anything is hashed, signed or sent
        if let (sourceBucket, sourceKey) = request.copySource {
            request.headers.set("x-amz-copy-source", URIEncoding.encodePath("/\(sourceBucket)/\(sourceKey)"))
        }
        let policy = configuration.retry
        var attempt = 0
        switch (request.payload, configuration.payloadSigning) {  // digests once, not per attempt
        case (.bytes(let bytes, nil), .signed), (.bytes(let bytes, nil), .streaming):
            request.payload = .bytes(bytes, sha256: Crypto.sha256(bytes))
        case (.file(let file, let offset, let length, nil), .signed):
            // On the global executor: hashing a part takes milliseconds, which the event loop
            // spends on the other transfers meanwhile.
            let chunkSize = configuration.streamingChunkSize
            let digest = try await withTaskExecutorPreference(globalConcurrentExecutor) {
                try await Self.sha256(of: file, offset: offset, length: length, chunkSize: chunkSize)
            }
            request.payload = .file(file, offset: offset, length: length, sha256: digest)
        default:
            break
        }
        var staleRetries = 0
        while true {
            attempt += 1
            var handlerStarted = false
            do {
                return try await withTaskExecutorPreference(EventLoop.shared) {
                    try await attemptOnce(request) { head, body in
                        handlerStarted = true
                        return try await handle(head, body)
                    }
                }
            } catch let stale as StaleConnection where staleRetries <= configuration.maxIdleConnectionsPerHost {
                // A pooled connection the server had closed while idle: not a failure of the
                // request, so try again at once on another connection without using an attempt.
                staleRetries += 1
                attempt -= 1
                report(request, attempt: attempt + 1, error: stale.underlying, code: "StaleConnection", delay: .zero)
            } catch {
                if error is CancellationError { throw error }
                let error = (error as? StaleConnection)?.underlying ?? error
                let retry = attempt < policy.maxAttempts && RetryPolicy.isRetryable(error) && (!handlerStarted || restartable)
                if !retry { throw error }
                let delay = policy.delay(beforeRetry: attempt, unitRandom: Double.random(in: 0..<1))
                report(request, attempt: attempt, error: error, code: S3RetryEvent.code(of: error), delay: delay)
                try await EventLoop.shared.sleep(for: delay)
            }
        }
    }

    private func report(_ request: S3Request, attempt: Int, error: any Error, code: String, delay: Duration) {
        guard let observer = configuration.retryObserver else { return }
        observer(S3RetryEvent(operation: request.operation, bucket: request.bucket, key: request.key, attempt: attempt,
                              status: (error as? S3Error)?.status, code: code, error: error, delay: delay))
    }

    private func attemptOnce<R: Sendable>(
        _ request: S3Request, _ handle: (HTTPResponseHead, S3ResponseBody) async throws -> R
    ) async throws -> R {
        let (host, path) = configuration.address(bucket: request.bucket, key: request.key)
        var headers = request.headers
        let length = request.payload.length
        let payloadHash: PayloadHash
        var chunked = false
        switch request.payload {
        case .empty:
            payloadHash = .empty
        case .bytes(_, let digest):
            payloadHash = digest.map { .sha256($0) } ?? .unsigned
        case .file(_, _, _, let digest):
            if let digest {
                payloadHash = .sha256(digest)
            } else if length == 0 {
                // Nothing to sign in chunks. (Ceph RGW 16 refuses an aws-chunked body that is only
                // the final chunk with XAmzContentSHA256Mismatch; moto and AWS accept it.)
                payloadHash = .empty
            } else if configuration.payloadSigning == .streaming {
                payloadHash = .streaming
                chunked = true
            } else {
                payloadHash = .unsigned
            }
        }
        if chunked {
            headers.set("Content-Encoding", "aws-chunked")
            headers.set("x-amz-decoded-content-length", String(length))
            headers.set("Content-Length", String(AWSChunkedSigner.encodedLength(
                payloadLength: Int(length), chunkSize: configuration.streamingChunkSize)))
        } else if length > 0 || request.method == "PUT" || request.method == "POST" {
            headers.set("Content-Length", String(length))
        }
        let hostHeader = SignableRequest.hostHeader(host: host, port: configuration.port, secure: configuration.secure)
        let signable = SignableRequest(method: request.method, host: hostHeader, path: path, query: request.query,
                                       headers: headers.map { ($0.name, $0.value) })
        let signed = try signer.sign(signable, payload: payloadHash, date: .now())
        var wire = HTTPHeaders(signed.headers.map { ($0.name, $0.value) })
        wire.add("User-Agent", Self.userAgent)
        let expectContinue = length >= configuration.expectContinueThreshold
        if expectContinue { wire.add("Expect", "100-continue") }
        let head = try HTTPRequestHead(method: request.method, target: signed.target, headers: wire).encode()

        var earlyHead: HTTPResponseHead?
        let connection = try await pool.acquire(.init(host: host, port: configuration.port, secure: configuration.secure))
        var released = false
        defer { if !released { connection.close() } }
        connection.beginResponse(toMethod: request.method)
        do {
            try await sendRequest(request, head: head, expectContinue: expectContinue, chunked: chunked ? signed : nil,
                                  on: connection, earlyHead: &earlyHead)
        } catch let e as NetworkError where connection.requestCount > 1 && (e == .endOfStream || e == .connectionReset) {
            throw StaleConnection(underlying: e)
        }

        var responseHead = earlyHead
        do {
            while responseHead == nil {
                guard let part = try await connection.nextPart() else { continue }
                guard case .head(let h) = part else { throw HTTPMessageError.unexpectedData }
                if !h.isInformational { responseHead = h }
            }
        } catch let e as NetworkError where connection.requestCount > 1 && request.method != "POST" && (e == .endOfStream || e == .connectionReset) {
            // The request was sent whole: only a request safe to repeat is sent again without
            // using an attempt. A POST (CreateMultipartUpload, CompleteMultipartUpload, DeleteObjects)
            // may have been acted on; the retry policy decides about it like any failure.
            throw StaleConnection(underlying: e)
        }
        let response = responseHead!
        let body = S3ResponseBody(connection: connection)
        if response.status >= 300 {
            let bytes = (try? await body.collect(limit: 1024 * 1024)) ?? []
            released = true
            pool.release(connection)
            throw S3Error.decode(status: response.status, body: bytes, headers: response.headers,
                                 operation: request.operation, bucket: request.bucket, key: request.key)
        }
        let result = try await handle(response, body)
        if !body.finished {
            // Drain a small remainder to keep the connection; otherwise drop it.
            var drained = 0
            while drained < 256 * 1024, let chunk = try await body.next() { drained += chunk.count }
            if !body.finished { connection.reusable = false }
        }
        released = true
        pool.release(connection)
        return result
    }

    /// Writes the head and body; with `Expect: 100-continue` a final answer before the body is
    /// returned in `earlyHead` (and the body is not sent).
    private func sendRequest(_ request: S3Request, head: [UInt8], expectContinue: Bool, chunked: SignedRequest?,
                             on connection: HTTPClientConnection, earlyHead: inout HTTPResponseHead?) async throws {
        switch request.payload {
        case .empty:
            try await connection.write(head)
        case .bytes(let bytes, _) where !expectContinue:
            try await connection.write(head + bytes)
        default:
            try await connection.write(head)
            if expectContinue {
                // Wait briefly for 100 Continue; a final answer means the body is not wanted.
                if case .head(let h)? = try await connection.nextPart(waitAtMost: .seconds(1)), !h.isInformational {
                    earlyHead = h
                    connection.reusable = false  // the server may still be waiting for a body we will not send
                }
            }
            if earlyHead == nil {
                try await sendBody(request.payload, on: connection, signed: chunked)
            }
        }
    }

    private func sendBody(_ payload: RequestPayload, on connection: HTTPClientConnection, signed: SignedRequest?) async throws {
        switch payload {
        case .empty:
            return
        case .bytes(let bytes, _):
            try await connection.write(bytes)
        case .file(let file, let offset, let length, _):
            let chunkSize = configuration.streamingChunkSize
            var chunkSigner = signed.map { signer.chunkSigner(for: $0) }
            var sent: Int64 = 0
            var frame = [UInt8]()
            frame.reserveCapacity(chunkSize + 128)
            while sent < length {
                let n = Int(min(Int64(chunkSize), length - sent))
                frame.removeAll(keepingCapacity: true)
                if chunkSigner != nil {
                    var data = [UInt8]()
                    try file.read(at: offset + sent, count: n, into: &data)
                    frame += chunkSigner!.chunkHeader(for: data)
                    frame += data
                    frame += [0x0d, 0x0a]
                } else {
                    try file.read(at: offset + sent, count: n, into: &frame)
                }
                try await connection.write(frame)
                sent += Int64(n)
            }
            if chunkSigner != nil {
                try await connection.write(chunkSigner!.chunkHeader(for: [UInt8]()) + [0x0d, 0x0a])
            }
        }
    }
}

extension S3Client {
    /// SHA-256 of a file region, read `chunkSize` at a time; other tasks get the thread between
    /// chunks.
    static func sha256(of file: FileHandle, offset: Int64, length: Int64, chunkSize: Int) async throws -> [UInt8] {
        var hasher = Crypto.SHA256()
        var chunk = [UInt8]()
        chunk.reserveCapacity(chunkSize)
        var done: Int64 = 0
        while done < length {
            let n = Int(min(Int64(chunkSize), length - done))
            chunk.removeAll(keepingCapacity: true)
            try file.read(at: offset + done, count: n, into: &chunk)
            hasher.update(chunk)
            done += Int64(n)
            await Task.yield()
        }
        return hasher.finalize()
    }
}

/// A reused keep-alive connection turned out to be closed by the server before it answered.
struct StaleConnection: Error {
    var underlying: NetworkError
}
