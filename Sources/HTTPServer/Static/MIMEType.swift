/// Content types by file extension for the static file handler. Unknown extensions are served as
/// `application/octet-stream` (with `X-Content-Type-Options: nosniff`, browsers will not guess).
public enum MIMEType {
    public static func forExtension(_ ext: String) -> String {
        switch ext.lowercased() {
        case "html", "htm": "text/html; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "js", "mjs": "text/javascript; charset=utf-8"
        case "json", "map": "application/json"
        case "txt": "text/plain; charset=utf-8"
        case "csv": "text/csv; charset=utf-8"
        case "xml": "application/xml"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "jpg", "jpeg": "image/jpeg"
        case "gif": "image/gif"
        case "webp": "image/webp"
        case "avif": "image/avif"
        case "ico": "image/vnd.microsoft.icon"
        case "woff": "font/woff"
        case "woff2": "font/woff2"
        case "wasm": "application/wasm"
        case "pdf": "application/pdf"
        case "mp4", "m4v": "video/mp4"
        case "m4s": "video/iso.segment"
        case "m4a": "audio/mp4"
        case "webm": "video/webm"
        case "mkv": "video/x-matroska"
        case "mov": "video/quicktime"
        case "ts": "video/mp2t"
        case "m3u8": "application/vnd.apple.mpegurl"
        case "mpd": "application/dash+xml"
        case "vtt": "text/vtt; charset=utf-8"
        case "mp3": "audio/mpeg"
        case "aac": "audio/aac"
        case "ogg", "oga": "audio/ogg"
        case "wav": "audio/wav"
        default: "application/octet-stream"
        }
    }
}
