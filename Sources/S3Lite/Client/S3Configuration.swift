import Reactor

/// Where and how to reach an S3-compatible service.
public struct S3Configuration: Sendable {
    public enum AddressingStyle: Sendable, Hashable {
        /// `https://host/bucket/key` — MinIO, moto and most self-hosted servers.
        case path
        /// `https://bucket.host/key` — AWS's default (buckets with dots fall back to path style
        /// over TLS, since `*.s3.amazonaws.com` certificates do not cover them).
        case virtualHosted
    }

    public enum PayloadSigning: Sendable, Hashable {
        /// Every body's SHA-256 is signed. A file region is read once to hash it (before the
        /// first attempt) and again to send it, as botocore does over plain HTTP: nothing is
        /// buffered, and the server checks one digest instead of one signature per chunk.
        case signed
        /// Files go up aws-chunked (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`): one pass over the
        /// file, every `streamingChunkSize` chunk signed. In-memory bodies are hashed as with
        /// `.signed`. For servers that gain from not hashing the whole body first.
        case streaming
        /// `UNSIGNED-PAYLOAD` for every body (rely on TLS); saves hashing CPU.
        case unsigned
    }

    /// Optional end-to-end checksum on uploads; off by default because some S3-compatible
    /// servers reject the headers.
    public enum Checksum: Sendable, Hashable {
        case none
        /// `x-amz-checksum-sha256` on single-request uploads and parts held in memory.
        case sha256
    }

    public var secure: Bool
    public var host: String
    public var port: Int
    public var region: String
    public var credentials: S3Credentials
    public var addressing: AddressingStyle
    public var payloadSigning: PayloadSigning = .signed
    public var checksum: Checksum = .none
    /// nil = the system CA bundle with full verification (for https endpoints).
    public var tls: TLSConfiguration?
    public var retry = RetryPolicy()
    /// Called before each retry with what failed and the delay before the next attempt (e.g. to
    /// log it and count it in metrics). Runs on the task making the request: it must not block.
    public var retryObserver: (@Sendable (S3RetryEvent) -> Void)?
    public var connectTimeout: Duration = .seconds(10)
    /// Longest wait for any single read or write (not the whole request).
    public var ioTimeout: Duration = .seconds(60)
    /// Idle keep-alive connections kept per host.
    public var maxIdleConnectionsPerHost = 16
    /// Bodies at least this large are sent with `Expect: 100-continue`, so a rejected request
    /// (bad signature, missing bucket) costs no upload.
    public var expectContinueThreshold = 1024 * 1024
    /// Objects at least this large are uploaded with multipart.
    public var multipartThreshold = 16 * 1024 * 1024
    /// Preferred part size (grown for very large objects to stay ≤ 10 000 parts).
    public var partSize = 8 * 1024 * 1024
    /// Parts uploaded at once from a stream; memory is about partSize × (this + 1).
    public var maxConcurrentParts = 4
    /// Parts uploaded at once from a file: they stream from the file a chunk at a time, so each
    /// costs a chunk of memory, not a part, and more of them can be in flight.
    public var maxConcurrentFileParts = 8
    /// How much of a file is read (and, with `.streaming`, signed) at a time when sending it.
    public var streamingChunkSize = 256 * 1024

    /// A custom endpoint such as MinIO (`http://127.0.0.1:9000`), path-style by default.
    public init(endpoint: String, region: String = "us-east-1", credentials: S3Credentials,
                addressing: AddressingStyle = .path) throws(S3ClientError) {
        let (secure, host, port) = try Self.parse(endpoint)
        self.secure = secure
        self.host = host
        self.port = port
        self.region = region
        self.credentials = credentials
        self.addressing = addressing
    }

    /// AWS S3 in `region` (`https://s3.<region>.amazonaws.com`), virtual-hosted style.
    public static func aws(region: String, credentials: S3Credentials) -> S3Configuration {
        // The literal endpoint always parses.
        try! S3Configuration(endpoint: "https://s3.\(region).amazonaws.com", region: region,
                             credentials: credentials, addressing: .virtualHosted)
    }

    static func parse(_ endpoint: String) throws(S3ClientError) -> (Bool, String, Int) {
        var rest = Substring(endpoint)
        let secure: Bool
        if rest.hasPrefix("https://") { secure = true; rest = rest.dropFirst(8) }
        else if rest.hasPrefix("http://") { secure = false; rest = rest.dropFirst(7) }
        else { throw .invalidEndpoint("\(endpoint): expected http:// or https://") }
        while rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.isEmpty, !rest.contains("/"), !rest.contains("@") else {
            throw .invalidEndpoint("\(endpoint): expected scheme://host[:port] without a path")
        }
        var host = String(rest)
        var port = secure ? 443 : 80
        if host.hasPrefix("[") {  // [IPv6]:port
            guard let close = host.firstIndex(of: "]") else { throw .invalidEndpoint(endpoint) }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { throw .invalidEndpoint(endpoint) }
                port = p
            }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":") {
            guard let p = Int(host[host.index(after: colon)...]), (1...65535).contains(p) else { throw .invalidEndpoint(endpoint) }
            port = p
            host = String(host[..<colon])
        }
        return (secure, host.lowercased(), port)
    }

    /// Host to connect to and request path for `bucket` and `key` (the service root without a
    /// bucket, the bucket without a key). Names must have passed `S3Request.validate`.
    func address(bucket: String?, key: String?) -> (host: String, path: String) {
        let (host, prefix) = location(bucket: bucket)
        if let key { return (host, prefix + "/" + key) }
        return (host, prefix.isEmpty ? "/" : prefix)
    }

    /// Host to connect to and path prefix for `bucket`.
    func location(bucket: String?) -> (host: String, pathPrefix: String) {
        guard let bucket else { return (host, "") }
        switch addressing {
        case .path:
            return (host, "/" + bucket)
        case .virtualHosted:
            let dnsSafe = bucket.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || (!secure && $0 == 46) }
            return dnsSafe ? ("\(bucket).\(host)", "") : (host, "/" + bucket)
        }
    }
}
