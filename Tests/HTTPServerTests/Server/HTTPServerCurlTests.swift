import Foundation
import HTTPServer
import Reactor
import Testing

/// The server against curl over loopback.
@Suite struct HTTPServerCurlTests {
    @Test func keepAliveReusesTheConnection() async throws {
        var router = Router()
        router.get("/hello/:name") { req in .text("hello \(req.parameters["name"] ?? "?")") }
        try await withServer(router) { _, base in
            let r = try await curl(["-v", "\(base)/hello/a", "\(base)/hello/b", "\(base)/hello/%C3%A9"])
            #expect(r.stdout == "hello ahello bhello é")
            #expect(r.stderr.contains("Re-using existing connection") || r.stderr.contains("Reusing existing connection"))
            #expect(r.stderr.contains("< date: "))
            #expect(r.stderr.contains("< content-length: 7"))
        }
    }

    @Test func headHasLengthButNoBodyAnd405ListsAllow() async throws {
        var router = Router()
        router.get("/x") { _ in .text("0123456789") }
        router.delete("/x") { _ in HTTPResponse(status: .noContent) }
        try await withServer(router) { _, base in
            let head = try await curl(["-I", "\(base)/x"])
            #expect(head.stdout.hasPrefix("HTTP/1.1 200 OK"))
            #expect(head.stdout.contains("content-length: 10"))
            let post = try await curl(["-i", "-X", "POST", "\(base)/x"])
            #expect(post.stdout.hasPrefix("HTTP/1.1 405"))
            #expect(post.stdout.contains("Allow: GET, DELETE, HEAD"))
            let missing = try await curl(["-i", "\(base)/nope"])
            #expect(missing.stdout.hasPrefix("HTTP/1.1 404"))
        }
    }

    /// 64 MiB chunked upload streamed through a handler that only counts and hashes: the server's
    /// memory must not grow by anything like the body size (the 1 GiB run is scripts/http-upload-1g.sh).
    @Test func chunkedUploadIsStreamedWithoutBuffering() async throws {
        var router = Router()
        router.put("/upload", body: .streamed) { req in
            var hasher = Crypto.SHA256()
            var total = 0
            for try await chunk in req.body {
                total += chunk.count
                hasher.update(chunk)
            }
            return .text("\(total) \(Hex.encode(hasher.finalize()))")
        }
        let configured = router
        try await ExclusiveSection.memory.run { try await Self.uploadAndMeasure(configured) }
    }

    static func uploadAndMeasure(_ router: Router) async throws {
        try await withServer(router) { _, base in
            let size = 64 << 20
            let before = residentBytes()
            let r = try await runProcess("/bin/sh", ["-c",
                "head -c \(size) /dev/zero | curl -sS -T - -H 'Transfer-Encoding: chunked' \(base)/upload"])
            let after = residentBytes()
            let expectedHash = Hex.encode(Crypto.sha256([UInt8](repeating: 0, count: size)))
            #expect(r.stdout == "\(size) \(expectedHash)")
            #expect(after - before < 24 << 20, "server grew by \((after - before) >> 20) MiB for a 64 MiB upload")
        }
    }

    @Test func collectedBodyOverTheLimitGets413() async throws {
        var router = Router()
        router.post("/small") { req in .text("\(try await req.body.collect(upTo: 1 << 20).count)") }
        try await withServer(router, configure: { $0.limits.maxCollectedBodyBytes = 1000 }) { _, base in
            let ok = try await runProcess("/bin/sh", ["-c", "head -c 1000 /dev/zero | curl -sS --data-binary @- \(base)/small"])
            #expect(ok.stdout == "1000")
            let big = try await runProcess("/bin/sh", ["-c", "head -c 1001 /dev/zero | curl -sS -i --data-binary @- \(base)/small"])
            #expect(big.stdout.hasPrefix("HTTP/1.1 413"))
        }
    }

    @Test func expectContinueGetsA100BeforeTheBody() async throws {
        var router = Router()
        router.post("/echo-size") { req in .text("\(try await req.body.collect(upTo: 1 << 20).count)") }
        router.post("/reject") { _ in throw HTTPError(.forbidden) }
        try await withServer(router) { _, base in
            let r = try await runProcess("/bin/sh", ["-c",
                "head -c 5000 /dev/zero | curl -sS -v -H 'Expect: 100-continue' --data-binary @- \(base)/echo-size"])
            #expect(r.stderr.contains("HTTP/1.1 100 Continue"))
            #expect(r.stdout == "5000")
            // A handler that refuses without reading: no 100, a 403 and a close.
            let rejected = try await runProcess("/bin/sh", ["-c",
                "head -c 5000 /dev/zero | curl -sS -v -H 'Expect: 100-continue' --data-binary @- \(base)/reject"])
            #expect(!rejected.stderr.contains("100 Continue"))
            #expect(rejected.stderr.contains("< HTTP/1.1 403"))
            #expect(rejected.stderr.contains("< connection: close"))
        }
    }

