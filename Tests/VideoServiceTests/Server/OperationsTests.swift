import Foundation
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

/// `/openapi.json` against what is served, `/metrics`, `/healthz`, `/readyz`, `/media`, bearer
/// tokens and the web page.
@Suite struct OperationsTests {
    /// Both ways: every documented operation is served (answered by its handler, not the
    /// router's "no route"), and for each documented path the server allows exactly the
    /// documented methods (405 + Allow otherwise); undocumented paths have no route.
    @Test func openAPIDocumentMatchesTheServedRoutes() async throws {
        try await APITestEnvironment.with("openapi") { env in
            let response = try await env.client.get("/openapi.json")
            #expect(response.status == 200 && response.header("Content-Type") == "application/json")
            let doc = try response.json()
            #expect(doc["openapi"] as? String == "3.1.0")
            #expect((doc["info"] as? [String: Any])?["version"] as? String == "test")
            let paths = try #require(doc["paths"] as? [String: [String: Any]])
            var served = Set<String>()
            for (template, operations) in paths {
                let path = template.replacing("{id}", with: VideoID.generate()).replacing("{path}", with: "mp4/720p.mp4")
                for method in operations.keys.map({ $0.uppercased() }) {
                    // The all-videos stream never ends by itself: HEAD gets its status without the stream.
                    let verb = template == "/progress" ? "HEAD" : method
                    let answer = try await env.client.request(verb, path)
                    let noRoute = answer.status == 404 && ((try? answer.apiError().message.hasPrefix("no route")) ?? false)
                    #expect(!noRoute && answer.status != 405, "\(method) \(template) is documented but not served: \(answer.status) \(answer.text)")
                    served.insert("\(method) \(template)")
                }
                let documented = Set(operations.keys.map { $0.uppercased() })
                // PUT: a method no route has (PATCH is tus's).
                let refused = try await env.client.request("PUT", path)
                #expect(refused.status == 405 && (try? refused.apiError().code) == "method_not_allowed", "\(template)")
                let allow = Set((refused.header("Allow") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
                let expected = documented.contains("GET") ? documented.union(["HEAD"]) : documented
                #expect(allow == expected, "\(template): served methods \(allow) vs documented \(documented)")
            }
            #expect(served == Set(APIRoutes.all.map { "\($0.method) \($0.path)" }))
            for path in ["/nope", "/videos/\(VideoID.generate())/nope", "/media/\(VideoID.generate())", "/jobs/x", "/v1/videos"] {
                let answer = try await env.client.get(path)
                #expect(answer.status == 404 && (try? answer.apiError().message.hasPrefix("no route")) == true, "\(path) is not documented, so not served")
            }
        }
    }

    @Test func metricsAreValidPrometheusTextAndCountRoutes() async throws {
        try await APITestEnvironment.with("metrics") { env in
            _ = try await env.client.get("/healthz")
            _ = try await env.client.get("/healthz")
            _ = try await env.client.get("/videos/\(VideoID.generate())")
            _ = try await env.client.get("/nope")
            let response = try await env.client.get("/metrics")
            #expect(response.status == 200 && response.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
            let sample = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? [-+]?([0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|NaN|Inf)$/
            var samples: [String] = []
            for line in response.text.split(separator: "\n") {
                if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") { continue }
                #expect(!line.hasPrefix("#"), "only HELP and TYPE comments: \(line)")
                #expect(line.wholeMatch(of: sample) != nil, "not a Prometheus sample line: \(line)")
                samples.append(String(line))
            }
            #expect(samples.contains(#"vidd_http_requests_total{method="GET",route="/healthz",status="200"} 2"#))
            #expect(samples.contains(#"vidd_http_requests_total{method="GET",route="/videos/{id}",status="404"} 1"#))
            #expect(samples.contains(#"vidd_http_requests_total{method="GET",route="unmatched",status="404"} 1"#))
            #expect(samples.contains(#"vidd_http_request_duration_seconds_count{method="GET",route="/healthz"} 2"#))
            #expect(response.text.contains("# TYPE vidd_http_request_duration_seconds histogram"))
        }
    }

    @Test func healthAndReadiness() async throws {
        try await APITestEnvironment.with("ready") { env in
            let health = try await env.client.get("/healthz")
            #expect(try health.status == 200 && (try health.json()["status"] as? String) == "ok")
            let ready = try await env.client.get("/readyz")
            #expect(ready.status == 200, "\(ready.text)")
            #expect(try ready.json()["checks"] as? [String: String] == ["redis": "ok", "postgres": "ok", "storage": "ok"])
        }
        // Redis unreachable: 503 naming it, the others still ok.
        let closed = try await closedPort()
        try await APITestEnvironment.with("notready", redisURL: "redis://:s3cret-password@127.0.0.1:\(closed)") { env in
            let ready = try await env.client.get("/readyz")
            #expect(ready.status == 503)
            let body = try ready.json()
            let checks = try #require(body["checks"] as? [String: String])
            #expect(checks["postgres"] == "ok" && checks["storage"] == "ok" && checks["redis"] != "ok")
            let error = try #require(body["error"] as? [String: String])
            #expect(error["code"] == "unavailable" && error["message"]?.contains("redis") == true)
            #expect(!ready.text.contains("s3cret-password"), "no secret in the answer")
            #expect(!env.logs.lines.joined().contains("s3cret-password"), "nor in the log")
        }
    }

    /// A playlist grows while its video is processed, so a byte range of it means nothing:
    /// Chromium's media cache asked for `bytes=<what it had>-` and parsed the tail alone. Manifests
    /// are always answered whole and never stored by caches.
    @Test func manifestsAreServedWholeAndUncached() async throws {
        try await APITestEnvironment.with("manifest") { env in
            let id = VideoID.generate()
            let playlist = Array("#EXTM3U\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXTINF:6.0,\nseg_0000.m4s\n".utf8)
            try await env.put(ObjectKeys.hlsMaster(videoID: id), playlist)
            let url = "/media/\(id)/hls/master.m3u8"
            for range in ["bytes=20-", "bytes=0-3", "bytes=-5"] {
                let r = try await env.client.get(url, headers: [("Range", range)])
                #expect(r.status == 200 && r.body == playlist, "\(range): \(r.status)")
                #expect(r.header("Content-Range") == nil && r.header("Accept-Ranges") == "none")
                #expect(r.header("Cache-Control") == "no-store")
            }
        }
    }

    @Test func mediaServesRangesFromFileStorage() async throws {
        try await APITestEnvironment.with("media") { env in
            let id = VideoID.generate()
            let bytes = patternBytes(3 * 1024 * 1024 + 5, seed: 99)
            try await env.put(ObjectKeys.mp4(videoID: id, height: 720), bytes)
            let url = "/media/\(id)/mp4/720p.mp4"

            let whole = try await env.client.get(url)
            #expect(whole.status == 200 && whole.body == bytes, "the whole file, read in 1 MiB pieces")
            #expect(whole.header("Accept-Ranges") == "bytes" && whole.header("Content-Type") == "video/mp4")
            let etag = try #require(whole.header("ETag"))
            #expect(whole.header("Last-Modified") != nil)

            let part = try await env.client.get(url, headers: [("Range", "bytes=1048570-1048585")])
            #expect(part.status == 206 && part.body == Array(bytes[1_048_570...1_048_585]))
            #expect(part.header("Content-Range") == "bytes 1048570-1048585/\(bytes.count)")
            let suffix = try await env.client.get(url, headers: [("Range", "bytes=-10")])
            #expect(suffix.status == 206 && suffix.body == Array(bytes.suffix(10)))

            let outside = try await env.client.get(url, headers: [("Range", "bytes=\(bytes.count)-")])
            #expect(outside.status == 416 && outside.header("Content-Range") == "bytes */\(bytes.count)")
            #expect(try outside.apiError().code == "range_not_satisfiable")

            let cached = try await env.client.get(url, headers: [("If-None-Match", etag)])
            #expect(cached.status == 304 && cached.body.isEmpty)
            let head = try await env.client.request("HEAD", url)
            #expect(head.status == 200 && head.header("Content-Length") == String(bytes.count))

            for missing in ["/media/\(id)/mp4/1080p.mp4", "/media/\(id)/..%2F..%2Fsource%2Fx", "/media/\(id)/.tmp/x", "/media/nope/mp4/720p.mp4"] {
                let r = try await env.client.get(missing)
                #expect(r.status == 404 && (try? r.apiError().code) == "not_found", "\(missing): \(r.status)")
            }
        }
    }

    @Test func bearerTokensGuardMutatingRoutes() async throws {
        let token = "test-token-0123456789abcdef"
        try await APITestEnvironment.with("auth", tokens: ["another-token-fedcba9876543210", token]) { env in
            let id = VideoID.generate()
            for (method, path) in [("POST", "/jobs"), ("DELETE", "/videos/\(id)"), ("POST", "/videos/\(id)/retry")] {
                for authorization in [nil, "Bearer wrong-token-0123456789abcd", "Basic dXNlcjpwYXNz", "Bearer"] {
                    let headers = authorization.map { [("Authorization", $0)] } ?? []
                    let r = try await env.client.request(method, path, headers: headers)
                    #expect(r.status == 401 && r.header("WWW-Authenticate") == "Bearer", "\(method) \(path) \(authorization ?? "none")")
                    #expect((try? r.apiError().code) == "unauthorized")
                }
                let allowed = try await env.client.request(method, path, headers: [("Authorization", "Bearer \(token)")])
                #expect(allowed.status != 401, "\(method) \(path) with the token: \(allowed.status)")
            }
            #expect(try await env.client.get("/videos").status == 200, "reading needs no token")
            #expect(try await env.client.get("/videos/\(id)").status == 404)
            #expect(!env.logs.lines.joined().contains(token), "the token never reaches the log")
        }
    }
}
