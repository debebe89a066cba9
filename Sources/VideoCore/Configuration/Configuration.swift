import PGWire
import RESP

/// Everything vidd reads from its environment, validated once at start.
///
/// Variables (defaults in brackets):
/// VIDD_LISTEN [127.0.0.1:8080], VIDD_REDIS_URL [redis://127.0.0.1:6379], VIDD_DATABASE_URL
/// [postgres://vidd@127.0.0.1:5432/vidd], VIDD_STORAGE [file:///var/lib/vidd/storage] (`s3` or
/// `file:///path`), VIDD_S3_ENDPOINT [https://s3.{region}.amazonaws.com], VIDD_S3_REGION [us-east-1],
/// VIDD_S3_ACCESS_KEY, VIDD_S3_SECRET_KEY, VIDD_S3_BUCKET [videos], VIDD_API_TOKENS (comma-separated),
/// VIDD_WORKER_CONCURRENCY [1], VIDD_LEASE_SECONDS [60], VIDD_MAX_ATTEMPTS [3], VIDD_X264_PRESET
/// [veryfast], VIDD_SHUTDOWN_GRACE_SECONDS [30], VIDD_STREAM_MAXLEN [100000], VIDD_PROGRESS_TTL_SECONDS
/// [86400], VIDD_JOB_STREAM [video:jobs], VIDD_JOB_GROUP [video-workers], VIDD_DEAD_LETTER_STREAM
/// [video:jobs:dead], VIDD_PROGRESS_KEY_PREFIX [progress:], VIDD_PROGRESS_CHANNEL_PREFIX
/// [video:progress:], VIDD_PROGRESS_ALL_CHANNEL [video:progress:all], VIDD_LOG_FORMAT [logfmt|json],
/// VIDD_LOG_LEVEL [info], VIDD_MAX_UPLOAD_BYTES [20 GiB], VIDD_BODY_TIMEOUT_SECONDS [30], VIDD_HTTP_EVENT_LOOPS [1],
/// VIDD_SOURCE_PREFIXES [source/], VIDD_WORK_DIR [$TMPDIR, else /tmp], VIDD_TUS_MAX_SIZE
/// [68719476736], VIDD_TUS_EXPIRY_SECONDS [86400], VIDD_TUS_PART_SIZE_MIB [8],
/// VIDD_HEALTH_LISTEN [none] (`vidd worker` only),
/// VIDD_INGEST_ALLOW, VIDD_INGEST_MAX_BYTES [VIDD_MAX_UPLOAD_BYTES], VIDD_INGEST_TIMEOUT_SECONDS
/// [3600], VIDD_INGEST_STALL_SECONDS [30], VIDD_INGEST_CA_FILE, VIDD_RATE_LIMIT_SUBMIT, VIDD_RATE_LIMIT_READ
/// (N/s, N/min, N/h), VIDD_TRUSTED_PROXIES, VIDD_RATE_LIMIT_KEY_PREFIX [vidd:ratelimit:].
public struct Configuration: Sendable, Equatable {
    public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    public enum StorageBackend: Sendable, Equatable {
        case s3
        case file(directory: String)
    }

    public struct S3Settings: Sendable, Equatable {
        public var endpoint: String
        public var region: String
        public var accessKey: String
        public var secretKey: String
    }

    /// Redis names; the defaults are the contract users' scripts and dashboards rely on.
    public struct KeyNames: Sendable, Equatable {
        public var jobStream = "video:jobs"
        public var consumerGroup = "video-workers"
        public var deadLetterStream = "video:jobs:dead"
        public var progressKeyPrefix = "progress:"
        public var progressChannelPrefix = "video:progress:"
        public var progressAllChannel = "video:progress:all"
        public init() {}
        public func progressKey(_ videoID: String) -> String { progressKeyPrefix + videoID }
        public func progressChannel(_ videoID: String) -> String { progressChannelPrefix + videoID }
        /// A video's capped event history (`Last-Event-ID`), beside its snapshot key.
        public func progressHistory(_ videoID: String) -> String { progressKeyPrefix + videoID + ":events" }
        /// The feed's (`GET /progress`) capped event history, named after its channel.
        public var progressFeed: String { progressAllChannel + ":events" }
    }

