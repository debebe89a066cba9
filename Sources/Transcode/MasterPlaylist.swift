import Foundation

/// Builds the HLS master playlist (pure; tested on its own) and measures media playlists.
public enum MasterPlaylist {
    public struct Variant: Sendable, Equatable {
        public var uri: String
        public var width: Int
        public var height: Int
        public var frameRate: Double
        /// RFC 6381 video codec, e.g. "avc1.64001f".
        public var codec: String
        /// bits/s of the video segments alone (peak and average; an average of 0 is unknown and
        /// left out, as in a provisional master written before the rendition is complete).
        public var peakBandwidth: Int
        public var averageBandwidth: Int
    }
    public struct Audio: Sendable, Equatable {
        /// AAC-LC, the audio every ladder carries (RFC 6381 codecs value).
        public static let aacCodec = "mp4a.40.2"

        public var uri: String
        public var codec = aacCodec
        public var channels = 2
        public var peakBandwidth: Int
        public var averageBandwidth: Int
    }

    public static let audioGroup = "audio"

    /// Variants sorted by bandwidth; audio as one shared rendition group (each variant's
    /// BANDWIDTH includes the audio's, as HLS requires). Audio alone: one audio-only variant.
    public static func render(variants: [Variant], audio: Audio?) -> String {
        var out = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n"
        if let audio, !variants.isEmpty {
            out += "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"\(audioGroup)\",NAME=\"default\",LANGUAGE=\"und\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"\(audio.channels)\",URI=\"\(audio.uri)\"\n"
        }
        for v in variants.sorted(by: { $0.peakBandwidth < $1.peakBandwidth }) {
            let peak = v.peakBandwidth + (audio?.peakBandwidth ?? 0)
            let avg = v.averageBandwidth + (audio?.averageBandwidth ?? 0)
            let codecs = audio.map { "\(v.codec),\($0.codec)" } ?? v.codec
            let average = v.averageBandwidth > 0 && (audio.map { $0.averageBandwidth > 0 } ?? true) ? "AVERAGE-BANDWIDTH=\(avg)," : ""
            out += "#EXT-X-STREAM-INF:BANDWIDTH=\(peak),\(average)RESOLUTION=\(v.width)x\(v.height),"
            out += "CODECS=\"\(codecs)\",FRAME-RATE=\(String(format: "%.3f", v.frameRate))"
            if audio != nil { out += ",AUDIO=\"\(audioGroup)\"" }
            out += "\n\(v.uri)\n"
        }
        if variants.isEmpty, let audio {
            let average = audio.averageBandwidth > 0 ? "AVERAGE-BANDWIDTH=\(audio.averageBandwidth)," : ""
            out += "#EXT-X-STREAM-INF:BANDWIDTH=\(audio.peakBandwidth),\(average)CODECS=\"\(audio.codec)\"\n\(audio.uri)\n"
        }
        return out
    }

    /// Peak and average bits/s of a media playlist's segments (sizes from disk, durations from EXTINF).
    public static func measure(playlistPath: String) -> (peak: Int, average: Int) {
        guard let text = try? String(contentsOfFile: playlistPath, encoding: .utf8) else { return (0, 0) }
        return measure(playlist: text, directory: (playlistPath as NSString).deletingLastPathComponent)
    }

    /// The same for a playlist's text, its segments in `dir` (an intermediate version is read
    /// while its file still has a temporary name).
    public static func measure(playlist text: String, directory dir: String) -> (peak: Int, average: Int) {
        var pendingDuration: Double? = nil
        var peak = 0.0, bits = 0.0, seconds = 0.0
        for line in text.split(separator: "\n") {
            if line.hasPrefix("#EXTINF:") {
                pendingDuration = Double(line.dropFirst(8).split(separator: ",").first ?? "")
            } else if !line.hasPrefix("#"), let d = pendingDuration, d > 0 {
                let attrs = try? FileManager.default.attributesOfItem(atPath: dir + "/" + line)
                let size = Double((attrs?[.size] as? NSNumber)?.int64Value ?? 0)
                peak = max(peak, size * 8 / d)
                bits += size * 8; seconds += d
                pendingDuration = nil
            }
        }
        return (Int(peak.rounded(.up)), seconds > 0 ? Int((bits / seconds).rounded(.up)) : 0)
    }
}
