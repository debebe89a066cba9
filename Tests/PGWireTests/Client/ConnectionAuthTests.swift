import Testing
import TestSupport
@testable import PGWire

@Suite struct ConnectionAuthTests {
    @Test(arguments: ["app", "trust_user", "password_user", "md5_user", "scram_user"])
    func eachAuthenticationMethod(_ user: String) async throws {
        guard let env = try PGTestEnvironment.get() else { return }
        let c = try await env.connect(user: user)
        let rows = try await c.collect("SELECT current_user, $1::int + 1", [Int32(41)])
        #expect(try rows[0].decode(String.self, at: 0) == user)
        #expect(try rows[0].decode(Int.self, at: 1) == 42)
        await c.close()
    }

    @Test func wrongPasswordIsAClearError() async throws {
        guard let env = try PGTestEnvironment.get() else { return }
        for user in ["scram_user", "md5_user", "password_user"] {
            var config = env.config(user: user)
            config.password = "wrong"
            do {
                _ = try await PGConnection.connect(config)
                Issue.record("\(user) logged in with a wrong password")
            } catch let error as PGError {
                #expect(error.serverError?.sqlState == "28P01", "\(error)")
                #expect(error.description.contains("password authentication failed for user \"\(user)\""))
            }
        }
    }

    @Test func tlsVerifyFullWithChannelBindingRequired() async throws {
        guard let env = try PGTestEnvironment.get(), env.sslEnabled else { return }
        var config = env.config(user: "ssl_user", sslMode: .verifyFull, host: "localhost")
        config.channelBinding = .require
        let c = try await PGConnection.connect(config)
        #expect(c.saslMechanism == "SCRAM-SHA-256-PLUS")
        #expect(c.tlsVersion != nil)
        let rows = try await c.collect("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        #expect(try rows[0].decode(Bool.self, at: 0))
        await c.close()
    }

    @Test func verifyFullRejectsWrongHostName() async throws {
        guard let env = try PGTestEnvironment.get(), env.sslEnabled else { return }
        // The test certificate names localhost/127.0.0.1/::1: connect to the right address
        // (libpq's hostaddr) but verify against a name the certificate does not carry.
        var config = env.config(user: "app", sslMode: .verifyFull, host: "wrong.example")
        config.hostAddress = env.host
        do {
            _ = try await PGConnection.connect(config)
            Issue.record("hostname mismatch accepted")
        } catch let error as PGError {
            guard case .tls = error else { Issue.record("expected a TLS error, got \(error)"); return }
        }
    }

    @Test func channelBindingRequiredFailsWithoutTLS() async throws {
        guard let env = try PGTestEnvironment.get() else { return }
        var config = env.config(user: "scram_user")
        config.channelBinding = .require
        await #expect(throws: PGError.authentication("channel binding required, but the connection is not using TLS")) {
            _ = try await PGConnection.connect(config)
        }
    }

    @Test func hostsslRoleRefusedOverPlaintext() async throws {
        guard let env = try PGTestEnvironment.get() else { return }
        do {
            _ = try await env.connect(user: "ssl_user", sslMode: .disable)
            Issue.record("ssl_user logged in over plaintext")
        } catch let error as PGError {
            // pg_hba rejects: 28000 invalid_authorization_specification.
            #expect(error.serverError?.sqlState == "28000", "\(error)")
        }
    }

    @Test func sslModeRequireAndPrefer() async throws {
        guard let env = try PGTestEnvironment.get(), env.sslEnabled else { return }
        for mode in [PGConfiguration.SSLMode.require, .prefer] {
            var config = env.config(user: "scram_user", sslMode: mode)
            config.sslRootCert = nil
            let c = try await PGConnection.connect(config)
            #expect(c.tlsVersion != nil)
            // prefer/require: channel binding is used when offered (prefer is the default).
            #expect(c.saslMechanism == "SCRAM-SHA-256-PLUS")
            await c.close()
        }
    }

    @Test func unixSocketAndURL() async throws {
        guard let env = try PGTestEnvironment.get(), let dir = env.socketDir else { return }
        let c = try await PGConnection.connect(url: "postgres://app:\(env.password)@/postgres?host=\(dir)&port=\(env.port)&application_name=pgwire-test")
        let rows = try await c.collect("SELECT current_setting('application_name')")
        #expect(try rows[0].decode(String.self, at: 0) == "pgwire-test")
        await c.close()
    }
}