    public var listen = ListenAddress(host: "127.0.0.1", port: 8080)
    /// Where a worker-only process (`vidd worker`) answers `/healthz`, `/readyz` and `/metrics`
    /// (a Kubernetes liveness probe, a Prometheus scrape); nil: it does not listen. `serve` and
    /// `all` answer them on `listen`.
    public var healthListen: ListenAddress?
    public var redisURL = "redis://127.0.0.1:6379"
    public var databaseURL = "postgres://vidd@127.0.0.1:5432/vidd"
    public var storage = StorageBackend.file(directory: "/var/lib/vidd/storage")
    /// Present when `storage == .s3`.
    public var s3: S3Settings?
    public var bucket = "videos"
    public var apiTokens: [String] = []
    public var workerConcurrency = 1
    public var lease = Duration.seconds(60)
    public var maxAttempts = 3
    public var x264Preset = "veryfast"
    public var shutdownGrace = Duration.seconds(30)
    public var streamMaxLength = 100_000
    public var progressTTL = Duration.seconds(86_400)
    public var keys = KeyNames()
    public var logFormat = LogFormat.logfmt
    public var logLevel = LogLevel.info
    /// The largest request body `POST /jobs` accepts (413 beyond, before `100 Continue`).
    public var maxUploadBytes: Int64 = 20 << 30
    /// How long a request body may send nothing while vidd waits for it (408 and a close after).
    public var bodyTimeout = Duration.seconds(30)
    /// Event loops the API's HTTP server spreads its connections over (the first is the one the
    /// Redis, PostgreSQL and S3 clients run on; see docs/httpserver.md, "More than one loop").
    public var httpEventLoops = 1
    /// Key prefixes a JSON submission's `source_key` may name (uploads are stored under `source/`).
    public var sourcePrefixes = [ObjectKeys.sourcePrefix]
    /// Where a worker makes its per-job work directories (local disk; swept of dead workers' ones).
    public var workDirectory = "/tmp"
    /// tus uploads (`/uploads`): largest upload (`Tus-Max-Size`), how long an unfinished one
    /// lives without a write, and the preferred S3 part size.
    public var tusMaxSize: Int64 = 64 << 30
    public var tusExpiry = Duration.seconds(86_400)
    public var tusPartSize = 8 << 20
    /// URL ingest (`POST /jobs {"source_url"}`) and every other request to a user-given URL.
    public var ingest = IngestSettings()
    /// Per API token (or client address), shared by every API instance through Redis; nil: no limit.
    public var rateLimitSubmit: RateLimitRule?
    public var rateLimitRead: RateLimitRule?
    /// Proxies whose `X-Forwarded-For` is believed (the client address is the right-most one
    /// not in these blocks).
    public var trustedProxies: [IPNetwork] = []
    public var rateLimitKeyPrefix = "vidd:ratelimit:"
    /// Events kept for SSE clients that reconnect with `Last-Event-ID`.
    public var progressHistory = ProgressHistoryLimits()
    /// Private playback: keys of signed media URLs and how long a URL handed out lives.
    public var mediaSigning = MediaSigningSettings()
    /// Webhook deliveries: attempts at once per process, and how long one may take.
    public var webhooks = WebhookSettings()

    public init() {}

    public struct IngestSettings: Sendable, Equatable {
        /// `VIDD_INGEST_ALLOW`: what the SSRF guard lets through.
        public var allowList = OutboundAllowList()
        /// A larger source stops at this many bytes and stores nothing.
        public var maxBytes: Int64 = 20 << 30
        /// The whole fetch, redirects and body included.
        public var timeout = Duration.seconds(3600)
        /// Longest wait for any byte.
        public var stallTimeout = Duration.seconds(30)
        /// PEM CA bundle trusted for https sources instead of the system store.
        public var caFile: String?
        public init() {}

