/// The object layout in the bucket (the contract): `source/{id}/{original name}` and
/// `processed/{id}/…` — an MP4 per rung, the HLS tree, the poster and the storyboard.
public enum ObjectKeys {
    public static let sourcePrefix = "source/"
    public static let processedPrefix = "processed/"

    public static func source(videoID: String, originalName: String) -> String {
        "source/\(videoID)/\(sanitizeFileName(originalName))"
    }

    public static func sourceDirectory(videoID: String) -> String { "source/\(videoID)/" }
    public static func processedDirectory(videoID: String) -> String { "processed/\(videoID)/" }

    public static func mp4(videoID: String, height: Int) -> String { "processed/\(videoID)/mp4/\(height)p.mp4" }
    public static func hlsMaster(videoID: String) -> String { "processed/\(videoID)/hls/master.m3u8" }
    public static func hlsPlaylist(videoID: String, height: Int) -> String { "processed/\(videoID)/hls/\(height)p/index.m3u8" }
    public static func hlsSegment(videoID: String, height: Int, index: Int, fileExtension: String = "m4s") -> String {
        let n = String(index)
        return "processed/\(videoID)/hls/\(height)p/segment_\(String(repeating: "0", count: max(0, 5 - n.count)))\(n).\(fileExtension)"
    }
    public static func hlsInit(videoID: String, height: Int) -> String { "processed/\(videoID)/hls/\(height)p/init.mp4" }
    /// MPEG-DASH over the HLS tree's init and segment files (`hls/<rung>/…`, relative to it).
    public static func dashManifest(videoID: String) -> String { "processed/\(videoID)/manifest.mpd" }
    public static func poster(videoID: String) -> String { "processed/\(videoID)/poster.jpg" }
    public static func storyboardImage(videoID: String) -> String { "processed/\(videoID)/storyboard.jpg" }
    public static func storyboardVTT(videoID: String) -> String { "processed/\(videoID)/storyboard.vtt" }

    /// The `{path}` of `GET /media/{id}/{path}` for an output key, or nil if the key is not an output of `videoID`.
    public static func mediaPath(forKey key: String, videoID: String) -> String? {
        let prefix = processedDirectory(videoID: videoID)
        guard key.hasPrefix(prefix), key.count > prefix.count else { return nil }
        return String(key.dropFirst(prefix.count))
    }

    /// The key behind `GET /media/{id}/{path}`, or nil when `path` would leave `processed/{id}/`.
    public static func key(forMediaPath path: String, videoID: String) -> String? {
        let key = processedDirectory(videoID: videoID) + path
        return (try? validate(key)) != nil ? key : nil
    }

    /// A file name safe in a key, a URL and on every filesystem: the last path component only,
    /// ASCII letters, digits, `.`, `-`, `_` (anything else becomes `_`), no leading dot, at most
    /// 200 bytes with the extension kept. Empty input becomes `source`.
    public static func sanitizeFileName(_ name: String) -> String {
        let last = name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        var out = ""
        var lastWasUnderscore = false
        for scalar in last.unicodeScalars {
            let ok = (scalar.value >= 0x30 && scalar.value <= 0x39) || (scalar.value >= 0x41 && scalar.value <= 0x5A)
                || (scalar.value >= 0x61 && scalar.value <= 0x7A) || scalar == "." || scalar == "-" || scalar == "_"
            if ok {
                out.unicodeScalars.append(scalar)
                lastWasUnderscore = scalar == "_"
            } else if !lastWasUnderscore {
                out += "_"
                lastWasUnderscore = true
            }
        }
        while out.hasPrefix(".") { out.removeFirst() }
        if out.count > 200 {
            let ext = out.split(separator: ".").count > 1 ? "." + out.split(separator: ".").last! : ""
            out = String(out.prefix(200 - min(ext.count, 20))) + ext.prefix(20)
        }
        let meaningful = out.contains { $0 != "_" && $0 != "." && $0 != "-" }
        return meaningful ? out : "source"
    }

    public struct InvalidKey: Error, Sendable, Equatable, CustomStringConvertible {
        public var key: String
        public var reason: String
        public var description: String { "invalid object key \"\(key.prefix(200))\": \(reason)" }
    }

    /// Keys are relative, `/`-separated, with no empty, `.`/`..` or dot-leading component, no NUL or
    /// backslash or control character, ≤ 1024 bytes: so a key can never name a path outside the
    /// storage root, nor the file backend's own temporary files.
    public static func validate(_ key: String) throws(InvalidKey) {
        guard !key.isEmpty else { throw InvalidKey(key: key, reason: "empty") }
        guard key.utf8.count <= 1024 else { throw InvalidKey(key: key, reason: "longer than 1024 bytes") }
        guard !key.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || $0 == "\\" }) else {
            throw InvalidKey(key: key, reason: "contains a control character or backslash")
        }
        for component in key.split(separator: "/", omittingEmptySubsequences: false) {
            if component.isEmpty { throw InvalidKey(key: key, reason: "empty path component (leading, trailing or double slash)") }
            if component.hasPrefix(".") { throw InvalidKey(key: key, reason: "a component starts with a dot") }
            if component.utf8.count > 255 { throw InvalidKey(key: key, reason: "a component is longer than 255 bytes") }
        }
    }

    /// A key as a client submitted it (`source_key` or the seed's `s3_path`): the bucket it
    /// named (`s3://bucket/key`), if any, and the key without a leading `/`.
    public struct SubmittedKey: Sendable, Equatable {
        public var bucket: String?
        public var key: String
    }

    /// nil when what remains after `s3://bucket/` and leading slashes is not a valid key.
    public static func parseSubmittedKey(_ raw: String) -> SubmittedKey? {
        var key = Substring(raw)
        var bucket: String?
        if key.hasPrefix("s3://") {
            key = key.dropFirst(5)
            guard let slash = key.firstIndex(of: "/") else { return nil }
            bucket = String(key[..<slash])
            key = key[key.index(after: slash)...]
        }
        while key.hasPrefix("/") { key.removeFirst() }
        let s = String(key)
        return (try? validate(s)) != nil ? SubmittedKey(bucket: bucket, key: s) : nil
    }

    /// The key alone (the bucket, if one was named, is the caller's to check).
    public static func normalizeSubmittedKey(_ raw: String) -> String? {
        parseSubmittedKey(raw)?.key
    }
}
