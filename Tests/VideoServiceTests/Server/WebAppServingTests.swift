import Foundation
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

/// The web app as vidd serves it from the binary: its pages' URLs, its files with their types,
/// validators and gzip, and the headers that keep the page to its own origin.
@Suite struct WebAppServingTests {
    static let pages = ["/", "/upload", "/watch/\(VideoID.generate())", "/watch/not-even-a-uuid"]

    @Test func everyPageURLServesTheAppShell() async throws {
        try await APITestEnvironment.with("app-pages") { env in
            var tags = Set<String>()
            for path in Self.pages {
                let page = try await env.client.get(path)
                #expect(page.status == 200, "\(path): \(page.status)")
                #expect(page.header("Content-Type") == "text/html; charset=utf-8", "\(path)" as Comment)
                #expect(page.header("Cache-Control") == "no-cache")
                #expect(page.header("X-Content-Type-Options") == "nosniff")
                let csp = try #require(page.header("Content-Security-Policy"))
                #expect(csp.contains("default-src 'none'") && csp.contains("script-src 'self'") && csp.contains("style-src 'self'"), "\(csp)")
                #expect(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "\(csp)")
                #expect(page.text.contains("<script type=\"module\" src=\"/app/app.js\"></script>"), "\(path)")
                tags.insert(page.header("ETag") ?? "")
            }
            #expect(tags.count == 1, "one document: \(tags)")
            // Not the app's: JSON 404s like any unknown route.
            for path in ["/watch/", "/watch/a/b", "/app/", "/app/index.html", "/app/nope.js", "/app/../openapi.json", "/uploadx"] {
                let answer = try await env.client.get(path)
                #expect(answer.status == 404 && (try? answer.apiError().code) == "not_found", "\(path): \(answer.status)")
            }
            let post = try await env.client.request("POST", "/upload")
            #expect(post.status == 404, "the pages are GET only")
        }
    }