        public var policy: OutboundPolicy { OutboundPolicy(allowList: allowList) }
    }

    public static let x264Presets = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"]

    /// Every value that must never be printed: URL passwords, the S3 secret key, API tokens.
    public var secrets: [String] {
        var out = apiTokens + mediaSigning.keys
        if let s3 { out.append(s3.secretKey) }
        for url in [redisURL, databaseURL] {
            if let password = Self.urlPassword(url) { out.append(password) }
            out += Self.urlParameterPasswords(url)
        }
        return out
    }

    public var redactor: Redactor { Redactor(secrets: secrets) }

    /// Reads `environment` (the process environment over an EnvironmentFile's values, see `merged`).
    /// Collects every problem rather than stopping at the first, so one start shows them all.
    public static func load(from environment: [String: String]) throws(ConfigurationError) -> Configuration {
        var reader = Reader(environment: environment)
        var c = Configuration()
        c.listen = reader.value("VIDD_LISTEN", default: c.listen, parse: parseListen)
        c.healthListen = reader.value("VIDD_HEALTH_LISTEN", default: nil, parse: parseListen)
        c.redisURL = reader.value("VIDD_REDIS_URL", default: c.redisURL) { try checkRedisURL($0) }
        c.databaseURL = reader.value("VIDD_DATABASE_URL", default: c.databaseURL) { try checkDatabaseURL($0) }
        c.storage = reader.value("VIDD_STORAGE", default: c.storage, parse: parseStorage)
        c.bucket = reader.value("VIDD_S3_BUCKET", default: c.bucket, parse: parseBucket)
        if c.storage == .s3 {
            let region = reader.value("VIDD_S3_REGION", default: "us-east-1") { v throws(ValueError) in
                guard !v.isEmpty, v.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else { throw ValueError("must look like us-east-1") }
                return v
            }
            let endpoint = reader.value("VIDD_S3_ENDPOINT", default: "https://s3.\(region).amazonaws.com") { try checkURL($0, schemes: ["http", "https"]) }
            let access = reader.required("VIDD_S3_ACCESS_KEY", because: "VIDD_STORAGE=s3")
            let secret = reader.required("VIDD_S3_SECRET_KEY", because: "VIDD_STORAGE=s3", secret: true)
            c.s3 = S3Settings(endpoint: endpoint, region: region, accessKey: access ?? "", secretKey: secret ?? "")
        }
        c.apiTokens = reader.value("VIDD_API_TOKENS", default: [], secret: true) { v throws(ValueError) in
            let tokens = v.split(separator: ",").map { String($0).trimmingBlanks() }.filter { !$0.isEmpty }
            if let short = tokens.first(where: { $0.count < 16 }) {
                throw ValueError("every token must be at least 16 characters (one has \(short.count))")
            }
            return tokens
        }
        c.workerConcurrency = reader.value("VIDD_WORKER_CONCURRENCY", default: 1) { try parseInt($0, in: 1...64) }
        c.lease = reader.value("VIDD_LEASE_SECONDS", default: c.lease) { .seconds(try parseInt($0, in: 5...86_400)) }
        c.maxAttempts = reader.value("VIDD_MAX_ATTEMPTS", default: 3) { try parseInt($0, in: 1...100) }
        c.x264Preset = reader.value("VIDD_X264_PRESET", default: c.x264Preset) { v throws(ValueError) in
            guard x264Presets.contains(v) else { throw ValueError("must be one of \(x264Presets.joined(separator: ", "))") }
            return v
        }
        c.shutdownGrace = reader.value("VIDD_SHUTDOWN_GRACE_SECONDS", default: c.shutdownGrace) { .seconds(try parseInt($0, in: 0...3600)) }
        c.streamMaxLength = reader.value("VIDD_STREAM_MAXLEN", default: c.streamMaxLength) { try parseInt($0, in: 100...100_000_000) }
        c.progressTTL = reader.value("VIDD_PROGRESS_TTL_SECONDS", default: c.progressTTL) { .seconds(try parseInt($0, in: 60...31_536_000)) }
        c.keys.jobStream = reader.value("VIDD_JOB_STREAM", default: c.keys.jobStream, parse: parseRedisName)
        c.keys.consumerGroup = reader.value("VIDD_JOB_GROUP", default: c.keys.consumerGroup, parse: parseRedisName)
        c.keys.deadLetterStream = reader.value("VIDD_DEAD_LETTER_STREAM", default: c.keys.deadLetterStream, parse: parseRedisName)
        c.keys.progressKeyPrefix = reader.value("VIDD_PROGRESS_KEY_PREFIX", default: c.keys.progressKeyPrefix, parse: parseRedisName)
        c.keys.progressChannelPrefix = reader.value("VIDD_PROGRESS_CHANNEL_PREFIX", default: c.keys.progressChannelPrefix, parse: parseRedisName)
        c.keys.progressAllChannel = reader.value("VIDD_PROGRESS_ALL_CHANNEL", default: c.keys.progressAllChannel, parse: parseRedisName)
        if c.keys.deadLetterStream == c.keys.jobStream {
            reader.problems.append(.init(variable: "VIDD_DEAD_LETTER_STREAM", value: c.keys.deadLetterStream, message: "must differ from VIDD_JOB_STREAM"))
        }
        c.logFormat = reader.value("VIDD_LOG_FORMAT", default: c.logFormat) { v throws(ValueError) in
            guard let f = LogFormat(rawValue: v) else { throw ValueError("must be logfmt or json") }
            return f
        }
        c.logLevel = reader.value("VIDD_LOG_LEVEL", default: c.logLevel) { v throws(ValueError) in
            guard let l = LogLevel(rawValue: v) else { throw ValueError("must be one of \(LogLevel.allCases.map(\.rawValue).joined(separator: ", "))") }
            return l
        }
        c.maxUploadBytes = reader.value("VIDD_MAX_UPLOAD_BYTES", default: c.maxUploadBytes) { v throws(ValueError) in
            Int64(try parseInt(v, in: 1 << 20 ... 1 << 50))
        }
        c.bodyTimeout = reader.value("VIDD_BODY_TIMEOUT_SECONDS", default: c.bodyTimeout) { .seconds(try parseInt($0, in: 1...3600)) }
        c.httpEventLoops = reader.value("VIDD_HTTP_EVENT_LOOPS", default: c.httpEventLoops) { try parseInt($0, in: 1...64) }
        c.sourcePrefixes = reader.value("VIDD_SOURCE_PREFIXES", default: c.sourcePrefixes, parse: parseSourcePrefixes)
        // $TMPDIR by default, as for any program's temporary files.
        let tmpdir = environment["TMPDIR"].map { $0.trimmingBlanks() }.flatMap { $0.hasPrefix("/") ? $0 : nil }
        c.workDirectory = reader.value("VIDD_WORK_DIR", default: tmpdir.map(Self.trimmedPath) ?? c.workDirectory) { v throws(ValueError) in
            guard v.hasPrefix("/"), !v.split(separator: "/").contains("..") else { throw ValueError("must be an absolute path without ..") }
            return trimmedPath(v)
        }
        c.tusMaxSize = reader.value("VIDD_TUS_MAX_SIZE", default: c.tusMaxSize) { v throws(ValueError) in
            // S3's largest object is 5 TiB.
            Int64(try parseInt(v, in: 1...(5 << 40)))
        }
        c.tusExpiry = reader.value("VIDD_TUS_EXPIRY_SECONDS", default: c.tusExpiry) { .seconds(try parseInt($0, in: 1...2_592_000)) }
        c.tusPartSize = reader.value("VIDD_TUS_PART_SIZE_MIB", default: c.tusPartSize) { try parseInt($0, in: 5...5120) << 20 }
        c.ingest.allowList = reader.value("VIDD_INGEST_ALLOW", default: c.ingest.allowList) { v throws(ValueError) in
            do { return try OutboundAllowList(parsing: v) } catch { throw ValueError("\(error)") }
        }
        c.ingest.maxBytes = reader.value("VIDD_INGEST_MAX_BYTES", default: c.maxUploadBytes) { v throws(ValueError) in
            guard let n = Int64(v), n >= 1 else { throw ValueError("must be a positive number of bytes") }
            return n
        }
        c.ingest.timeout = reader.value("VIDD_INGEST_TIMEOUT_SECONDS", default: c.ingest.timeout) { .seconds(try parseInt($0, in: 1...604_800)) }
        c.ingest.stallTimeout = reader.value("VIDD_INGEST_STALL_SECONDS", default: c.ingest.stallTimeout) { .seconds(try parseInt($0, in: 1...3600)) }
        c.ingest.caFile = reader.value("VIDD_INGEST_CA_FILE", default: nil) { v throws(ValueError) -> String? in
            guard v.hasPrefix("/") else { throw ValueError("must be an absolute path to a PEM file") }
            return v
        }
        c.rateLimitSubmit = reader.value("VIDD_RATE_LIMIT_SUBMIT", default: nil) { v throws(ValueError) -> RateLimitRule? in try RateLimitRule(parsing: v) }
        c.rateLimitRead = reader.value("VIDD_RATE_LIMIT_READ", default: nil) { v throws(ValueError) -> RateLimitRule? in try RateLimitRule(parsing: v) }
        c.trustedProxies = reader.value("VIDD_TRUSTED_PROXIES", default: []) { v throws(ValueError) in
            try v.split(separator: ",").map { String($0).trimmingBlanks() }.filter { !$0.isEmpty }.map { (entry: String) throws(ValueError) -> IPNetwork in
                guard let network = IPNetwork(cidr: entry) else { throw ValueError("\(entry) is not an address block like 10.0.0.0/8 or fd00::/8") }
                return network
            }
        }
        c.rateLimitKeyPrefix = reader.value("VIDD_RATE_LIMIT_KEY_PREFIX", default: c.rateLimitKeyPrefix, parse: parseRedisName)
        c.progressHistory.perVideo = reader.value("VIDD_PROGRESS_HISTORY", default: c.progressHistory.perVideo) { try parseInt($0, in: 10...100_000) }
        c.progressHistory.feed = reader.value("VIDD_PROGRESS_FEED_HISTORY", default: c.progressHistory.feed) { try parseInt($0, in: 10...10_000_000) }
        c.mediaSigning.keys = reader.value("VIDD_SIGNING_KEYS", default: [], secret: true) { v throws(ValueError) in
            let keys = v.split(separator: ",").map { String($0).trimmingBlanks() }.filter { !$0.isEmpty }
            if let short = keys.first(where: { $0.utf8.count < MediaSigningSettings.minimumKeyLength }) {
                throw ValueError("every key must be at least \(MediaSigningSettings.minimumKeyLength) characters (one has \(short.utf8.count)); e.g. openssl rand -base64 32")
            }
            return keys
        }
        c.mediaSigning.urlLifetime = reader.value("VIDD_SIGNED_URL_TTL_SECONDS", default: c.mediaSigning.urlLifetime) { .seconds(try parseInt($0, in: 10...604_800)) }
        c.webhooks.concurrency = reader.value("VIDD_WEBHOOK_CONCURRENCY", default: c.webhooks.concurrency) { try parseInt($0, in: 1...256) }
        c.webhooks.attemptTimeout = reader.value("VIDD_WEBHOOK_TIMEOUT_SECONDS", default: c.webhooks.attemptTimeout) { .seconds(try parseInt($0, in: 1...120)) }
        if !reader.problems.isEmpty { throw ConfigurationError(problems: reader.problems) }
        return c
    }

