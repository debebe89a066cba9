import Foundation

/// Builds a static MPEG-DASH MPD (ISO/IEC 23009-1, the `isoff-live` profile) over the HLS fMP4
/// files (pure; tested on its own): no second copy of the media, one `SegmentTemplate` per
/// representation naming the same `init.mp4` and `seg_NNNN.m4s` the HLS playlists list
/// (`$Number%04d$`), with a `SegmentTimeline` of every segment's exact start and duration in
/// the track's own timescale (read from the files' `tfdt`/`trun`), so nothing is rounded.
///
/// `@bandwidth` is the peak segment bit rate and `@minBufferTime` the longest segment: a client
/// that receives at `@bandwidth` and starts after `@minBufferTime` never runs dry, because no
/// segment takes longer to download than to play (23009-1 §5.3.5.2's buffer model).
public enum DashManifest {
    /// One segment, in the representation's timescale: its earliest presentation time and duration.
    public struct Segment: Sendable, Equatable {
        public var start: Int64
        public var duration: UInt64
        public init(start: Int64, duration: UInt64) { self.start = start; self.duration = duration }
    }

    public struct Representation: Sendable, Equatable {
        public var id: String
        /// RFC 6381, e.g. "avc1.64001f" or "mp4a.40.2".
        public var codec: String
        /// bits/s.
        public var bandwidth: Int
        public var timescale: UInt32
        /// URLs relative to the MPD.
        public var initialization: String
        /// A template with `$Number%04d$`.
        public var media: String
        public var startNumber: Int
        public var segments: [Segment]
        /// Video only.
        public var width: Int?
        public var height: Int?
        public var frameRate: Double?
        /// Audio only.
        public var sampleRate: Int?
        public var channels: Int?

        public init(id: String, codec: String, bandwidth: Int, timescale: UInt32, initialization: String, media: String,
                    startNumber: Int = 0, segments: [Segment], width: Int? = nil, height: Int? = nil, frameRate: Double? = nil,
                    sampleRate: Int? = nil, channels: Int? = nil) {
            self.id = id; self.codec = codec; self.bandwidth = bandwidth; self.timescale = timescale
            self.initialization = initialization; self.media = media; self.startNumber = startNumber; self.segments = segments
            self.width = width; self.height = height; self.frameRate = frameRate; self.sampleRate = sampleRate; self.channels = channels
        }

        /// Seconds from the start of the first segment's presentation to the end of the last.
        var end: Double {
            guard let last = segments.last else { return 0 }
            return (Double(last.start) + Double(last.duration)) / Double(timescale)
        }

        var longestSegment: Double { Double(segments.map(\.duration).max() ?? 0) / Double(timescale) }
    }

    public static let profile = "urn:mpeg:dash:profile:isoff-live:2011"

