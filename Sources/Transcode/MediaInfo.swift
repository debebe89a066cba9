import Foundation

/// What `Prober` learns about a source file, read in-process from libavformat/libavcodec headers.
public struct MediaInfo: Codable, Sendable, Equatable {
    public var path: String
    /// libavformat's demuxer name(s), e.g. "mov,mp4,m4a,3gp,3g2,mj2" or "matroska,webm".
    public var container: String
    public var containerLongName: String?
    /// Seconds; from the container, else the longest stream.
    public var duration: Double
    public var sizeBytes: Int64
    /// Bits per second over the whole file (container value, else size × 8 / duration).
    public var bitRate: Int64
    public var video: VideoInfo?
    public var audio: AudioInfo?
    /// Non-fatal observations (e.g. "frame count estimated").
    public var notes: [String]

    public var hasVideo: Bool { video != nil }
    public var hasAudio: Bool { audio != nil }

    public func jsonString(pretty: Bool = true) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
        guard let data = try? enc.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}

public struct VideoInfo: Codable, Sendable, Equatable {
    public var streamIndex: Int
    public var codec: String
    public var codecLongName: String?
    public var profile: String?
    public var pixelFormat: String
    public var bitDepth: Int
    /// Chroma subsampling as "4:2:0", "4:2:2", "4:4:4" (or "gray").
    public var chroma: String
    /// Size of the decoded pictures.
    public var codedWidth: Int
    public var codedHeight: Int
    public var sampleAspectRatio: Rational
    /// Counter-clockwise degrees from the display matrix, normalised to 0, 90, 180 or 270.
    public var rotation: Int
    /// The display matrix also mirrors the picture (a front camera's): a horizontal mirror is
    /// rotation 0 mirrored, a vertical one 180 mirrored, a transpose 270 mirrored, an
    /// anti-transpose 90 mirrored (Prober.orientation, the ffmpeg CLI's rule).
    public var mirrored: Bool
    /// Size as shown: SAR applied to the width, then the rotation (90/270 swap the sides).
    public var displayWidth: Int
    public var displayHeight: Int
    public var averageFrameRate: Rational
    /// libavformat's "real base frame rate" (the lowest rate all timestamps fit).
    public var realFrameRate: Rational
    /// True when the average and real rates disagree by more than 1 %: timestamps are not evenly spaced.
    public var variableFrameRate: Bool
    public var frameCount: Int64
    public var frameCountEstimated: Bool
    public var bitRate: Int64?
    public var duration: Double
    public var fieldOrder: String
    public var colorRange: String?
    public var colorSpace: String?
    public var colorPrimaries: String?
    public var colorTransfer: String?

    public var isPortrait: Bool { displayHeight > displayWidth }
    /// Frames per second used for planning: average, else real, else 30. The average is frames
    /// over duration, so it is taken whatever its size (a 1000 fps source must meet the frame rate
    /// limit, not pass as 30); only r_frame_rate can be a time base in disguise (Matroska's 1000).
    public var frameRate: Double {
        let avg = averageFrameRate.value
        if avg > 0 { return avg }
        let real = realFrameRate.value
        return real > 0 && real < 1000 ? real : 30
    }

    /// The rate the pictures really come at, which the rungs are planned from (HLS's FRAME-RATE
    /// is a maximum, RFC 8216 §4.3.4.2; x264's keyframe bound and the ≤ 30 fps reduction count
    /// frames at that rate): for variable frame rate, r_frame_rate when it is above the average
    /// and plausible (a paused recording averages a fraction of its rate), else `frameRate`.
    public var peakFrameRate: Double {
        let real = realFrameRate.value
        // Above the default limit, r_frame_rate is a time base in disguise (Matroska's 1000, MPEG-TS's 90000).
        if variableFrameRate, real > frameRate, real <= TranscodeLimits.default.maxFrameRate { return real }
        return frameRate
    }
}

public struct AudioInfo: Codable, Sendable, Equatable {
    public var streamIndex: Int
    public var codec: String
    public var codecLongName: String?
    public var profile: String?
    public var sampleRate: Int
    public var channels: Int
    /// libavutil's description, e.g. "stereo", "mono", "5.1".
    public var channelLayout: String
    public var sampleFormat: String
    public var bitRate: Int64?
    public var duration: Double
}

public struct Rational: Codable, Sendable, Equatable, CustomStringConvertible {
    public var num: Int
    public var den: Int
    public init(_ num: Int, _ den: Int) { self.num = num; self.den = den }
    public var value: Double { den == 0 ? 0 : Double(num) / Double(den) }
    public var description: String { "\(num)/\(den)" }
}
