import Testing
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

@Suite struct ConfigurationTests {
    @Test func defaultsAreTheContract() throws {
        let c = try Configuration.load(from: [:])
        #expect(c.listen == .init(host: "127.0.0.1", port: 8080))
        #expect(c.bucket == "videos")
        #expect(c.keys.jobStream == "video:jobs")
        #expect(c.keys.consumerGroup == "video-workers")
        #expect(c.keys.progressKey("abc") == "progress:abc")
        #expect(c.keys.progressChannel("abc") == "video:progress:abc")
        #expect(c.keys.progressAllChannel == "video:progress:all")
        #expect(c.keys.deadLetterStream == "video:jobs:dead")
        #expect(c.storage == .file(directory: "/var/lib/vidd/storage"))
        #expect(c.logFormat == .logfmt)
        #expect(c.maxAttempts == 3 && c.workerConcurrency == 1 && c.lease == .seconds(60))
        #expect(c.s3 == nil && c.apiTokens.isEmpty)
        #expect(c.httpEventLoops == 1)
    }

    @Test func httpEventLoops() throws {
        #expect(try Configuration.load(from: ["VIDD_HTTP_EVENT_LOOPS": "4"]).httpEventLoops == 4)
        let error = #expect(throws: ConfigurationError.self) { try Configuration.load(from: ["VIDD_HTTP_EVENT_LOOPS": "0"]) }
        #expect(error?.problems.map(\.variable) == ["VIDD_HTTP_EVENT_LOOPS"])
        #expect(error?.problems.first?.message == "must be between 1 and 64")
    }

    @Test func readsEveryVariable() throws {
        let c = try Configuration.load(from: [
            "VIDD_LISTEN": "[::1]:9090", "VIDD_REDIS_URL": "rediss://:secretpw@redis.example:6380/0",
            "VIDD_DATABASE_URL": "postgresql://app:dbpass1234@db:5432/vidd?sslmode=require",
            "VIDD_STORAGE": "s3", "VIDD_S3_ENDPOINT": "http://127.0.0.1:9000", "VIDD_S3_REGION": "eu-west-1",
            "VIDD_S3_ACCESS_KEY": "AKIAEXAMPLE", "VIDD_S3_SECRET_KEY": "wJalrXUtnFEMI/K7MDENG", "VIDD_S3_BUCKET": "my-videos",
            "VIDD_API_TOKENS": " token-aaaaaaaaaaaaaaaa , token-bbbbbbbbbbbbbbbb ,", "VIDD_WORKER_CONCURRENCY": "4",
            "VIDD_LEASE_SECONDS": "30", "VIDD_MAX_ATTEMPTS": "5", "VIDD_X264_PRESET": "fast",
            "VIDD_SHUTDOWN_GRACE_SECONDS": "10", "VIDD_JOB_STREAM": "v:jobs", "VIDD_JOB_GROUP": "g",
            "VIDD_DEAD_LETTER_STREAM": "v:dead", "VIDD_PROGRESS_KEY_PREFIX": "p:", "VIDD_PROGRESS_CHANNEL_PREFIX": "c:",
            "VIDD_PROGRESS_ALL_CHANNEL": "c:all", "VIDD_LOG_FORMAT": "json", "VIDD_LOG_LEVEL": "debug",
        ])
        #expect(c.listen == .init(host: "::1", port: 9090))
        #expect(c.listen.description == "[::1]:9090")
        #expect(c.storage == .s3)
        #expect(c.s3 == .init(endpoint: "http://127.0.0.1:9000", region: "eu-west-1", accessKey: "AKIAEXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG"))
        #expect(c.bucket == "my-videos")
        #expect(c.apiTokens == ["token-aaaaaaaaaaaaaaaa", "token-bbbbbbbbbbbbbbbb"])
        #expect(c.workerConcurrency == 4 && c.lease == .seconds(30) && c.maxAttempts == 5 && c.x264Preset == "fast")
        #expect(c.shutdownGrace == .seconds(10))
        #expect(c.keys.jobStream == "v:jobs" && c.keys.consumerGroup == "g" && c.keys.deadLetterStream == "v:dead")
        #expect(c.keys.progressKey("x") == "p:x" && c.keys.progressChannel("x") == "c:x" && c.keys.progressAllChannel == "c:all")
        #expect(c.logFormat == .json && c.logLevel == .debug)
    }

