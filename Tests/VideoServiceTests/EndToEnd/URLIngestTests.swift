import Foundation
import Reactor
import S3Lite
import Synchronization
import Testing
import TestSupport
@testable import VideoCore

/// URL ingest with the real `vidd` binary: a source fetched from an allow-listed loopback origin
/// becomes a completed video; every refused form answers 422 naming its rule, and the origins
/// that must not be reached count zero connections; a redirect to a refused address, an
/// oversized source and a 404 fail the video and leave nothing stored.
@Suite(.serialized) struct URLIngestTests {
    /// Holds a response mid-body until the test opens it, so the download can be observed.
    final class Gate: Sendable {
        private let opened = Atomic<Bool>(false)
        func open() { opened.store(true, ordering: .relaxed) }
        func wait() async {
            while !opened.load(ordering: .relaxed) { try? await Task.sleep(for: .milliseconds(10)) }
        }
    }

    static func submit(_ sut: ServiceUnderTest, _ vidd: ServiceUnderTest.Daemon, url: String, title: String? = nil) async throws -> ServiceUnderTest.Response {
        var object: [String: String] = ["source_url": url]
        if let title { object["title"] = title }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        return try await sut.request(vidd, "POST", "/jobs", ["-H", "Content-Type: application/json", "--data-binary", json])
    }

    static func accepted(_ sut: ServiceUnderTest, _ vidd: ServiceUnderTest.Daemon, url: String) async throws -> String {
        let r = try await submit(sut, vidd, url: url)
        guard r.status == 202, let id = ServiceUnderTest.videoID(r.json) else {
            throw ServiceUnderTest.Failure("POST /jobs \(url): \(r.status) \(r.text)")
        }
        return id
    }

    static func errorOf(_ r: ServiceUnderTest.Response) -> [String: Any] { (r.json["error"] as? [String: Any]) ?? [:] }

