/// One planned video rendition.
public struct PlannedRung: Sendable, Equatable, Codable {
    public var spec: RungSpec
    public var width: Int
    public var height: Int
    /// Keep every n-th source frame (1 = all).
    public var frameRateDivisor: Int
    /// Nominal output rate (source average rate / divisor).
    public var frameRate: Double
    public var maxRateKbps: Int
    public var bufSizeKbps: Int
    /// Largest keyframe distance given to x264 (the forced 2 s keyframes make the real GOPs).
    public var gopFrames: Int
    /// x264 threads for this rung (the big rungs get more so no single encoder is the critical path).
    public var encoderThreads: Int
    /// Cascade scaling: index in `LadderPlan.rungs` of the (larger) rung whose scaled picture this
    /// rung is scaled from; nil = scaled from the decoded source. See `LadderPlanner.assignScaleSources`.
    public var scaledFrom: Int? = nil

    public var name: String { spec.name }
    public var crf: Int { spec.crf }
}

public struct AudioPlan: Sendable, Equatable, Codable {
    public var codec = "aac"
    public var profile = "LC"
    public var sampleRate = Int(RungTable.audioSampleRate)
    public var channels = Int(RungTable.audioChannels)
    public var bitRate = RungTable.audioBitRate
}

/// What will be produced from a source: the video rungs (largest first) and the audio rendition.
public struct LadderPlan: Sendable, Equatable, Codable {
    public var rungs: [PlannedRung]
    public var audio: AudioPlan?
    public var preset: String
    public var keyframeInterval: Double
    public var segmentDuration: Double
    /// Frame threads of the source's video decoder (see `LadderPlanner.decoderThreads`).
    public var decoderThreads: Int = 1
}

public struct LadderOptions: Sendable, Equatable {
    /// x264 preset for every rung.
    public var preset: String
    /// Restrict to these short sides (must be in `RungTable`); nil = every rung that fits.
    public var rungs: [Int]?
    /// Cores the encoders may use (thread counts are derived from it).
    public var cores: Int
    /// Cascade scaling: lower rungs scale from a larger rung's picture instead of the source where
    /// the rule in `LadderPlanner.assignScaleSources` allows; false = every rung from the source.
    public var cascade: Bool

    public init(preset: String = "veryfast", rungs: [Int]? = nil, cores: Int = 2, cascade: Bool = true) {
        self.preset = preset; self.rungs = rungs; self.cores = cores; self.cascade = cascade
    }
}

/// Pure ladder planning from the display geometry and frame rate of a source.
public enum LadderPlanner {
    /// Plans the ladder for a probed source.
    public static func plan(for info: MediaInfo, options: LadderOptions = LadderOptions()) throws(TranscodeError) -> LadderPlan {
        try plan(displayWidth: info.video?.displayWidth, displayHeight: info.video?.displayHeight,
                 frameRate: info.video?.peakFrameRate ?? 0, hasAudio: info.hasAudio, options: options)
    }

    public static func plan(displayWidth: Int?, displayHeight: Int?, frameRate: Double, hasAudio: Bool,
                            options: LadderOptions = LadderOptions()) throws(TranscodeError) -> LadderPlan {
        guard RungTable.x264Presets.contains(options.preset) else {
            throw .invalidOptions("unknown x264 preset '\(options.preset)' (one of \(RungTable.x264Presets.joined(separator: ", ")))")
        }
        if let wanted = options.rungs {
            if wanted.isEmpty { throw .invalidOptions("the rung list is empty") }
            for r in wanted where !RungTable.rungs.contains(where: { $0.shortSide == r }) {
                throw .invalidOptions("unknown rung \(r) (one of \(RungTable.rungs.map { String($0.shortSide) }.joined(separator: ", ")))")
            }
        }
        var rungs: [PlannedRung] = []
        if let w = displayWidth, let h = displayHeight, w > 0, h > 0 {
            let fps = frameRate > 0 ? frameRate : 30
            let short = min(w, h)
            var specs = RungTable.rungs.filter { $0.shortSide <= short }
            if let wanted = options.rungs { specs = specs.filter { wanted.contains($0.shortSide) } }
            if specs.isEmpty, let wanted = options.rungs {
                // Nothing to encode the picture into: say so, rather than fail later as "no frame decoded".
                throw .invalidOptions("no requested rung (\(wanted.map(String.init).joined(separator: ", "))) fits a \(w)x\(h) source; the largest it allows is \(RungTable.rungs.first { $0.shortSide <= short }.map { String($0.shortSide) } ?? "none: it is smaller than every rung")")
            }
            if specs.isEmpty {
                // Smaller than the smallest rung: one rendition at the source's own (even) size.
                let smallest = RungTable.rungs.last!
                specs = [RungSpec(shortSide: max(2, short & ~1), crf: smallest.crf,
                                  maxRateKbps: smallest.maxRateKbps, bufSizeKbps: smallest.bufSizeKbps)]
            }
            rungs = specs.map { spec in
                let (rw, rh) = size(displayWidth: w, displayHeight: h, shortSide: spec.shortSide)
                let maxFps = spec.shortSide >= RungTable.fullFrameRateMinShortSide ? RungTable.maxFrameRate : RungTable.reducedFrameRate
                let d = divisor(sourceRate: fps, maxRate: maxFps)
                let outFps = fps / Double(d)
                let factor = outFps > RungTable.reducedFrameRate + 0.5 ? RungTable.highFrameRateFactor : 1
                return PlannedRung(
                    spec: spec, width: rw, height: rh, frameRateDivisor: d, frameRate: outFps,
                    maxRateKbps: Int(Double(spec.maxRateKbps) * factor), bufSizeKbps: Int(Double(spec.bufSizeKbps) * factor),
                    gopFrames: 2 * Int((outFps * RungTable.keyframeInterval).rounded(.up)), encoderThreads: 1)
            }
            assignThreads(&rungs, cores: options.cores)
            if options.cascade { assignScaleSources(&rungs, sourceShortSide: short) }
        }
        if rungs.isEmpty && !hasAudio {
            throw .invalidOptions("nothing to produce: no video rung fits the source and it has no audio")
        }
        return LadderPlan(rungs: rungs, audio: hasAudio ? AudioPlan() : nil, preset: options.preset,
                          keyframeInterval: RungTable.keyframeInterval, segmentDuration: RungTable.segmentDuration,
                          decoderThreads: decoderThreads(cores: options.cores))
    }