    static func trimmedPath(_ p: String) -> String { p.count > 1 && p.hasSuffix("/") ? String(p.dropLast()) : p }

    /// `source/,incoming/`: comma-separated key prefixes, each ending in `/`; never one that holds
    /// outputs (`processed/`), which would let a submission read another video's renditions.
    static func parseSourcePrefixes(_ v: String) throws(ValueError) -> [String] {
        let prefixes = v.split(separator: ",").map { String($0).trimmingBlanks() }.filter { !$0.isEmpty }
        guard !prefixes.isEmpty else { throw ValueError("must name at least one prefix, e.g. source/") }
        for p in prefixes {
            guard p.hasSuffix("/"), (try? ObjectKeys.validate(String(p.dropLast()))) != nil else {
                throw ValueError("\(p) is not a key prefix ending in /, e.g. source/")
            }
            guard !p.hasPrefix(ObjectKeys.processedPrefix), !ObjectKeys.processedPrefix.hasPrefix(p) else {
                throw ValueError("\(p) overlaps processed/, where outputs are stored")
            }
        }
        return prefixes
    }

    /// The environment vidd sees: an EnvironmentFile's values, overridden by the process environment
    /// (so `VIDD_LOG_LEVEL=debug vidd serve --env-file …` works as expected).
    public static func merged(file: [String: String], process: [String: String]) -> [String: String] {
        file.merging(process) { _, processValue in processValue }
    }

