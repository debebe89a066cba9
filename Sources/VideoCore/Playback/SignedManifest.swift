/// A private video's playlists as served: every URL they list gets the request's own signature
/// (`exp=…&sig=…`), since one signature covers all of the video's files (`MediaSigner`). The
/// stored playlists stay shared bytes; this runs on each request, in one pass over the text.
public enum SignedManifest {
    /// Playlists are small; anything larger is not a playlist vidd wrote.
    public static let maximumBytes: Int64 = 4 << 20

    public enum Kind: Sendable, Equatable {
        case hls, dash, vtt

        /// By the file name: `.m3u8` (HLS master and media playlists), `.mpd` (DASH), `.vtt`
        /// (the storyboard, whose cues name the sprite image).
        public init?(path: String) {
            let lower = path.lowercased()
            if lower.hasSuffix(".m3u8") { self = .hls } else if lower.hasSuffix(".mpd") { self = .dash } else if lower.hasSuffix(".vtt") { self = .vtt } else { return nil }
        }

        public var contentType: String {
            switch self {
            case .hls: "application/vnd.apple.mpegurl"
            case .dash: "application/dash+xml"
            case .vtt: "text/vtt; charset=utf-8"
            }
        }
    }

    public static func rewrite(_ text: String, kind: Kind, query: String) -> String {
        switch kind {
        case .hls: rewriteHLS(text, query: query)
        case .dash: rewriteDASH(text, query: query)
        case .vtt: rewriteVTT(text, query: query)
        }
    }

    /// The first payload line of each cue (the line after `… --> …`): the image a storyboard
    /// cue shows (`storyboard.jpg#xywh=…`; the query goes before the fragment).
    public static func rewriteVTT(_ text: String, query: String) -> String {
        var afterTiming = false
        return lines(text).map { line, ending in
            defer { afterTiming = line.contains("-->") }
            return (afterTiming && !line.isEmpty ? signed(line, query: query, separator: "&") : line) + ending
        }.joined()
    }

    /// URI lines, and `URI="…"` attributes of tags (`#EXT-X-MAP`, `#EXT-X-MEDIA`,
    /// `#EXT-X-I-FRAME-STREAM-INF`, …). Line endings are kept as they were.
    public static func rewriteHLS(_ text: String, query: String) -> String {
        lines(text).map { line, ending in
            let trimmed = line.trimmingPrefix(while: { $0 == " " || $0 == "\t" })
            if trimmed.isEmpty { return line + ending }
            if trimmed.hasPrefix("#") { return rewriteAttribute(Substring(line), name: "URI=\"", query: query, separator: "&") + ending }
            return signed(line, query: query, separator: "&") + ending
        }.joined()
    }

    /// The lines of `text` with their endings (`\n`, `\r\n` or none), split on bytes: Swift
    /// treats `\r\n` as one Character, so splitting a String on "\n" would miss CRLF lines.
    static func lines(_ text: String) -> [(line: String, ending: String)] {
        let bytes = Array(text.utf8)
        var out: [(String, String)] = []
        var start = 0
        while start < bytes.count {
            let newline = bytes[start...].firstIndex(of: 0x0A)
            let end = newline ?? bytes.count
            let crlf = newline != nil && end > start && bytes[end - 1] == 0x0D
            let lineEnd = crlf ? end - 1 : end
            out.append((String(decoding: bytes[start..<lineEnd], as: UTF8.self), newline == nil ? "" : (crlf ? "\r\n" : "\n")))
            start = end + 1
        }
        return out
    }

    /// `media`, `initialization`, `sourceURL`, `href` attributes and `<BaseURL>` text; `&` is
    /// written `&amp;` as XML wants.
    public static func rewriteDASH(_ text: String, query: String) -> String {
        var out = text
        for attribute in ["media=\"", "initialization=\"", "sourceURL=\"", "href=\""] {
            out = rewriteAttribute(Substring(out), name: attribute, query: query, separator: "&amp;")
        }
        return rewriteElement(out, open: "<BaseURL>", close: "</BaseURL>", query: query)
    }

    /// `url` with the query appended — unless it is absolute (another host's URL is not ours to sign).
    static func signed(_ url: String, query: String, separator: String) -> String {
        if url.isEmpty || url.contains("://") || url.hasPrefix("data:") { return url }
        // A query already there: add ours after it; a fragment stays last.
        let (base, fragment) = url.firstIndex(of: "#").map { (url[..<$0], url[$0...]) } ?? (Substring(url), "")
        let glue = base.contains("?") ? separator : "?"
        return String(base) + glue + (separator == "&" ? query : query.replacing("&", with: separator)) + fragment
    }

    static func rewriteAttribute(_ text: Substring, name: String, query: String, separator: String) -> String {
        var out = ""
        var rest = text
        while let start = rest.firstRange(of: name) {
            out += rest[..<start.upperBound]
            rest = rest[start.upperBound...]
            guard let end = rest.firstIndex(of: "\"") else { break }
            out += signed(String(rest[..<end]), query: query, separator: separator)
            rest = rest[end...]
        }
        return out + rest
    }

    static func rewriteElement(_ text: String, open: String, close: String, query: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let start = rest.firstRange(of: open) {
            out += rest[..<start.upperBound]
            rest = rest[start.upperBound...]
            guard let end = rest.firstRange(of: close) else { break }
            let url = rest[..<end.lowerBound]
            // A base URL names a directory: the signature goes on the files under it, not on it.
            out += url.hasSuffix("/") ? String(url) : signed(String(url), query: query, separator: "&amp;")
            rest = rest[end.lowerBound...]
        }
        return out + rest
    }
}
