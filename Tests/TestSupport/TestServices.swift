#if canImport(Glibc)
import Glibc
#endif

/// Where the real services started by `scripts/test.sh` (or a user's own, e.g. docker-compose) live.
///
/// Every value comes from an environment variable so the same tests run against throw-away local
/// servers and against services a user already has. A test that needs a service calls
/// `TestServices.require(...)`: in CI (`CI` set) a missing service is a failure, locally the test
/// is skipped with a loud message on stderr.
public enum TestServices {
    public static func env(_ name: String) -> String? {
        guard let v = getenv(name) else { return nil }
        let s = String(cString: v)
        return s.isEmpty ? nil : s
    }

    /// True when running under CI, where a missing service must fail the test.
    public static var isCI: Bool { env("CI") != nil }

    /// `redis://:password@127.0.0.1:port` (password auth, RESP3-capable Redis 7).
    public static var redisURL: String? { env("VIDD_TEST_REDIS_URL") }
    /// `rediss://:password@localhost:port` (TLS; trust `caFile`).
    public static var redisTLSURL: String? { env("VIDD_TEST_REDIS_TLS_URL") }
    /// `postgres://app:password@127.0.0.1:port/postgres` (SCRAM-SHA-256 superuser).
    public static var postgresURL: String? { env("VIDD_TEST_PG_URL") }
    /// S3 endpoint (`http://127.0.0.1:port`) of a server that verifies SigV4, with its keys.
    public static var s3Endpoint: String? { env("VIDD_TEST_S3_ENDPOINT") }
    public static var s3AccessKey: String? { env("VIDD_TEST_S3_ACCESS_KEY") }
    public static var s3SecretKey: String? { env("VIDD_TEST_S3_SECRET_KEY") }
    public static var s3Region: String { env("VIDD_TEST_S3_REGION") ?? "us-east-1" }
    /// PEM CA certificate that signed every test server certificate.
    public static var caFile: String? { env("VIDD_TEST_CA_FILE") }
    /// PEM certificate and key for `localhost` / `127.0.0.1` / `::1`, signed by `caFile`.
    public static var serverCertFile: String? { env("VIDD_TEST_SERVER_CERT") }
    public static var serverKeyFile: String? { env("VIDD_TEST_SERVER_KEY") }

    /// Returns the value, or reports the missing service: fails in CI, skips loudly elsewhere.
    /// Use as `guard let url = try TestServices.require(TestServices.redisURL, "VIDD_TEST_REDIS_URL") else { return }`.
    public static func require(_ value: String?, _ variable: String) throws -> String? {
        if let value { return value }
        if isCI { throw MissingService(variable: variable) }
        let msg = "\n*** SKIPPED: \(variable) is not set; run the suite with scripts/test.sh to start real services ***\n"
        _ = msg.withCString { write(2, $0, strlen($0)) }
        return nil
    }

    /// A name unique to this process and call, for per-test namespaces (key prefix, schema, bucket).
    public static func uniqueName(_ prefix: String) -> String {
        let n = UniqueCounter.next()
        return "\(prefix)\(getpid())x\(n)x\(UInt32.random(in: 0...UInt32.max))"
    }
}

public struct MissingService: Error, CustomStringConvertible {
    public let variable: String
    public var description: String {
        "\(variable) is not set but CI is: the service this test needs was not started (see scripts/test.sh)"
    }
}

import Synchronization

enum UniqueCounter {
    static let value = Atomic<Int>(0)
    static func next() -> Int { value.add(1, ordering: .relaxed).newValue }
}
