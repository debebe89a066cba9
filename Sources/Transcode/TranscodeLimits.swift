/// Upper bounds a source must respect before we spend CPU on it (a service must refuse hostile
/// inputs early: a 100 000 × 100 000 header or a 30-day duration).
public struct TranscodeLimits: Sendable, Equatable {
    public var maxWidth: Int
    public var maxHeight: Int
    public var maxPixels: Int
    /// Seconds.
    public var maxDuration: Double
    public var maxFrameRate: Double

    public init(maxWidth: Int = 8192, maxHeight: Int = 8192, maxPixels: Int = 8192 * 4352,
                maxDuration: Double = 6 * 3600, maxFrameRate: Double = 240) {
        self.maxWidth = maxWidth; self.maxHeight = maxHeight; self.maxPixels = maxPixels
        self.maxDuration = maxDuration; self.maxFrameRate = maxFrameRate
    }

    public static let `default` = TranscodeLimits()

    /// Throws `.limitExceeded` for the first limit `info` violates.
    public func check(_ info: MediaInfo) throws(TranscodeError) {
        func fail(_ what: String, _ v: Double, _ l: Double) -> TranscodeError {
            .limitExceeded(path: info.path, what: what, value: v, limit: l)
        }
        if info.duration > maxDuration { throw fail("duration (s)", info.duration, maxDuration) }
        guard let v = info.video else { return }
        if v.codedWidth > maxWidth { throw fail("width", Double(v.codedWidth), Double(maxWidth)) }
        if v.codedHeight > maxHeight { throw fail("height", Double(v.codedHeight), Double(maxHeight)) }
        let px = v.codedWidth * v.codedHeight
        if px > maxPixels { throw fail("pixels per frame", Double(px), Double(maxPixels)) }
        // The rungs are sized from the picture as shown: a sample aspect ratio can stretch a small
        // coded picture far past what the coded-size limits allow (rotation only swaps the sides).
        let displayLong = max(v.displayWidth, v.displayHeight)
        if displayLong > max(maxWidth, maxHeight) {
            throw fail("display width or height (sample aspect ratio applied)", Double(displayLong), Double(max(maxWidth, maxHeight)))
        }
        let displayPixels = v.displayWidth * v.displayHeight
        if displayPixels > maxPixels {
            throw fail("display pixels per frame (sample aspect ratio applied)", Double(displayPixels), Double(maxPixels))
        }
        if v.frameRate > maxFrameRate { throw fail("frame rate", v.frameRate, maxFrameRate) }
    }
}