    @Test func rangeRequestsOnStaticFiles() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vidd-static-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let content = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try Data(content).write(to: dir.appendingPathComponent("clip.mp4"))
        try Data("secret".utf8).write(to: dir.deletingLastPathComponent().appendingPathComponent("outside-\(dir.lastPathComponent).txt"))
        let files = try StaticFiles(root: dir.path)
        var router = Router()
        router.get("/media/*path") { req in try await files.respond(to: req, path: req.parameters["path"] ?? "") }
        try await withServer(router) { _, base in
            let out = dir.appendingPathComponent("part.bin").path
            let part = try await curl(["-r", "1000-1999", "-o", out, "-w", "%{http_code} %{content_type}", "\(base)/media/clip.mp4"])
            #expect(part.stdout == "206 video/mp4")
            #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data(content[1000...1999]))
            let suffix = try await curl(["-r", "-10", "-o", out, "-w", "%{http_code}", "\(base)/media/clip.mp4"])
            #expect(suffix.stdout == "206")
            #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data(content[99_990...]))
            let whole = try await curl(["-o", out, "-w", "%{http_code}", "\(base)/media/clip.mp4"])
            #expect(whole.stdout == "200")
            #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data(content))
            let unsatisfiable = try await curl(["-i", "-r", "200000-", "\(base)/media/clip.mp4"])
            #expect(unsatisfiable.stdout.hasPrefix("HTTP/1.1 416"))
            #expect(unsatisfiable.stdout.contains("Content-Range: bytes */100000"))
            // conditional GET with the validator from a first response
            let first = try await curl(["-sI", "\(base)/media/clip.mp4"])
            let etag = first.stdout.split(separator: "\r\n").first { $0.hasPrefix("ETag: ") }.map { String($0.dropFirst(6)) } ?? "none"
            let cached = try await curl(["-o", "/dev/null", "-w", "%{http_code}", "-H", "If-None-Match: \(etag)", "\(base)/media/clip.mp4"])
            #expect(cached.stdout == "304")
            let stale = try await curl(["-o", out, "-w", "%{http_code}", "-r", "0-9", "-H", "If-Range: \"other\"", "\(base)/media/clip.mp4"])
            #expect(stale.stdout == "200")
            // traversal attempts, raw and encoded (curl --path-as-is keeps the dots)
            for attack in ["/media/../outside-\(dir.lastPathComponent).txt", "/media/%2e%2e/outside-\(dir.lastPathComponent).txt",
                           "/media/..%2foutside-\(dir.lastPathComponent).txt", "/media/clip.mp4%00.txt"] {
                let r = try await curl(["--path-as-is", "-o", "/dev/null", "-w", "%{http_code}", "\(base)\(attack)"])
                #expect(r.stdout == "404", "\(attack)")
            }
        }
    }

    @Test func sseReadByCurl() async throws {
        var router = Router()
        router.get("/events") { req in
            .eventStream(for: req, heartbeat: .milliseconds(200)) { lastID, events in
                let start = Int(lastID ?? "0") ?? 0
                for i in (start + 1)...(start + 3) {
                    try await events.send(ServerSentEvent(event: "progress", data: "line one\nline two \(i)", id: "\(i)"))
                }
                try await EventLoop.shared.sleep(for: .milliseconds(500))  // heartbeats go out meanwhile
                try await events.send(ServerSentEvent(data: "bye", retry: 1500))
            }
        }
        try await withServer(router) { _, base in
            let r = try await curl(["-N", "-i", "-H", "Last-Event-ID: 41", "\(base)/events"])
            #expect(r.stdout.contains("Content-Type: text/event-stream"))
            #expect(r.stdout.contains("transfer-encoding: chunked"))
            #expect(r.stdout.contains("event: progress\nid: 42\ndata: line one\ndata: line two 42\n\n"))
            #expect(r.stdout.contains("id: 44\n"))
            #expect(r.stdout.contains("\n:\n\n"))  // a heartbeat comment
            #expect(r.stdout.hasSuffix("retry: 1500\ndata: bye\n\n"))
        }
    }

    @Test func clientGoingAwayCancelsTheHandler() async throws {
        let cancelled = Flag()
        let started = Flag()
        var router = Router()
        router.get("/slow") { _ in
            started.set()
            do {
                try await EventLoop.shared.sleep(for: .seconds(60))
            } catch {
                cancelled.set()
                throw error
            }
            return .text("too late")
        }
        try await withServer(router) { _, base in
            async let client = curl(["--max-time", "1", "\(base)/slow"])
            #expect(await started.wait(upTo: .seconds(10)))
            _ = try await client
            #expect(await cancelled.wait(upTo: .seconds(10)), "handler not cancelled after the client left")
        }
    }

    @Test func sseProducerIsCancelledWhenTheClientLeaves() async throws {
        let cancelled = Flag()
        var router = Router()
        router.get("/stream") { req in
            .eventStream(for: req, heartbeat: .seconds(60)) { _, events in
                try await events.send(ServerSentEvent(data: "first"))
                await withTaskCancellationHandler {
                    try? await EventLoop.shared.sleep(for: .seconds(60))
                } onCancel: { cancelled.set() }
            }
        }
        try await withServer(router) { _, base in
            let r = try await curl(["-N", "--max-time", "1", "\(base)/stream"])
            #expect(r.stdout == "data: first\n\n")
            #expect(await cancelled.wait(upTo: .seconds(10)), "SSE producer not cancelled after the client left")
        }
    }
}
