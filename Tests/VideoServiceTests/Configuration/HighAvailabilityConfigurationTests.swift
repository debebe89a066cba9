import PGWire
import RESP
import Testing
@testable import VideoCore
@testable import VideoService

/// The existing settings take Sentinel and host-list URLs (no new mandatory setting), their
/// passwords stay out of every log line, and failures of a backend in failover are 503s.
@Suite struct HighAvailabilityConfigurationTests {
    @Test func sentinelAndHostListURLsAreAccepted() throws {
        let c = try Configuration.load(from: [
            "VIDD_REDIS_URL": "redis-sentinel://:masterpw@s1:26379,s2:26379,[::1]:26380/mymaster?sentinel_password=sentinelpw",
            "VIDD_DATABASE_URL": "postgres://vidd:pgpw@db1:5432,db2:5433/vidd?target_session_attrs=read-write",
            "VIDD_HEALTH_LISTEN": "0.0.0.0:9090",
        ])
        #expect(c.healthListen == Configuration.ListenAddress(host: "0.0.0.0", port: 9090))
        #expect(Set(c.secrets) == ["masterpw", "sentinelpw", "pgpw"])
        let summary = c.redactedSummary.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
        for secret in ["masterpw", "sentinelpw", "pgpw"] { #expect(!summary.contains(secret), "\(summary)") }
        #expect(summary.contains("health_listen=0.0.0.0:9090"))
        #expect(try Configuration.load(from: [:]).healthListen == nil, "a worker does not listen unless asked")
        // rediss-sentinel and a host list given as parameters.
        _ = try Configuration.load(from: ["VIDD_REDIS_URL": "rediss-sentinel://s1/m", "VIDD_DATABASE_URL": "postgres://u@/d?host=a,b&port=1,2"])
    }

    @Test(arguments: [
        ("VIDD_REDIS_URL", "redis-sentinel://s1:26379", "names the master"),
        ("VIDD_REDIS_URL", "redis-sentinel://s1:0/m", "invalid port"),
        ("VIDD_REDIS_URL", "redis-sentinel://s1/m?sentinel_tls=perhaps", "sentinel_tls must be true or false"),
        ("VIDD_DATABASE_URL", "postgres://u@a,b,c/d?port=1,2", "could not match 2 port numbers to 3 hosts"),
        ("VIDD_DATABASE_URL", "postgres://u@a,b/d?target_session_attrs=primaryish", "target_session_attrs primaryish"),
        ("VIDD_DATABASE_URL", "postgres://u@a:1,b:x/d", "invalid port"),
        ("VIDD_HEALTH_LISTEN", "9090", "HOST:PORT"),
    ])
    func badValuesSayWhy(_ variable: String, _ value: String, _ reason: String) {
        let error = #expect(throws: ConfigurationError.self) { try Configuration.load(from: [variable: value]) }
        let text = error?.description ?? ""
        #expect(text.contains(variable) && text.contains(reason), "\(text)")
    }

    @Test func passwordsInBadURLsAreMasked() {
        let error = #expect(throws: ConfigurationError.self) {
            try Configuration.load(from: [
                "VIDD_REDIS_URL": "redis-sentinel://:hunter2hunter2@s1/m?sentinel_password=sesame-sesame&bogus=1",
                "VIDD_DATABASE_URL": "postgres://u:pa%zzword@a,b/d",
            ])
        }
        let text = error?.description ?? ""
        #expect(!text.contains("hunter2") && !text.contains("sesame") && !text.contains("pa%zzword"), "\(text)")
        #expect(Redactor.redactURLPasswords(in: "x?a=1&sentinel_password=abc&b=2 password=zz") == "x?a=1&sentinel_password=***&b=2 password=***")
    }

    static let unavailable: [(any Error & Sendable, String?)] = [
        (PGError.noUsableServer("none of 2 hosts could be used"), "PostgreSQL"),
        (PGError.server(PGServerError(fields: [0x43: "25006", 0x4D: "cannot execute INSERT in a read-only transaction"])), "PostgreSQL"),
        (PGError.server(PGServerError(fields: [0x43: "57P01", 0x4D: "terminating connection due to administrator command"])), "PostgreSQL"),
        (PGError.server(PGServerError(fields: [0x43: "08006", 0x4D: "connection failure"])), "PostgreSQL"),
        (PGError.server(PGServerError(fields: [0x43: "23505", 0x4D: "duplicate key"])), nil),
        (PGError.connectionClosed("reset"), "PostgreSQL"),
        (PGError.decoding(column: "x", type: .int4, reason: "bad"), nil),
        (RESPServerError(line: "READONLY You can't write against a read only replica."), "Redis"),
        (RESPServerError(line: "LOADING Redis is loading the dataset in memory"), "Redis"),
        (RESPServerError(line: "MASTERDOWN Link with MASTER is down"), "Redis"),
        (RESPServerError(line: "WRONGTYPE Operation against a key holding the wrong kind of value"), nil),
        (RESPClientError.connectFailed(endpoint: "master m via sentinels s1", underlying: "refused"), "Redis"),
        (RESPClientError.protocolError(RESPDecodingError(.missingCRLF, offset: 0)), nil),
    ]

    @Test func failoverErrorsAreUnavailableBackends() {
        for (error, backend) in Self.unavailable {
            #expect(TransientFailure.backend(of: error)?.rawValue == backend, "\(error)")
        }
        // At start, migrations wait for a standby being promoted as for a server starting up.
        #expect(TransientFailure.isTransient(PGError.noUsableServer("none of 2 hosts could be used")))
        #expect(!TransientFailure.isTransient(PGError.authentication("wrong password")))
    }
}
