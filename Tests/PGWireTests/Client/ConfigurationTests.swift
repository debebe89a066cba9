import Testing
import Reactor
@testable import PGWire

@Suite struct ConfigurationTests {
    @Test func fullURL() throws {
        let c = try PGConfiguration(url: "postgres://us%40er:p%3Ass@db.example:6543/my%20db?sslmode=verify-full&sslrootcert=/ca.pem&channel_binding=require&application_name=w1&connect_timeout=3&search_path=app")
        #expect(c.endpoint == .tcp(host: "db.example", port: 6543))
        #expect(c.user == "us@er" && c.password == "p:ss" && c.database == "my db")
        #expect(c.sslMode == .verifyFull && c.sslRootCert == "/ca.pem" && c.channelBinding == .require)
        #expect(c.applicationName == "w1" && c.connectTimeout == .seconds(3))
        #expect(c.runtimeParameters.map { "\($0.0)=\($0.1)" } == ["search_path=app"])
    }

    @Test func defaultsAndVariants() throws {
        let c = try PGConfiguration(url: "postgresql://alice@localhost")
        #expect(c.endpoint == .tcp(host: "localhost", port: 5432))
        #expect(c.user == "alice" && c.password == nil && c.database == "alice" && c.sslMode == .prefer && c.channelBinding == .prefer)
        #expect(try PGConfiguration(url: "postgres://u@[::1]:5433/d").endpoint == .tcp(host: "::1", port: 5433))
        #expect(try PGConfiguration(url: "postgres://u@/d?host=/run/pg&port=5433").endpoint == .unixSocket(path: "/run/pg/.s.PGSQL.5433"))
        #expect(try PGConfiguration(url: "postgres://u@%2Frun%2Fpg:5433/d").endpoint == .unixSocket(path: "/run/pg/.s.PGSQL.5433"))
        #expect(try PGConfiguration(url: "postgres://u@h/d?statement_cache=false").statementCache == false)
        #expect(try PGConfiguration(url: "postgres://u@name/d?hostaddr=10.0.0.1").hostAddress == "10.0.0.1")
    }

    @Test(arguments: ["mysql://u@h/d", "postgres://u@h:99999/d", "postgres://u@h/d?sslmode=sometimes",
                      "postgres://u@h/d?channel_binding=maybe", "postgres://u@h/d?sslcert=/c.pem", "postgres://u:%zz@h/d"])
    func invalidURLs(_ url: String) {
        #expect(throws: PGError.self) { try PGConfiguration(url: url) }
    }

    @Test func sslModeToTLSPolicy() throws {
        var c = PGConfiguration(user: "u")
        c.sslMode = .disable
        #expect(try PGTransport.tlsConfiguration(c) == nil)
        c.sslMode = .verifyFull
        c.sslRootCert = "/ca.pem"
        let full = try #require(try PGTransport.tlsConfiguration(c))
        #expect(full.verification == .full && full.caFile == "/ca.pem")
        c.sslMode = .require
        #expect(try PGTransport.tlsConfiguration(c)?.verification == .caOnly)  // libpq: root cert given
        c.sslRootCert = nil
        #expect(try PGTransport.tlsConfiguration(c)?.verification == TLSVerification.none)
    }
}
