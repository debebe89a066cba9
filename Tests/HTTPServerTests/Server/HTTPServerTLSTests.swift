import Foundation
import HTTPServer
import Reactor
import Testing

/// Optional TLS: the same server code behind the Reactor's TLS listener, with a throw-away
/// certificate made by the openssl CLI and verified by curl.
@Suite struct HTTPServerTLSTests {
    /// With two loops the three curl connections alternate between them.
    @Test(arguments: [1, 2]) func servesOverTLS(eventLoops: Int) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vidd-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cert = dir.appendingPathComponent("cert.pem").path, key = dir.appendingPathComponent("key.pem").path
        let made = try await runProcess("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key, "-out", cert,
        ])
        try #require(made.status == 0, "\(made.stderr)")
        var router = Router()
        router.get("/secure") { _ in .text("over tls") }
        router.get("/events") { req in
            .eventStream(for: req) { _, events in try await events.send(ServerSentEvent(data: "tls event")) }
        }
        // A broadcast cannot write to a TLS socket directly: its events go through the connection's writer.
        let broadcaster = EventBroadcaster()
        router.get("/broadcast") { req in
            .eventStream(for: req, from: broadcaster) { _, _ in
                broadcaster.publish(ServerSentEvent(data: "one", id: "1"))
                broadcaster.publish(ServerSentEvent(data: "two", id: "2"))
                broadcaster.finish()
            }
        }
        try await withServer(router, configure: {
            $0.tls = .server(certificateFile: cert, keyFile: key)
            $0.eventLoops = eventLoops
        }) { server, _ in
            let base = "https://127.0.0.1:\(server.port)"
            let r = try await curl(["--cacert", cert, "-v", "\(base)/secure", "\(base)/secure"])
            #expect(r.stdout == "over tlsover tls", "\(r.stderr)")
            #expect(r.stderr.contains("SSL connection using TLSv1.3"))
            let sse = try await curl(["--cacert", cert, "-N", "\(base)/events"])
            #expect(sse.stdout == "data: tls event\n\n")
            let broadcast = try await curl(["--cacert", cert, "-N", "\(base)/broadcast"])
            #expect(broadcast.stdout == "id: 1\ndata: one\n\nid: 2\ndata: two\n\n", "\(broadcast.stderr)")
        }
    }
}