    @Test func tusSettings() throws {
        let defaults = try Configuration.load(from: [:])
        #expect(defaults.tusMaxSize == 64 << 30 && defaults.tusExpiry == .seconds(86_400) && defaults.tusPartSize == 8 << 20)
        let c = try Configuration.load(from: ["VIDD_TUS_MAX_SIZE": "1000", "VIDD_TUS_EXPIRY_SECONDS": "60", "VIDD_TUS_PART_SIZE_MIB": "16"])
        #expect(c.tusMaxSize == 1000 && c.tusExpiry == .seconds(60) && c.tusPartSize == 16 << 20)
        let error = #expect(throws: ConfigurationError.self) {
            try Configuration.load(from: ["VIDD_TUS_MAX_SIZE": "0", "VIDD_TUS_EXPIRY_SECONDS": "-1", "VIDD_TUS_PART_SIZE_MIB": "4"])
        }
        #expect(error?.problems.map(\.variable) == ["VIDD_TUS_MAX_SIZE", "VIDD_TUS_EXPIRY_SECONDS", "VIDD_TUS_PART_SIZE_MIB"])
        #expect(error?.problems.last?.message == "must be between 5 and 5120", "S3's smallest part is 5 MiB")
    }

    @Test func s3EndpointDefaultsToAWS() throws {
        let c = try Configuration.load(from: ["VIDD_STORAGE": "s3", "VIDD_S3_ACCESS_KEY": "a", "VIDD_S3_SECRET_KEY": "b"])
        #expect(c.s3?.endpoint == "https://s3.us-east-1.amazonaws.com")
    }

    @Test func fileStorageKeepsItsPath() throws {
        #expect(try Configuration.load(from: ["VIDD_STORAGE": "file:///srv/vidd/"]).storage == .file(directory: "/srv/vidd"))
    }

    @Test func everyBadValueIsReportedOnceWithItsVariable() throws {
        let error = #expect(throws: ConfigurationError.self) {
            try Configuration.load(from: [
                "VIDD_LISTEN": "localhost", "VIDD_REDIS_URL": "http://:hunter2hunter2@x", "VIDD_DATABASE_URL": "postgres://u@h:99999/db",
                "VIDD_STORAGE": "file://relative", "VIDD_WORKER_CONCURRENCY": "zero", "VIDD_LEASE_SECONDS": "1",
                "VIDD_MAX_ATTEMPTS": "0", "VIDD_X264_PRESET": "turbo", "VIDD_LOG_FORMAT": "xml", "VIDD_API_TOKENS": "short",
                "VIDD_S3_BUCKET": "Bad_Bucket", "VIDD_LOG_LEVEL": "loud",
            ])
        }
        let problems = try #require(error).problems
        #expect(problems.map(\.variable) == [
            "VIDD_LISTEN", "VIDD_REDIS_URL", "VIDD_DATABASE_URL", "VIDD_STORAGE", "VIDD_S3_BUCKET", "VIDD_API_TOKENS",
            "VIDD_WORKER_CONCURRENCY", "VIDD_LEASE_SECONDS", "VIDD_MAX_ATTEMPTS", "VIDD_X264_PRESET", "VIDD_LOG_FORMAT", "VIDD_LOG_LEVEL",
        ])
        let text = try #require(error).description
        #expect(text.contains("VIDD_LEASE_SECONDS=1: must be between 5 and 86400"))
        #expect(text.contains("VIDD_X264_PRESET=turbo: must be one of ultrafast"))
        #expect(text.contains("VIDD_REDIS_URL=http://:***@x: scheme http is not one of redis, rediss, unix"))
        #expect(!text.contains("hunter2"), "a password in a bad URL is masked")
        #expect(text.contains("VIDD_API_TOKENS=***"), "a bad token is never printed")
        #expect(!text.contains("short"))
    }

    @Test func s3NeedsItsKeys() throws {
        let error = #expect(throws: ConfigurationError.self) { try Configuration.load(from: ["VIDD_STORAGE": "s3"]) }
        #expect(error?.problems.map(\.description) == [
            "VIDD_S3_ACCESS_KEY is required when VIDD_STORAGE=s3", "VIDD_S3_SECRET_KEY is required when VIDD_STORAGE=s3",
        ])
    }

    @Test func deadLetterStreamMustDiffer() {
        let error = #expect(throws: ConfigurationError.self) { try Configuration.load(from: ["VIDD_DEAD_LETTER_STREAM": "video:jobs"]) }
        #expect(error?.problems.first?.variable == "VIDD_DEAD_LETTER_STREAM")
    }

    @Test func processEnvironmentOverridesTheFile() {
        let merged = Configuration.merged(file: ["VIDD_LISTEN": "a:1", "VIDD_LOG_FORMAT": "json"], process: ["VIDD_LISTEN": "b:2"])
        #expect(merged == ["VIDD_LISTEN": "b:2", "VIDD_LOG_FORMAT": "json"])
    }

    @Test func summaryHidesEverySecret() throws {
        let c = try Configuration.load(from: [
            "VIDD_REDIS_URL": "redis://:redispass99@r:6379", "VIDD_DATABASE_URL": "postgres://app:pgpass9876@db/vidd",
            "VIDD_STORAGE": "s3", "VIDD_S3_ACCESS_KEY": "AKIA1", "VIDD_S3_SECRET_KEY": "s3secretvalue",
            "VIDD_API_TOKENS": "tok-0123456789abcdef",
        ])
        let text = c.redactedSummary.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
        for secret in ["redispass99", "pgpass9876", "s3secretvalue", "tok-0123456789abcdef"] {
            #expect(!text.contains(secret), "\(secret) leaked: \(text)")
        }
        #expect(text.contains("redis=redis://:***@r:6379"))
        #expect(text.contains("api_tokens=1 configured"))
        #expect(Set(c.secrets) == ["redispass99", "pgpass9876", "s3secretvalue", "tok-0123456789abcdef"])
    }

    @Test func loaderReadsAnEnvironmentFile() throws {
        let path = "/tmp/vidd-config-test-\(VideoID.generate()).env"
        try FileFixture.write(path, "VIDD_LISTEN=0.0.0.0:7000\nVIDD_WORKER_CONCURRENCY=2\n")
        defer { FileFixture.remove(path) }
        let c = try ConfigurationLoader.load(options: .init(environmentFile: path, concurrency: 3), environment: ["VIDD_LISTEN": "127.0.0.1:7001"])
        #expect(c.listen.port == 7001)
        #expect(c.workerConcurrency == 3, "--concurrency beats the file")
        #expect(throws: ConfigurationLoader.FileError.self) {
            try ConfigurationLoader.load(options: .init(environmentFile: path + ".missing"), environment: [:])
        }
    }
}