    /// The progress snapshot once it shows the download under way (some bytes stored).
    static func waitForFetching(_ sut: ServiceUnderTest, _ vidd: ServiceUnderTest.Daemon, _ id: String) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + .seconds(60)
        var progress: [String: Any] = [:]
        while ContinuousClock.now < deadline {
            progress = (try await sut.request(vidd, "GET", "/videos/\(id)").json["progress"] as? [String: Any]) ?? [:]
            if progress["stage"] as? String == "fetching", let bytes = progress["bytes_fetched"] as? Int, bytes > 0 { return progress }
            try await Task.sleep(for: .milliseconds(50))
        }
        return progress
    }

    /// A body of `count` bytes, chunked, written in 64 KiB chunks.
    static func writeChunked(_ c: Connection, count: Int) async throws {
        try await c.write(Array("HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nTransfer-Encoding: chunked\r\n\r\n".utf8))
        var left = count
        while left > 0 {
            let n = min(left, 65536)
            try await c.write(Array((String(n, radix: 16) + "\r\n").utf8) + [UInt8](repeating: 0x20, count: n) + Array("\r\n".utf8))
            left -= n
        }
        try await c.write(Array("0\r\n\r\n".utf8))
    }

    @Test func fetchesFromAnAllowListedOriginAndRefusesEverythingElse() async throws {
        guard let sut = try await ServiceUnderTest.make("ingest", settings: [
            "VIDD_INGEST_ALLOW": "127.0.0.2/32", "VIDD_INGEST_MAX_BYTES": "1000000",
        ]) else { return }
        let fixture = [UInt8](try Data(contentsOf: URL(fileURLWithPath: ServiceUnderTest.fixture("landscape_720p.mp4"))))
        let half = fixture.count / 2
        let gate = Gate(), deletionGate = Gate()
        // What must never be reached: loopback over IPv4 and IPv6.
        let secret: HTTPOrigin.Handler = { _, c in try await HTTPOrigin.respond(c, body: Array("secret".utf8)) }
        let victim = try await HTTPOrigin.start(host: "127.0.0.1", handler: secret)
        let victim6 = try await HTTPOrigin.start(host: "::1", handler: secret)
        let origin = try await HTTPOrigin.start(host: "127.0.0.2") { request, c in
            switch request.target {
            case "/clip.mp4":
                try await c.write(Array("HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: \(fixture.count)\r\n\r\n".utf8) + fixture[..<half])
                await gate.wait()
                try await c.write(Array(fixture[half...]))
            case "/deleted.mp4":
                try await c.write(Array("HTTP/1.1 200 OK\r\nContent-Length: \(fixture.count)\r\n\r\n".utf8) + fixture[..<half])
                await deletionGate.wait()
                try await c.write(Array(fixture[half...]))
            case "/hop": try await HTTPOrigin.redirect(c, status: 301, to: "/hop2")
            case "/hop2": try await HTTPOrigin.redirect(c, status: 302, to: "http://127.0.0.1:\(victim.port)/secret")
            case "/big-declared": try await HTTPOrigin.respond(c, body: [UInt8](repeating: 0x20, count: 2_000_000))
            case "/big-chunked": try await Self.writeChunked(c, count: 2_000_000)
            default: try await HTTPOrigin.respond(c, status: 404, body: Array("no".utf8))
            }
        }
        defer { origin.close(); victim.close(); victim6.close() }
        do {
            let vidd = try await sut.start("all")
            let p = victim.port, p6 = victim6.port

            // Refused before anything is recorded: 422 with the rule.
            let refusals: [(String, String)] = [
                ("file:///etc/passwd", "scheme"), ("ftp://127.0.0.1:\(p)/clip.mp4", "scheme"),
                ("http://127.0.0.1:\(p)/", "loopback"), ("http://localhost:\(p)/", "local_name"),
                ("http://[::1]:\(p6)/", "loopback"), ("http://[::ffff:127.0.0.1]:\(p)/", "loopback"),
                ("http://127.1:\(p)/", "loopback"), ("http://2130706433:\(p)/", "loopback"),
                ("http://0x7f000001:\(p)/", "loopback"), ("http://0177.0.0.1:\(p)/", "loopback"),
                ("http://0.0.0.0:\(p)/", "unspecified"), ("http://good@127.0.0.1:\(p)/", "loopback"),
                ("HTTP://LOCALHOST.:\(p)/", "local_name"),
            ]
            for (url, rule) in refusals {
                let r = try await Self.submit(sut, vidd, url: url)
                let error = Self.errorOf(r)
                #expect(r.status == 422 && error["code"] as? String == "source_url_refused" && error["rule"] as? String == rule,
                        "\(url): \(r.status) \(r.text)")
            }
            let list = try await sut.request(vidd, "GET", "/videos")
            #expect(list.json["total"] as? Int == 0, "a refused submission records nothing: \(list.text)")

            // Allowed, then redirected to a refused address: the video fails naming the rule.
            let redirected = try await Self.accepted(sut, vidd, url: origin.baseURL + "/hop")
            let failedHop = try await sut.waitForStatus(vidd, redirected, ["failed", "completed"])
            #expect(failedHop["status"] as? String == "failed")
            let hopError = failedHop["error_message"] as? String ?? ""
            #expect(hopError.contains("rule loopback") && hopError.contains("127.0.0.1"), "\(hopError)")

            // Larger than VIDD_INGEST_MAX_BYTES, declared or not; and a 404. Nothing stays stored.
            for (path, words) in [("/big-declared", "limit of 1000000"), ("/big-chunked", "limit of 1000000"), ("/missing", "answered 404")] {
                let id = try await Self.accepted(sut, vidd, url: origin.baseURL + path)
                let video = try await sut.waitForStatus(vidd, id, ["failed", "completed"])
                #expect(video["status"] as? String == "failed")
                #expect((video["error_message"] as? String ?? "").contains(words), "\(path): \(video["error_message"] ?? "")")
                #expect(try await sut.storage().list(prefix: "source/\(id)/").isEmpty, "\(path) left an object")
            }
            let temporary = (try? FileManager.default.contentsOfDirectory(atPath: sut.storageDirectory + "/.tmp")) ?? []
            #expect(temporary.isEmpty, "temporary files left: \(temporary)")

            // Deleted while its source downloads: the finished download is removed, not left behind.
            let doomed = try await Self.accepted(sut, vidd, url: origin.baseURL + "/deleted.mp4")
            _ = try await Self.waitForFetching(sut, vidd, doomed)
            #expect(try await sut.request(vidd, "DELETE", "/videos/\(doomed)").status == 204)
            deletionGate.open()
            #expect(await vidd.process.waitForLog("video deleted while its source was fetched", timeout: .seconds(60)) != nil)
            #expect(try await sut.storage().list(prefix: "source/\(doomed)/").isEmpty, "the download of a deleted video was left")

            // The real thing: observed mid-download, then completed from the stored copy.
            let id = try await Self.accepted(sut, vidd, url: origin.baseURL + "/clip.mp4")
            let progress = try await Self.waitForFetching(sut, vidd, id)
            #expect(progress["stage"] as? String == "fetching" && progress["status"] as? String == "processing", "\(progress)")
            #expect((progress["bytes_fetched"] as? Int ?? 0) <= half && progress["bytes_total"] as? Int == fixture.count, "\(progress)")
            gate.open()
            let done = try await sut.waitForStatus(vidd, id, ["completed", "failed"])
            #expect(done["status"] as? String == "completed", "\(done)")
            #expect(done["original_name"] as? String == "clip.mp4")
            let stored = try await sut.storage().get(key: "source/\(id)/clip.mp4")
            #expect(stored == fixture, "the stored source is the origin's file")
            try await EndToEndTests.checkRenditions(sut, videoID: id)

            #expect(victim.acceptedConnections == 0 && victim6.acceptedConnections == 0, "a refused address was connected to")
            let metrics = try await sut.request(vidd, "GET", "/metrics").text
            #expect(metrics.contains("vidd_ingest_refused_total{rule=\"loopback\"}"))
            #expect(metrics.contains("vidd_ingest_bytes_total \(2 * fixture.count)"), "two complete downloads (one then deleted)")
        } catch {
            await sut.cleanup()
            throw error
        }
        await sut.cleanup()
    }

    /// https with the test CA (VIDD_INGEST_CA_FILE) into S3; an oversized source stops at the
    /// limit after a multipart upload began, and the upload is aborted.
    @Test func httpsIntoS3AndAnOversizedSourceLeavesNoUpload() async throws {
        guard let ca = try TestServices.require(TestServices.caFile, "VIDD_TEST_CA_FILE"),
              let cert = try TestServices.require(TestServices.serverCertFile, "VIDD_TEST_SERVER_CERT"),
              let key = try TestServices.require(TestServices.serverKeyFile, "VIDD_TEST_SERVER_KEY"),
              let sut = try await ServiceUnderTest.make("ingest-s3", backend: .s3, settings: [
                  "VIDD_INGEST_ALLOW": "127.0.0.1/32", "VIDD_INGEST_CA_FILE": ca, "VIDD_INGEST_MAX_BYTES": "10000000",
              ]) else { return }
        let fixture = [UInt8](try Data(contentsOf: URL(fileURLWithPath: ServiceUnderTest.fixture("landscape_720p.mp4"))))
        let origin = try await HTTPOrigin.start(host: "127.0.0.1", tls: .server(certificateFile: cert, keyFile: key)) { request, c in
            switch request.target {
            case "/clip.mp4": try await HTTPOrigin.respond(c, headers: [("Content-Type", "video/mp4")], body: fixture)
            default: try await Self.writeChunked(c, count: 20_000_000)
            }
        }
        defer { origin.close() }
        do {
            let vidd = try await sut.start("all")
            let id = try await Self.accepted(sut, vidd, url: origin.baseURL + "/clip.mp4")
            let done = try await sut.waitForStatus(vidd, id, ["completed", "failed"])
            #expect(done["status"] as? String == "completed", "\(done)")
            #expect(try await sut.storage().get(key: "source/\(id)/clip.mp4") == fixture)

            let huge = try await Self.accepted(sut, vidd, url: origin.baseURL + "/huge.mp4")
            let failed = try await sut.waitForStatus(vidd, huge, ["completed", "failed"])
            #expect(failed["status"] as? String == "failed")
            #expect((failed["error_message"] as? String ?? "").contains("limit of 10000000"), "\(failed)")
            #expect(try await sut.storage().list(prefix: "source/\(huge)/").isEmpty)
            let configuration = try Configuration.load(from: sut.environment)
            let client = S3Client(configuration: try S3Storage.clientConfiguration(configuration.s3!))
            defer { client.shutdown() }
            #expect(try await S3TestServer.pendingUploads(client, sut.bucket!).isEmpty, "the multipart upload was aborted")
        } catch {
            await sut.cleanup()
            throw error
        }
        await sut.cleanup()
    }
}
