import Reactor
import Testing
import TestSupport
@testable import VideoCore
@testable import VideoWorker

/// URL ingest's download in-process, against a loopback origin that answers the way a broken or
/// odd server does: each edge ends in the right kind of failure (permanent or retried), with a
/// message naming what was wrong, and leaves nothing in storage (no object, no temporary file).
@Suite struct SourceIngestEdgeTests {
    enum Expected: Sendable {
        case permanent(FailureCode, String)
        case transient(String)
    }

    struct Vector: Sendable, CustomTestStringConvertible {
        var name: String
        var respond: HTTPOrigin.Handler
        var expected: Expected
        var testDescription: String { name }
    }

    static let vectors: [Vector] = [
        // Asked for identity; a server that compresses anyway would store a gzip file as the
        // source, which then fails as "not a video" with nothing saying why.
        Vector(name: "gzip despite Accept-Encoding: identity", respond: { _, c in
            try await HTTPOrigin.respond(c, headers: [("Content-Type", "video/mp4"), ("Content-Encoding", "gzip")],
                                         body: [0x1F, 0x8B, 0x08, 0x00, 1, 2, 3, 4])
        }, expected: .permanent(.sourceUnavailable, "Content-Encoding gzip")),
        Vector(name: "a 200 with an empty body", respond: { _, c in
            try await HTTPOrigin.respond(c, headers: [("Content-Type", "video/mp4")], body: [])
        }, expected: .permanent(.emptyFile, "empty body")),
        Vector(name: "a Content-Length longer than the body", respond: { _, c in
            try await c.write(Array("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n".utf8) + [UInt8](repeating: 7, count: 1000))
        }, expected: .transient("source_url")),
        Vector(name: "a chunked body without its last chunk", respond: { _, c in
            try await c.write(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n".utf8))
        }, expected: .transient("source_url")),
        Vector(name: "a body that stalls", respond: { _, c in
            try await c.write(Array("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n".utf8) + [UInt8](repeating: 7, count: 1000))
            try await Task.sleep(for: .seconds(5))
        }, expected: .transient("nothing happened")),
        // The server's answer is not HTTP vidd can read: the same on every retry.
        Vector(name: "a transfer coding other than chunked", respond: { _, c in
            try await c.write(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n".utf8))
        }, expected: .permanent(.sourceUnavailable, "unsupported Transfer-Encoding: gzip, chunked")),
        Vector(name: "not HTTP (a shoutcast status line)", respond: { _, c in
            try await c.write(Array("ICY 200 OK\r\nicy-name: radio\r\n\r\n".utf8))
        }, expected: .permanent(.sourceUnavailable, "malformed response")),
        Vector(name: "a redirect to an address the guard refuses", respond: { _, c in
            try await HTTPOrigin.redirect(c, to: "http://127.0.0.2:9/clip.mp4")
        }, expected: .permanent(.sourceRefused, "127.0.0.2")),
    ]

    @Test(arguments: vectors)
    func edge(_ v: Vector) async throws {
        let origin = try await HTTPOrigin.start(host: "127.0.0.1", handler: v.respond)
        defer { origin.close() }
        let root = try FileFixture.makeTemporaryDirectory()
        defer { FileFixture.removeTree(root) }
        let storage = try FileStorage(root: root)
        var settings = Configuration.IngestSettings()
        settings.allowList = OutboundAllowList(networks: [try #require(IPNetwork(cidr: "127.0.0.1/32"))])
        settings.stallTimeout = .milliseconds(300)
        settings.timeout = .seconds(10)
        let ingest = SourceIngest(settings: settings)
        let id = VideoID.generate()
        let key = ObjectKeys.source(videoID: id, originalName: "clip.mp4")
        do {
            let stored = try await ingest.ingest(origin.baseURL + "/clip.mp4", into: storage, key: key) { _, _ in }
            Issue.record("\(v.name): stored \(stored.size) bytes, expected a failure")
        } catch SourceIngest.Failure.permanent(let code, let message, _) {
            guard case .permanent(let expectedCode, let words) = v.expected else {
                Issue.record("\(v.name): permanent \(code) \(message), expected a retry"); return
            }
            #expect(code == expectedCode && message.contains(words), "\(v.name): \(code) \(message)")
        } catch SourceIngest.Failure.transient(let message) {
            guard case .transient(let words) = v.expected else {
                Issue.record("\(v.name): transient \(message), expected a permanent failure"); return
            }
            #expect(message.contains(words), "\(v.name): \(message)")
        }
        #expect(FileFixture.files(under: root).isEmpty, "\(v.name) left \(FileFixture.files(under: root))")
    }
}