@Suite struct RedactorTests {
    @Test(arguments: [
        ("redis://:pw@host:6379", "redis://:***@host:6379"),
        ("connect postgres://app:s3cr%40t@db:5432/vidd failed", "connect postgres://app:***@db:5432/vidd failed"),
        ("postgres://app@db/vidd", "postgres://app@db/vidd"),
        ("two: redis://u:a@x and https://k:b@y/z", "two: redis://u:***@x and https://k:***@y/z"),
        ("no url here", "no url here"),
    ])
    func urlPasswords(input: String, expected: String) {
        #expect(Redactor.redactURLPasswords(in: input) == expected)
    }

    @Test func literalSecrets() {
        let r = Redactor(secrets: ["abc", "supersecret", "supersecretlonger"])
        #expect(r.redact("key=supersecretlonger other=supersecret abc") == "key=*** other=*** abc")
    }
}

/// URL ingest, rate limits and trusted proxies: parsed once, each bad value named.
@Suite struct IngestAndRateLimitConfigurationTests {
    @Test func defaults() throws {
        let c = try Configuration.load(from: [:])
        #expect(c.ingest.allowList.isEmpty && c.ingest.maxBytes == 20 << 30 && c.ingest.caFile == nil)
        #expect(c.ingest.timeout == .seconds(3600) && c.ingest.stallTimeout == .seconds(30))
        #expect(c.rateLimitSubmit == nil && c.rateLimitRead == nil && c.trustedProxies.isEmpty)
        #expect(c.rateLimitKeyPrefix == "vidd:ratelimit:")
    }