    /// Output size for a rung: the short side is the rung's, the long side keeps the display
    /// aspect ratio, both even (4:2:0 needs even sizes); never above the source.
    public static func size(displayWidth w: Int, displayHeight h: Int, shortSide: Int) -> (Int, Int) {
        let short = min(w, h), long = max(w, h)
        let s = min(shortSide, short) & ~1
        let l = min(long, max(2, Int((Double(s) * Double(long) / Double(short) / 2).rounded()) * 2))
        let evenS = max(2, s), evenL = max(2, l & ~1)
        return w >= h ? (evenL, evenS) : (evenS, evenL)
    }

    /// Smallest integer divisor bringing `sourceRate` to at most `maxRate` (with a small tolerance
    /// so that 30.0 and 29.97 count as 30, 60 and 59.94 as 60).
    public static func divisor(sourceRate: Double, maxRate: Double) -> Int {
        var d = 1
        while sourceRate / Double(d) > maxRate + 0.5 && d < 64 { d += 1 }
        return d
    }

    /// A rung is scaled from a larger rung's picture only if that one is at least this many times
    /// its short side (measured: docs/transcode.md, "Cascade scaling").
    public static let cascadeMinRatio = 1.5

    /// The cascade rule, the one place it lives. Scaling cost is dominated by the input picture
    /// (swscale's bicubic filter widens with the downscale ratio, so every output pixel reads the
    /// whole input footprint): the smaller the input, the cheaper. A rung (largest first) is
    /// scaled from the smallest other planned rung that
    /// 1. is itself scaled down (short side below the source's: a rung at the source's own size
    ///    holds the source picture, nothing is gained by going through it),
    /// 2. has a short side ≥ `cascadeMinRatio` × this rung's (bicubic from a picture barely larger
    ///    would compound the two filters' losses), and
    /// 3. receives every frame this rung encodes (its frame-rate divisor divides this rung's);
    /// otherwise from the decoded source. 1080p source: 1080p and 720p from the source, 480p and
    /// 360p from 720p, 240p from 360p, 144p from 240p.
    static func assignScaleSources(_ rungs: inout [PlannedRung], sourceShortSide: Int) {
        for i in rungs.indices {
            let short = min(rungs[i].width, rungs[i].height)
            var parent: Int? = nil
            for j in rungs.indices where j != i {
                let s = min(rungs[j].width, rungs[j].height)
                guard s < sourceShortSide, Double(s) >= cascadeMinRatio * Double(short),
                      rungs[i].frameRateDivisor % rungs[j].frameRateDivisor == 0 else { continue }
                if let p = parent, min(rungs[p].width, rungs[p].height) <= s { continue }
                parent = j
            }
            rungs[i].scaledFrom = parent
        }
    }

    /// Share of a ladder job's CPU spent in x264 and in the source decoder (docs/benchmarks.md,
    /// "Where the CPU goes": 78–80 % and 10–11 % on the 1080p benchmark source; 0.15 leaves room for
    /// sources that are costlier to decode than to encode).
    static let encodingShare = 0.8
    static let decodingShare = 0.15

    /// x264 threads per rung. The rungs already run in parallel, one thread each; a rung gets more
    /// only if, on one thread, it would outlast the whole job spread over `cores` (its share of the
    /// encoding work × the encoders' share of the job > 1 / cores). A second thread costs x264 its
    /// lookahead thread, frame-thread hand-offs and a frame or two of buffers (~50 MB at 1080p), and
    /// buys nothing when the other rungs keep the cores busy: on 2 cores a 1080p ladder gets one
    /// thread per rung, a lone 1080p rung two; on 8 cores the 1080p rung of a ladder gets four.
    static func assignThreads(_ rungs: inout [PlannedRung], cores: Int) {
        let load = rungs.map { Double($0.width * $0.height) / Double($0.frameRateDivisor) }
        let total = load.reduce(0, +)
        guard total > 0 else { return }
        for i in rungs.indices {
            let share = load[i] / total
            rungs[i].encoderThreads = max(1, min(cores, Int((share * encodingShare * Double(cores) - 1e-9).rounded(.up))))
        }
    }

    /// Decoder frame threads: the coordinator decodes inline unless decoding alone would outlast
    /// the job spread over `cores` (frame threads cost hand-offs and a frame of buffers each).
    static func decoderThreads(cores: Int) -> Int {
        max(1, min(cores, Int((decodingShare * Double(cores) - 1e-9).rounded(.up))))
    }
}