    /// The MPD: one Period, the video representations (highest bandwidth first) in one adaptation
    /// set, the audio in another.
    public static func render(video: [Representation], audio: Representation?) -> String {
        let all = video + (audio.map { [$0] } ?? [])
        let duration = all.map(\.end).max() ?? 0
        let minBuffer = max(1, all.map(\.longestSegment).max() ?? 0)
        var out = """
            <?xml version="1.0" encoding="UTF-8"?>
            <MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="\(profile)" type="static" \
            mediaPresentationDuration="\(xsDuration(duration))" minBufferTime="\(xsDuration(minBuffer))">
              <Period id="0" start="PT0S">

            """
        if !video.isEmpty {
            let sorted = video.sorted { $0.bandwidth > $1.bandwidth }
            let widest = sorted.max { ($0.width ?? 0) * ($0.height ?? 0) < ($1.width ?? 0) * ($1.height ?? 0) }!
            var attributes = #"id="0" contentType="video" mimeType="video/mp4""#
            if isAligned(video) { attributes += #" segmentAlignment="true""# }
            attributes += #" startWithSAP="1""#
            if let w = widest.width, let h = widest.height {
                let g = gcd(w, h)
                attributes += #" maxWidth="\#(w)" maxHeight="\#(h)" par="\#(w / g):\#(h / g)""#
            }
            out += "    <AdaptationSet \(attributes)>\n"
            for r in sorted {
                var a = #"id="\#(xml(r.id))" codecs="\#(xml(r.codec))" bandwidth="\#(r.bandwidth)""#
                if let w = r.width, let h = r.height { a += #" width="\#(w)" height="\#(h)" sar="1:1""# }
                if let f = r.frameRate, let text = frameRate(f) { a += #" frameRate="\#(text)""# }
                out += "      <Representation \(a)>\n" + segmentTemplate(r, indent: "        ") + "      </Representation>\n"
            }
            out += "    </AdaptationSet>\n"
        }
        if let a = audio {
            out += #"    <AdaptationSet id="1" contentType="audio" mimeType="audio/mp4" lang="und" segmentAlignment="true" startWithSAP="1">"# + "\n"
            out += #"      <Role schemeIdUri="urn:mpeg:dash:role:2011" value="main"/>"# + "\n"
            var attributes = #"id="\#(xml(a.id))" codecs="\#(xml(a.codec))" bandwidth="\#(a.bandwidth)""#
            if let rate = a.sampleRate { attributes += #" audioSamplingRate="\#(rate)""# }
            out += "      <Representation \(attributes)>\n"
            if let channels = a.channels {
                out += #"        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="\#(channels)"/>"# + "\n"
            }
            out += segmentTemplate(a, indent: "        ") + "      </Representation>\n    </AdaptationSet>\n"
        }
        return out + "  </Period>\n</MPD>\n"
    }

    static func segmentTemplate(_ r: Representation, indent: String) -> String {
        var out = indent + #"<SegmentTemplate timescale="\#(r.timescale)" initialization="\#(xml(r.initialization))" media="\#(xml(r.media))" startNumber="\#(r.startNumber)">"# + "\n"
        out += indent + "  <SegmentTimeline>\n"
        for s in timeline(r.segments) { out += indent + "    " + s + "\n" }
        return out + indent + "  </SegmentTimeline>\n" + indent + "</SegmentTemplate>\n"
    }

    /// `<S>` elements: `t` on the first and after any gap or overlap, runs of equal durations as `r`.
    static func timeline(_ segments: [Segment]) -> [String] {
        var out: [String] = []
        var i = 0
        var expectedStart: Int64? = nil
        while i < segments.count {
            let s = segments[i]
            var repeats = 0
            while i + repeats + 1 < segments.count, segments[i + repeats + 1].duration == s.duration,
                  segments[i + repeats + 1].start == segments[i + repeats].start + Int64(segments[i + repeats].duration) {
                repeats += 1
            }
            var element = "<S"
            if s.start != expectedStart { element += #" t="\#(s.start)""# }
            element += #" d="\#(s.duration)""#
            if repeats > 0 { element += #" r="\#(repeats)""# }
            out.append(element + "/>")
            let last = segments[i + repeats]
            expectedStart = last.start + Int64(last.duration)
            i += repeats + 1
        }
        return out
    }

    /// Whether every video representation's segments start at the same instants (within a
    /// millisecond): then a client may switch at any segment boundary.
    static func isAligned(_ video: [Representation]) -> Bool {
        guard let first = video.first else { return true }
        let starts = { (r: Representation) in r.segments.map { Double($0.start) / Double(r.timescale) } }
        let reference = starts(first)
        return video.allSatisfy { r in
            let s = starts(r)
            return s.count == reference.count && zip(s, reference).allSatisfy { abs($0 - $1) < 0.001 }
        }
    }

    /// `xs:duration` in seconds with milliseconds: `PT60.000S`.
    static func xsDuration(_ seconds: Double) -> String {
        "PT" + String(format: "%.3f", max(0, seconds)) + "S"
    }

    /// The MPD's `FrameRateType` (an integer or a fraction): 30 → "30", 29.97 → "30000/1001";
    /// nil when no small fraction is within a thousandth of a frame per second.
    static func frameRate(_ fps: Double) -> String? {
        guard fps > 0, fps.isFinite else { return nil }
        if abs(fps - fps.rounded()) < 0.001 { return String(Int(fps.rounded())) }
        let ntsc = fps * 1.001
        if abs(ntsc - ntsc.rounded()) < 0.001 { return "\(Int(ntsc.rounded()) * 1000)/1001" }
        for denominator in 2...1000 {
            let numerator = (fps * Double(denominator)).rounded()
            if abs(numerator / Double(denominator) - fps) < 0.001 {
                let g = gcd(Int(numerator), denominator)
                return "\(Int(numerator) / g)/\(denominator / g)"
            }
        }
        return nil
    }

    static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? max(1, a) : gcd(b, a % b) }

    static func xml(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(c)
            }
        }
        return out
    }
}