    /// Every setting, one per line, secrets masked: what `vidd` logs at start.
    public var redactedSummary: [(String, String)] {
        let r = redactor
        var out: [(String, String)] = [
            ("listen", listen.description),
            ("health_listen", healthListen?.description ?? "none"),
            ("redis", r.redact(redisURL)),
            ("database", r.redact(databaseURL)),
        ]
        switch storage {
        case .s3: out.append(("storage", "s3"))
        case .file(let dir): out.append(("storage", "file://" + dir))
        }
        out.append(("bucket", bucket))
        if let s3 {
            out.append(("s3_endpoint", r.redact(s3.endpoint)))
            out.append(("s3_region", s3.region))
            out.append(("s3_access_key", s3.accessKey))
            out.append(("s3_secret_key", Redactor.mask))
        }
        out.append(("api_tokens", apiTokens.isEmpty ? "none" : "\(apiTokens.count) configured"))
        out.append(("worker_concurrency", "\(workerConcurrency)"))
        out.append(("lease_seconds", "\(lease.components.seconds)"))
        out.append(("max_attempts", "\(maxAttempts)"))
        out.append(("x264_preset", x264Preset))
        out.append(("job_stream", keys.jobStream))
        out.append(("consumer_group", keys.consumerGroup))
        out.append(("dead_letter_stream", keys.deadLetterStream))
        out.append(("log_format", logFormat.rawValue))
        out.append(("max_upload_bytes", String(maxUploadBytes)))
        out.append(("body_timeout_seconds", "\(bodyTimeout.components.seconds)"))
        out.append(("http_event_loops", "\(httpEventLoops)"))
        out.append(("source_prefixes", sourcePrefixes.joined(separator: ",")))
        out.append(("work_dir", workDirectory))
        out.append(("tus_max_size", "\(tusMaxSize)"))
        out.append(("tus_expiry_seconds", "\(tusExpiry.components.seconds)"))
        out.append(("ingest_allow", ingest.allowList.isEmpty ? "none" : ingest.allowList.description))
        out.append(("ingest_max_bytes", String(ingest.maxBytes)))
        out.append(("rate_limit_submit", rateLimitSubmit?.description ?? "none"))
        out.append(("rate_limit_read", rateLimitRead?.description ?? "none"))
        out.append(("progress_history", "\(progressHistory.perVideo) per video, \(progressHistory.feed) feed"))
        out.append(("signing_keys", mediaSigning.keys.isEmpty ? "none" : "\(mediaSigning.keys.count) configured"))
        out.append(("signed_url_ttl_seconds", "\(mediaSigning.urlLifetime.components.seconds)"))
        out.append(("webhook_concurrency", "\(webhooks.concurrency)"))
        out.append(("webhook_timeout_seconds", "\(webhooks.attemptTimeout.components.seconds)"))
        out.append(("trusted_proxies", trustedProxies.isEmpty ? "none" : trustedProxies.map(\.description).joined(separator: ",")))
        return out
    }