    @Test func filesHaveTheirTypesAndNoInlineCode() async throws {
        try await APITestEnvironment.with("app-files") { env in
            #expect(!WebAppAssets.files.isEmpty)
            for (path, file) in WebAppAssets.files where path != "index.html" {
                let url = path == "favicon.ico" ? "/favicon.ico" : "/app/" + path
                let answer = try await env.client.get(url)
                #expect(answer.status == 200 && answer.body == file.identity, "\(url)")
                let ext = String(path.split(separator: ".").last ?? "")
                let expected = ["js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8", "svg": "image/svg+xml",
                                "ico": "image/vnd.microsoft.icon", "png": "image/png", "webmanifest": "application/octet-stream"][ext]
                #expect(answer.header("Content-Type") == expected, "\(url): \(answer.header("Content-Type") ?? "none")")
            }
            let index = String(decoding: try #require(WebAppAssets.files["index.html"]).identity, as: UTF8.self)
            #expect(!index.contains("<style") && !index.contains(" style=") && !index.contains("javascript:"))
            #expect(index.range(of: #"<script(?![^>]*\ssrc=)"#, options: .regularExpression) == nil, "no inline script")
            // Every module the page imports is served (a typo would only show in the browser).
            for (path, file) in WebAppAssets.files where path.hasSuffix(".js") {
                let text = String(decoding: file.identity, as: UTF8.self)
                for match in text.matches(of: /from\s+"\.\/([A-Za-z0-9_\-\/]+\.js)"/) {
                    #expect(WebAppAssets.files[String(match.1)] != nil, "\(path) imports ./\(match.1)")
                }
            }
            // Nothing from another host: no absolute URL outside XML namespaces.
            for (path, file) in WebAppAssets.files where !path.hasSuffix(".ico") && !path.hasSuffix(".png") {
                let text = String(decoding: file.identity, as: UTF8.self).replacing("http://www.w3.org/2000/svg", with: "")
                #expect(!text.contains("http://") && !text.contains("https://"), "\(path) names another host")
            }
        }
    }

    @Test func conditionalRequestsAndGzip() async throws {
        try await APITestEnvironment.with("app-cache") { env in
            let first = try await env.client.get("/app/app.js")
            let etag = try #require(first.header("ETag"))
            #expect(etag.hasPrefix("\"") && etag.hasSuffix("\"") && !etag.hasPrefix("W/"), "a strong validator: \(etag)")
            let again = try await env.client.get("/app/app.js", headers: [("If-None-Match", etag)])
            #expect(again.status == 304 && again.body.isEmpty && again.header("ETag") == etag)
            let list = try await env.client.get("/app/app.js", headers: [("If-None-Match", "\"other\", \(etag)")])
            #expect(list.status == 304)
            let stale = try await env.client.get("/app/app.js", headers: [("If-None-Match", "\"0123\"")])
            #expect(stale.status == 200 && stale.body == first.body)

            let zipped = try await env.client.get("/app/app.js", headers: [("Accept-Encoding", "br, gzip;q=0.8")])
            #expect(zipped.status == 200 && zipped.header("Content-Encoding") == "gzip" && zipped.header("Vary") == "Accept-Encoding")
            let zippedTag = try #require(zipped.header("ETag"))
            #expect(zippedTag != etag, "another representation, another strong tag")
            #expect(zipped.body.count < first.body.count / 2, "\(zipped.body.count) of \(first.body.count)")
            let unzipped = try await TestProcess.run(["gzip", "-dc"], stdin: Data(zipped.body))
            #expect(unzipped.status == 0 && [UInt8](unzipped.output) == first.body)
            let revalidated = try await env.client.get("/app/app.js", headers: [("Accept-Encoding", "gzip"), ("If-None-Match", zippedTag)])
            #expect(revalidated.status == 304)

            for refusal in ["gzip;q=0", "identity", "br", "*;q=0"] {
                let plain = try await env.client.get("/app/app.js", headers: [("Accept-Encoding", refusal)])
                #expect(plain.header("Content-Encoding") == nil && plain.body == first.body, "Accept-Encoding: \(refusal)")
            }
            let head = try await env.client.request("HEAD", "/upload")
            #expect(head.status == 200 && head.body.isEmpty && head.header("ETag") != nil)
        }
    }

    @Test(arguments: [
        (["gzip"], true), (["x-gzip"], true), (["*"], true), (["deflate, gzip;q=1.0"], true), (["GZIP ; Q=0.5"], true),
        (["gzip;q=0"], false), (["gzip;q=0.000"], false), ([], false), (["br", "identity"], false), (["*;q=0"], false),
        (["br", "gzip"], true), (["*;q=0, gzip"], true), (["gzip;q=0, *"], false),
    ])
    func acceptEncoding(_ values: [String], _ gzip: Bool) {
        #expect(WebApp.acceptsGzip(values) == gzip, "\(values)")
    }

    @Test func theBucketsOriginIsWherePresignedURLsPoint() throws {
        var configuration = Configuration()
        configuration.storage = .s3
        configuration.bucket = "videos"
        configuration.s3 = .init(endpoint: "http://127.0.0.1:9000", region: "us-east-1", accessKey: "AKIDEXAMPLE", secretKey: "secret")
        #expect(try S3Storage(configuration).playbackOrigin == "http://127.0.0.1:9000", "path style: the endpoint")
        configuration.s3?.endpoint = "https://s3.eu-west-1.amazonaws.com"
        configuration.s3?.region = "eu-west-1"
        #expect(try S3Storage(configuration).playbackOrigin == "https://videos.s3.eu-west-1.amazonaws.com", "AWS: the bucket's own host")
    }

    @Test func policyNamesTheBucketWhereMediaRedirects() {
        let plain = WebApp.policy(mediaOrigin: nil)
        #expect(plain.contains("media-src 'self';") && plain.contains("img-src 'self';"))
        let s3 = WebApp.policy(mediaOrigin: "https://videos.s3.eu-west-1.amazonaws.com")
        #expect(s3.contains("media-src 'self' https://videos.s3.eu-west-1.amazonaws.com;"))
        #expect(s3.contains("script-src 'self';"), "scripts never come from the bucket")
    }
}
