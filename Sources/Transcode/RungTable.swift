/// The one table of ladder rungs and their x264 rate settings (documented in docs/transcode.md).
///
/// Capped CRF: quality-targeted (CRF) with a VBV ceiling (maxrate/bufsize) so that a rung never
/// exceeds what its HLS BANDWIDTH promises by much. Max rates are for ≤ 30 fps; rungs encoded
/// above 30 fps get `highFrameRateFactor` times more.
public struct RungSpec: Sendable, Equatable, Codable {
    /// The short side of the display in pixels (the "p" in 720p, also for portrait video).
    public var shortSide: Int
    public var crf: Int
    /// kbit/s.
    public var maxRateKbps: Int
    /// kbit/s (the VBV buffer, 2 s of max rate).
    public var bufSizeKbps: Int

    public var name: String { "\(shortSide)p" }

    public init(shortSide: Int, crf: Int, maxRateKbps: Int, bufSizeKbps: Int) {
        self.shortSide = shortSide; self.crf = crf; self.maxRateKbps = maxRateKbps; self.bufSizeKbps = bufSizeKbps
    }
}

public enum RungTable {
    public static let rungs: [RungSpec] = [
        RungSpec(shortSide: 2160, crf: 23, maxRateKbps: 14_000, bufSizeKbps: 28_000),
        RungSpec(shortSide: 1440, crf: 23, maxRateKbps: 8_000, bufSizeKbps: 16_000),
        RungSpec(shortSide: 1080, crf: 23, maxRateKbps: 5_000, bufSizeKbps: 10_000),
        RungSpec(shortSide: 720, crf: 23, maxRateKbps: 2_800, bufSizeKbps: 5_600),
        RungSpec(shortSide: 480, crf: 23, maxRateKbps: 1_400, bufSizeKbps: 2_800),
        RungSpec(shortSide: 360, crf: 23, maxRateKbps: 800, bufSizeKbps: 1_600),
        RungSpec(shortSide: 240, crf: 23, maxRateKbps: 450, bufSizeKbps: 900),
        RungSpec(shortSide: 144, crf: 23, maxRateKbps: 250, bufSizeKbps: 500),
    ]
    /// Max rate multiplier for rungs encoded above 30 fps.
    public static let highFrameRateFactor = 1.5
    /// Rungs with a short side below this are limited to ≤ 30 fps (an integer divisor of the source rate).
    public static let fullFrameRateMinShortSide = 720
    public static let maxFrameRate = 60.0
    public static let reducedFrameRate = 30.0
    /// Keyframe spacing in seconds, identical in every rung (HLS switching points).
    public static let keyframeInterval = 2.0
    /// HLS target segment length in seconds (a multiple of the keyframe interval).
    public static let segmentDuration = 6.0
    public static let audioBitRate = 128_000
    public static let audioSampleRate: Int32 = 48_000
    public static let audioChannels: Int32 = 2
    public static let x264Presets = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium",
                                     "slow", "slower", "veryslow", "placebo"]
}
