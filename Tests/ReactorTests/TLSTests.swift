import Foundation
import Testing
@testable import Reactor

@Suite struct TLSTests {
    let pki = TestPKI.shared

    @Test func ourClientAndServerRoundTrip() async throws {
        let serverTLS = TLSConfiguration.server(certificateFile: pki.certFile, keyFile: pki.keyFile)
        let (listener, server) = try await startEchoServer(tls: serverTLS)
        defer { listener.close(); server.cancel() }
        let conn = try await Connection.connect(host: "localhost", port: listener.port,
                                                tls: .client(caFile: pki.caFile))
        defer { conn.close() }
        let payload = Crypto.randomBytes(300_000)
        async let sent: Void = conn.write(payload)
        #expect(try await readExactly(conn, payload.count) == payload)
        try await sent
        #expect(conn.tlsVersion == "TLSv1.3")
        let der = try #require(conn.tlsPeerCertificateDER)
        let pem = try String(contentsOfFile: pki.certFile, encoding: .utf8)
        let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        #expect(der == Base64.decode(body))
        // The certificate is signed with SHA-256, so tls-server-end-point is its SHA-256.
        #expect(conn.tlsServerEndPointHash == Crypto.sha256(der))
    }

    @Test func verifiesIPAddressSANs() async throws {
        let (listener, server) = try await startEchoServer(tls: .server(certificateFile: pki.certFile, keyFile: pki.keyFile))
        defer { listener.close(); server.cancel() }
        let conn = try await Connection.connect(host: "127.0.0.1", port: listener.port, tls: .client(caFile: pki.caFile))
        defer { conn.close() }
        try await conn.write([42])
        #expect(try await readExactly(conn, 1) == [42])
    }

    @Test func hostnameMismatchIsRefused() async throws {
        let (listener, server) = try await startEchoServer(tls: .server(certificateFile: pki.certFile, keyFile: pki.keyFile))
        defer { listener.close(); server.cancel() }
        await #expect {
            _ = try await Connection.connect(host: "127.0.0.1", port: listener.port, tls: .client(caFile: pki.caFile),
                                             serverName: "wrong.example.com")
        } throws: { error in
            guard case NetworkError.tls(let reason) = error else { return false }
            return reason.contains("hostname mismatch")
        }
        // verify-ca semantics: the same name passes when only the chain is checked.
        let conn = try await Connection.connect(host: "127.0.0.1", port: listener.port,
                                                tls: .client(caFile: pki.caFile, verification: .caOnly),
                                                serverName: "wrong.example.com")
        conn.close()
    }

    @Test func unknownCAIsRefused() async throws {
        let (listener, server) = try await startEchoServer(tls: .server(certificateFile: pki.certFile, keyFile: pki.keyFile))
        defer { listener.close(); server.cancel() }
        for config in [TLSConfiguration.client(caFile: pki.otherCAFile), TLSConfiguration.client()] {
            await #expect {
                _ = try await Connection.connect(host: "localhost", port: listener.port, tls: config)
            } throws: { error in
                guard case NetworkError.tls(let reason) = error else { return false }
                return reason.contains("certificate verify failed")
            }
        }
    }

    @Test func badCertificateFileIsReported() async throws {
        await #expect {
            _ = try await Listener.bind(host: "127.0.0.1", port: 0,
                                        tls: .server(certificateFile: "/nonexistent.pem", keyFile: "/nonexistent.key"))
        } throws: { error in
            guard case NetworkError.tls(let reason) = error else { return false }
            return reason.contains("/nonexistent.pem")
        }
    }

    @Test func clientAgainstOpenSSLServer() async throws {
        let port = try await freePort()
        let child = try Child(["s_server", "-accept", "127.0.0.1:\(port)", "-cert", pki.certFile, "-key", pki.keyFile,
                               "-rev", "-naccept", "1", "-quiet"])
        defer { child.stop() }
        var conn: Connection?
        for _ in 0..<100 where conn == nil {
            conn = try? await Connection.connect(host: "127.0.0.1", port: port, tls: .client(caFile: pki.caFile))
            if conn == nil { try await Task.sleep(for: .milliseconds(30)) }
        }
        let c = try #require(conn)
        defer { c.close() }
        try await c.write(Array("hello\n".utf8))
        var buf = ByteBuffer()
        var text = ""
        while !text.contains("olleh") {
            try await c.read(into: &buf, timeout: .seconds(10))
            text = String(decoding: buf.readableBytesView, as: UTF8.self)
        }
        #expect(text.contains("olleh"))
    }

    @Test func serverAgainstOpenSSLClient() async throws {
        let (listener, server) = try await startEchoServer(tls: .server(certificateFile: pki.certFile, keyFile: pki.keyFile))
        defer { listener.close(); server.cancel() }
        let out = pki.dir + "/s_client-\(listener.port).out"
        // s_client sends the line, keeps the connection open for a moment to print the echo, exits.
        let script = "(printf 'ping from openssl\\n'; sleep 2) | timeout 20 openssl s_client -connect 127.0.0.1:\(listener.port) "
            + "-CAfile \(pki.caFile) -verify_return_error -verify_hostname localhost -quiet -no_ign_eof > \(out) 2>/dev/null"
        let status = try await runShell(script)
        let got = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        #expect(got.contains("ping from openssl"), "s_client exited \(status) and printed: \(got)")
    }
}
