#if canImport(Glibc)
import Glibc
#endif
import HTTPServer
import VideoCore

/// The web app (`WebApp/static/`, embedded at build time): which paths it answers and how.
///
/// - `/`, `/upload` and `/watch/{id}` are the app's own pages: each answers `index.html` and the
///   page's router shows the view, so a shared link, a reload and a new tab all work.
/// - `/app/{file}` are its scripts, styles and icons; `/favicon.ico` the icon browsers ask for.
///
/// Every file has a strong ETag (a hash of its bytes; 304 on If-None-Match) and `Cache-Control:
/// no-cache`: names are stable (no build step renames them), so a browser revalidates each load
/// with a conditional request and never runs a stale script after vidd is upgraded. gzip bytes
/// (made at build time) go to clients that accept them. The Content-Security-Policy allows
/// scripts and styles from this origin only — no inline script or style — and media from here
/// plus, with S3 storage, the bucket's origin that `/media` redirects to.
struct WebApp: Sendable {
    let files: [String: WebAppFile]
    let contentSecurityPolicy: String
    /// The page's files never change while this process runs; `If-Modified-Since` compares with this.
    let startedAt: Int

    init(files: [String: WebAppFile] = WebAppAssets.files, mediaOrigin: String?, startedAt: Int = Int(time(nil))) {
        self.files = files
        self.contentSecurityPolicy = Self.policy(mediaOrigin: mediaOrigin)
        self.startedAt = startedAt
    }

    static func policy(mediaOrigin: String?) -> String {
        let media = mediaOrigin.map { "'self' \($0)" } ?? "'self'"
        return [
            "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src \(media)", "media-src \(media)",
            "connect-src \(media)", "manifest-src 'self'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
        ].joined(separator: "; ")
    }

    /// The file a path names, or nil when the path is not the app's.
    func file(forPath path: String) -> WebAppFile? {
        switch path {
        case "/", "/upload", "/upload/":
            return files["index.html"]
        case "/favicon.ico":
            return files["favicon.ico"]
        default:
            break
        }
        if path.hasPrefix("/watch/") {
            // One non-empty segment: the video id (the page asks the API whether it exists).
            let id = path.dropFirst("/watch/".count)
            return !id.isEmpty && !id.contains("/") ? files["index.html"] : nil
        }
        if path.hasPrefix("/app/") {
            let name = String(path.dropFirst("/app/".count))
            // index.html is the pages' document, not an asset under its own name.
            return name == "index.html" ? nil : files[name]
        }
        return nil
    }

    func respond(to request: HTTPRequest, file: WebAppFile) -> HTTPResponse {
        let gzip = file.gzip != nil && Self.acceptsGzip(request.headers.values("Accept-Encoding"))
        let etag = gzip ? file.gzipETag : file.etag
        var headers: HTTPFields = [
            "Content-Type": file.contentType,
            "ETag": etag,
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": contentSecurityPolicy,
            "Referrer-Policy": "same-origin",
            "Cross-Origin-Opener-Policy": "same-origin",
        ]
        if file.gzip != nil { headers["Vary"] = "Accept-Encoding" }
        switch ConditionalRequest.evaluate(method: request.method, headers: request.headers, etag: etag, lastModified: startedAt) {
        case .notModified:
            return HTTPResponse(status: .notModified, headers: headers)
        case .preconditionFailed:
            return HTTPResponse(status: .preconditionFailed, headers: headers)
        case .proceed:
            break
        }
        if gzip { headers["Content-Encoding"] = "gzip" }
        return HTTPResponse(status: .ok, headers: headers, body: .bytes(gzip ? file.gzip! : file.identity))
    }

    /// Whether `Accept-Encoding` (RFC 9110 §12.5.3) allows gzip: `gzip`, `x-gzip` or `*` with a
    /// non-zero weight, and no `gzip;q=0`.
    static func acceptsGzip(_ values: [String]) -> Bool {
        var gzip: Double?
        var any: Double?
        for value in values {
            for member in value.split(separator: ",") {
                let parts = member.split(separator: ";").map { $0.trimmingBlanksLowercased() }
                guard let coding = parts.first, !coding.isEmpty else { continue }
                var weight = 1.0
                for parameter in parts.dropFirst() {
                    let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingBlanksLowercased() }
                    if pair.count == 2, pair[0] == "q" { weight = Double(pair[1]) ?? 0 }
                }
                switch coding {
                case "gzip", "x-gzip": gzip = max(gzip ?? 0, weight)
                case "*": any = weight
                default: break
                }
            }
        }
        return (gzip ?? any ?? 0) > 0
    }
}