    @Test func readsEveryVariable() throws {
        let c = try Configuration.load(from: [
            "VIDD_INGEST_ALLOW": "127.0.0.2/32, minio.internal", "VIDD_INGEST_MAX_BYTES": "1000000",
            "VIDD_INGEST_TIMEOUT_SECONDS": "60", "VIDD_INGEST_STALL_SECONDS": "5", "VIDD_INGEST_CA_FILE": "/etc/ca.pem",
            "VIDD_RATE_LIMIT_SUBMIT": "10/min", "VIDD_RATE_LIMIT_READ": " 5 / s ", "VIDD_TRUSTED_PROXIES": "10.0.0.0/8, ::1",
            "VIDD_RATE_LIMIT_KEY_PREFIX": "rl:",
        ])
        #expect(c.ingest.allowList.description == "127.0.0.2/32,minio.internal")
        #expect(c.ingest.maxBytes == 1_000_000 && c.ingest.timeout == .seconds(60) && c.ingest.stallTimeout == .seconds(5))
        #expect(c.ingest.caFile == "/etc/ca.pem")
        #expect(c.rateLimitSubmit == RateLimitRule(limit: 10, periodSeconds: 60))
        #expect(c.rateLimitRead == RateLimitRule(limit: 5, periodSeconds: 1))
        #expect(c.trustedProxies.map(\.description) == ["10.0.0.0/8", "::1/128"])
        #expect(c.rateLimitKeyPrefix == "rl:")
        #expect(c.redactedSummary.contains { $0 == ("rate_limit_submit", "10/min") })
    }

    @Test(arguments: [("1/s", 1, 1), ("60/min", 60, 60), ("1000/h", 1000, 3600), ("3/minute", 3, 60), ("2/hour", 2, 3600)])
    func rateLimitForms(_ text: String, _ limit: Int, _ period: Int) throws {
        let c = try Configuration.load(from: ["VIDD_RATE_LIMIT_READ": text])
        #expect(c.rateLimitRead == RateLimitRule(limit: limit, periodSeconds: period))
    }

    @Test func badValuesAreNamed() throws {
        let error = #expect(throws: ConfigurationError.self) {
            try Configuration.load(from: [
                "VIDD_INGEST_ALLOW": "10.0.0.0/33", "VIDD_INGEST_MAX_BYTES": "-1", "VIDD_INGEST_CA_FILE": "ca.pem",
                "VIDD_RATE_LIMIT_SUBMIT": "10/day", "VIDD_RATE_LIMIT_READ": "0/s", "VIDD_TRUSTED_PROXIES": "10.0.0.0/8, proxy.example",
            ])
        }
        let variables = error?.problems.map(\.variable) ?? []
        #expect(variables == ["VIDD_INGEST_ALLOW", "VIDD_INGEST_MAX_BYTES", "VIDD_INGEST_CA_FILE", "VIDD_RATE_LIMIT_SUBMIT",
                              "VIDD_RATE_LIMIT_READ", "VIDD_TRUSTED_PROXIES"])
        #expect(error?.description.contains("10.0.0.0/33 is neither an address block") == true)
        #expect(error?.description.contains("the period must be s, min or h") == true)
        #expect(error?.description.contains("proxy.example is not an address block") == true)
    }
}