    // MARK: parsing

    struct ValueError: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }

    private struct Reader {
        let environment: [String: String]
        var problems: [ConfigurationError.Problem] = []

        mutating func value<T>(_ name: String, default fallback: T, secret: Bool = false,
                               parse: (String) throws -> T) -> T {
            guard let raw = environment[name], !raw.trimmingBlanks().isEmpty else { return fallback }
            do {
                return try parse(raw.trimmingBlanks())
            } catch {
                let message = (error as? ValueError)?.message ?? "\(error)"
                problems.append(.init(variable: name, value: secret ? Redactor.mask : Redactor.redactURLPasswords(in: raw), message: message))
                return fallback
            }
        }

        mutating func required(_ name: String, because reason: String, secret: Bool = false) -> String? {
            if let raw = environment[name]?.trimmingBlanks(), !raw.isEmpty { return raw }
            problems.append(.init(variable: name, value: nil, message: "is required when \(reason)"))
            return nil
        }
    }

    static func parseListen(_ v: String) throws(ValueError) -> ListenAddress {
        let host: Substring
        let portText: Substring
        if v.hasPrefix("[") {
            guard let close = v.firstIndex(of: "]"), v[v.index(after: close)...].hasPrefix(":") else {
                throw ValueError("must be HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080")
            }
            host = v[v.index(after: v.startIndex)..<close]
            portText = v[v.index(close, offsetBy: 2)...]
        } else {
            guard let colon = v.lastIndex(of: ":"), v.firstIndex(of: ":") == colon else {
                throw ValueError("must be HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080")
            }
            host = v[..<colon]
            portText = v[v.index(after: colon)...]
        }
        guard let port = Int(portText), (0...65535).contains(port) else { throw ValueError("port must be 0…65535") }
        return ListenAddress(host: host.isEmpty ? "0.0.0.0" : String(host), port: port)
    }

    static func parseStorage(_ v: String) throws(ValueError) -> StorageBackend {
        if v == "s3" { return .s3 }
        guard v.hasPrefix("file://") else { throw ValueError("must be s3 or file:///absolute/path") }
        let path = String(v.dropFirst("file://".count))
        guard path.hasPrefix("/") else { throw ValueError("file storage needs an absolute path: file:///var/lib/vidd/storage") }
        guard !path.split(separator: "/").contains("..") else { throw ValueError("path must not contain ..") }
        return .file(directory: trimmedPath(path))
    }

    static func parseBucket(_ v: String) throws(ValueError) -> String {
        let ok = (3...63).contains(v.count) && v.allSatisfy { ($0.isLowercase && $0.isASCII) || ($0.isNumber && $0.isASCII) || $0 == "-" || $0 == "." }
            && v.first != "-" && v.last != "-"
        guard ok else { throw ValueError("must be a valid S3 bucket name (3–63 of a-z 0-9 . -)") }
        return v
    }

    static func parseRedisName(_ v: String) throws(ValueError) -> String {
        guard v.count <= 200, !v.contains(where: { $0.isWhitespace }) else { throw ValueError("must be at most 200 characters without spaces") }
        return v
    }

    static func parseInt(_ v: String, in range: ClosedRange<Int>) throws(ValueError) -> Int {
        guard let n = Int(v) else { throw ValueError("must be a whole number") }
        guard range.contains(n) else { throw ValueError("must be between \(range.lowerBound) and \(range.upperBound)") }
        return n
    }

    static func checkURL(_ v: String, schemes: [String]) throws(ValueError) -> String {
        guard let sep = v.firstRange(of: "://") else {
            throw ValueError("must be a URL starting with \(schemes.map { $0 + "://" }.joined(separator: " or "))")
        }
        let scheme = v[..<sep.lowerBound].lowercased()
        guard schemes.contains(scheme) else {
            throw ValueError("scheme \(scheme) is not one of \(schemes.joined(separator: ", "))")
        }
        let rest = v[sep.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        let hosts = authority.split(separator: "@", omittingEmptySubsequences: false).last ?? ""
        if scheme != "unix" && hosts.isEmpty && !v.contains("host=") { throw ValueError("has no host") }
        // Several hosts (a PostgreSQL host list, Redis sentinels): each port is checked.
        for hostPort in hosts.split(separator: ",") {
            if let colon = hostPort.lastIndex(of: ":"), !hostPort.hasSuffix("]") {
                guard let port = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(port) else {
                    throw ValueError("has an invalid port")
                }
            }
        }
        return v
    }

    static func urlPassword(_ url: String) -> String? {
        guard let sep = url.firstRange(of: "://") else { return nil }
        let rest = url[sep.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else { return nil }
        let password = authority[authority.index(after: colon)..<at]
        return password.isEmpty ? nil : String(password)
    }

    /// Passwords given as query parameters (`password=`, a sentinel URL's `sentinel_password=`).
    static func urlParameterPasswords(_ url: String) -> [String] {
        guard let q = url.firstIndex(of: "?") else { return [] }
        return url[url.index(after: q)...].split(separator: "&").compactMap { item in
            let kv = item.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, kv[0].lowercased().hasSuffix("password"), !kv[1].isEmpty else { return nil }
            return String(kv[1])
        }
    }

    static let redisSchemes = ["redis", "rediss", "unix", "redis-sentinel", "rediss-sentinel"]

    /// The scheme, then RESP's own parser (sentinel lists, parameters), with its reason.
    static func checkRedisURL(_ v: String) throws(ValueError) -> String {
        _ = try checkURL(v, schemes: redisSchemes)
        do {
            _ = try RESPConfiguration(url: v)
        } catch {
            guard case .invalidURL(_, let reason) = error else { throw ValueError("\(error)") }
            throw ValueError(reason)
        }
        return v
    }

    /// The scheme, then PGWire's own parser (host lists, target_session_attrs), with its reason
    /// (passwords masked: a bad percent-encoding message quotes the text it could not read).
    static func checkDatabaseURL(_ v: String) throws(ValueError) -> String {
        _ = try checkURL(v, schemes: ["postgres", "postgresql"])
        do {
            _ = try PGConfiguration(url: v)
        } catch {
            let reason: String
            if case .invalidConfiguration(let text) = error { reason = text } else { reason = "\(error)" }
            let secrets = ([urlPassword(v)].compactMap { $0 } + urlParameterPasswords(v))
            var shown = reason
            for secret in secrets where !secret.isEmpty { shown = shown.replacing(secret, with: Redactor.mask) }
            throw ValueError(shown)
        }
        return v
    }
}

/// One line per bad value: which variable, what it held (secrets masked) and what is expected.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public var variable: String
        public var value: String?
        public var message: String
        public var description: String {
            if let value { return "\(variable)=\(value): \(message)" }
            return "\(variable) \(message)"
        }
    }
    public var problems: [Problem]
    public var description: String {
        "invalid configuration:\n" + problems.map { "  " + $0.description }.joined(separator: "\n")
    }
}

extension String {
    package func trimmingBlanks() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
