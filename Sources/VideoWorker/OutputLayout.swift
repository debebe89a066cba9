import VideoCore

/// Where each file the transcoder writes goes in the bucket (`ObjectKeys`' layout), and the one
/// rewrite that move needs: the transcoder writes `master.m3u8` next to `hls/`, the bucket keeps
/// it inside `hls/`, so its URIs lose their `hls/` prefix.
///
/// Rungs are named by their short side (`360p`), like the transcoder names them, also for portrait
/// sources: `mp4/360p.mp4` of a 360×640 source is 360 wide and 640 high. The `resolutions` row
/// carries the real width and height.
public enum OutputLayout {
    /// The object key for a transcoder output (`relativePath` as in `OutputFile`), or nil when the
    /// path cannot be a key (never for what the transcoder writes).
    public static func key(forRelativePath path: String, videoID: String) -> String? {
        let key: String
        if path == "master.m3u8" {
            key = ObjectKeys.hlsMaster(videoID: videoID)
        } else if !path.contains("/"), path.hasSuffix("p.mp4"), let n = rungShortSide(String(path.dropLast(4))) {
            key = ObjectKeys.mp4(videoID: videoID, height: n)
        } else if path == "audio.m4a" {
            key = ObjectKeys.processedDirectory(videoID: videoID) + "mp4/audio.m4a"
        } else {
            key = ObjectKeys.processedDirectory(videoID: videoID) + path
        }
        return (try? ObjectKeys.validate(key)) != nil ? key : nil
    }

    /// `"360p"` → 360.
    public static func rungShortSide(_ name: String) -> Int? {
        guard name.hasSuffix("p"), let n = Int(name.dropLast()), n > 0 else { return nil }
        return n
    }

    /// The master playlist as stored in `hls/`: `hls/720p/index.m3u8` → `720p/index.m3u8`, in URI
    /// lines and in `URI="…"` attributes.
    public static func masterPlaylistForBucket(_ text: String) -> String {
        var lines: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("#") {
                lines.append(Substring(String(line).replacing("URI=\"hls/", with: "URI=\"")))
            } else if line.hasPrefix("hls/") {
                lines.append(line.dropFirst(4))
            } else {
                lines.append(line)
            }
        }
        return lines.joined(separator: "\n")
    }

    public static func contentType(forKey key: String) -> String? {
        if key.hasSuffix(".m3u8") { return "application/vnd.apple.mpegurl" }
        if key.hasSuffix(".mpd") { return "application/dash+xml" }
        if key.hasSuffix(".m4s") { return "video/iso.segment" }
        if key.hasSuffix(".mp4") { return "video/mp4" }
        if key.hasSuffix(".m4a") { return "audio/mp4" }
        if key.hasSuffix(".jpg") { return "image/jpeg" }
        if key.hasSuffix(".vtt") { return "text/vtt" }
        return nil
    }
}
