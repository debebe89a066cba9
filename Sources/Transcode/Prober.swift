import CFFmpeg

/// Reads a file's container and stream properties in-process (no ffprobe subprocess).
public enum Prober {
    /// Probes `path`; throws a typed error for files that are missing, empty, not media, cut short,
    /// damaged, use a codec without a decoder, or exceed `limits`.
    public static func probe(_ path: String, limits: TranscodeLimits = .default) throws(TranscodeError) -> MediaInfo {
        let source = try SourceFile(path: path)
        let info = try describe(source)
        try limits.check(info)
        return info
    }

    static func describe(_ source: SourceFile) throws(TranscodeError) -> MediaInfo {
        let fmt = source.format.pointee
        var notes = source.notes
        var duration = fmt.duration != LibAV.noPTS && fmt.duration > 0 ? Double(fmt.duration) / Double(AV_TIME_BASE) : 0

        var video: VideoInfo? = nil
        if let vi = source.videoIndex {
            video = try videoInfo(source, vi, containerDuration: duration, notes: &notes)
        }
        var audio: AudioInfo? = nil
        if let ai = source.audioIndex {
            let st = source.stream(ai)
            let par = st.pointee.codecpar.pointee
            if avcodec_find_decoder(par.codec_id) == nil {
                notes.append("audio stream #\(ai) codec '\(codecName(par.codec_id))' has no decoder: ignored")
            } else {
                audio = audioInfo(st, ai, containerDuration: duration)
            }
        }
        if video == nil && audio == nil {
            throw .noMediaStreams(path: source.path)
        }
        if duration == 0 { duration = max(video?.duration ?? 0, audio?.duration ?? 0) }
        var bitRate = fmt.bit_rate > 0 ? fmt.bit_rate : 0
        if bitRate == 0 && duration > 0 { bitRate = Int64(Double(source.fileSize) * 8 / duration) }
        return MediaInfo(
            path: source.path,
            container: LibAV.string(fmt.iformat.pointee.name) ?? "unknown",
            containerLongName: LibAV.string(fmt.iformat.pointee.long_name),
            duration: duration, sizeBytes: source.fileSize, bitRate: bitRate,
            video: video, audio: audio, notes: notes)
    }

    static func codecName(_ id: AVCodecID) -> String { LibAV.string(avcodec_get_name(id)) ?? "unknown" }

    private static func videoInfo(_ source: SourceFile, _ index: Int, containerDuration: Double,
                                  notes: inout [String]) throws(TranscodeError) -> VideoInfo {
        let st = source.stream(index)
        let par = st.pointee.codecpar.pointee
        guard avcodec_find_decoder(par.codec_id) != nil else {
            throw .unsupportedCodec(path: source.path, streamIndex: index, codec: codecName(par.codec_id))
        }
        let width = Int(par.width), height = Int(par.height)
        guard width > 0, height > 0 else {
            throw .corrupt(path: source.path, detail: "video stream #\(index) has no dimensions")
        }
        let pixFmt = AVPixelFormat(rawValue: par.format)
        let desc = av_pix_fmt_desc_get(pixFmt)
        let depth = desc.map { Int($0.pointee.comp.0.depth) } ?? 8
        var chroma = "unknown"
        if let d = desc?.pointee {
            if d.nb_components < 3 { chroma = "gray" }
            else {
                switch (d.log2_chroma_w, d.log2_chroma_h) {
                case (1, 1): chroma = "4:2:0"
                case (1, 0): chroma = "4:2:2"
                case (0, 0): chroma = "4:4:4"
                case (2, 0): chroma = "4:1:1"
                default: chroma = "other"
                }
            }
        }
        var sar = st.pointee.sample_aspect_ratio
        if sar.num <= 0 || sar.den <= 0 { sar = par.sample_aspect_ratio }
        if sar.num <= 0 || sar.den <= 0 { sar = AVRational(num: 1, den: 1) }
        let (rotation, mirrored) = Self.orientation(st)
        let sarWidth = Int((Double(width) * Double(sar.num) / Double(sar.den)).rounded())
        let (dw, dh) = rotation % 180 == 90 ? (height, sarWidth) : (sarWidth, height)

        let avg = st.pointee.avg_frame_rate, real = st.pointee.r_frame_rate
        let avgV = LibAV.double(avg), realV = LibAV.double(real)
        let vfr = avgV > 0 && realV > 0 && abs(avgV - realV) / realV > 0.01
        var streamDuration = 0.0
        if st.pointee.duration != LibAV.noPTS && st.pointee.duration > 0 {
            streamDuration = Double(st.pointee.duration) * LibAV.double(st.pointee.time_base)
        }
        if streamDuration == 0 { streamDuration = containerDuration }
        var frames = st.pointee.nb_frames
        var estimated = false
        if frames <= 0 {
            let fps = avgV > 0 ? avgV : realV
            frames = Int64((streamDuration * fps).rounded())
            estimated = true
            notes.append("video frame count estimated from duration × frame rate (the container stores none)")
        }
        return VideoInfo(
            streamIndex: index, codec: codecName(par.codec_id),
            codecLongName: avcodec_descriptor_get(par.codec_id).flatMap { LibAV.string($0.pointee.long_name) },
            profile: LibAV.string(avcodec_profile_name(par.codec_id, par.profile)),
            pixelFormat: LibAV.string(av_get_pix_fmt_name(pixFmt)) ?? "unknown",
            bitDepth: depth, chroma: chroma,
            codedWidth: width, codedHeight: height,
            sampleAspectRatio: Rational(Int(sar.num), Int(sar.den)), rotation: rotation, mirrored: mirrored,
            displayWidth: dw, displayHeight: dh,
            averageFrameRate: Rational(Int(avg.num), Int(avg.den)),
            realFrameRate: Rational(Int(real.num), Int(real.den)),
            variableFrameRate: vfr, frameCount: frames, frameCountEstimated: estimated,
            bitRate: par.bit_rate > 0 ? par.bit_rate : nil, duration: streamDuration,
            fieldOrder: fieldOrderName(par.field_order),
            colorRange: par.color_range == AVCOL_RANGE_UNSPECIFIED ? nil : LibAV.string(av_color_range_name(par.color_range)),
            colorSpace: par.color_space == AVCOL_SPC_UNSPECIFIED ? nil : LibAV.string(av_color_space_name(par.color_space)),
            colorPrimaries: par.color_primaries == AVCOL_PRI_UNSPECIFIED ? nil : LibAV.string(av_color_primaries_name(par.color_primaries)),
            colorTransfer: par.color_trc == AVCOL_TRC_UNSPECIFIED ? nil : LibAV.string(av_color_transfer_name(par.color_trc)))
    }

    /// The display-matrix rotation as libavutil reports it (counter-clockwise), normalised to
    /// 0/90/180/270; odd angles round to the nearest quarter turn.
    static func rotation(_ st: UnsafePointer<AVStream>) -> Int {
        let r = vidd_stream_rotation(st)
        guard r.isFinite else { return 0 }
        let q = Int((r / 90).rounded()) * 90
        return ((q % 360) + 360) % 360
    }

    /// Rotation and mirror of the display matrix, by the ffmpeg CLI's autorotate rule (theta, the
    /// clockwise turn, is 360 - rotation): at 90 a positive m[3] means transpose=cclock_flip, at 270
    /// a negative one transpose=clock_flip; at 180 a positive m[4] means hflip alone, at 0 a negative
    /// one vflip. libavutil's rotation reads those two as 180 and 0: they become 0 and 180 mirrored
    /// (hflip = 0 mirrored, vflip = 180 mirrored), so `rotation` + `mirrored` name one filter each.
    static func orientation(_ st: UnsafePointer<AVStream>) -> (rotation: Int, mirrored: Bool) {
        let turn = rotation(st)
        var m = [Int32](repeating: 0, count: 9)
        guard vidd_stream_display_matrix(st, &m) != 0 else { return (turn, false) }
        switch (360 - turn) % 360 {
        case 90: return (turn, m[3] > 0)
        case 270: return (turn, m[3] < 0)
        case 180: return m[4] > 0 ? (0, true) : (turn, false)
        default: return m[4] < 0 ? (180, true) : (turn, false)
        }
    }

    private static func fieldOrderName(_ f: AVFieldOrder) -> String {
        switch f {
        case AV_FIELD_PROGRESSIVE: return "progressive"
        case AV_FIELD_TT: return "tt"
        case AV_FIELD_BB: return "bb"
        case AV_FIELD_TB: return "tb"
        case AV_FIELD_BT: return "bt"
        default: return "unknown"
        }
    }

    private static func audioInfo(_ st: UnsafeMutablePointer<AVStream>, _ index: Int, containerDuration: Double) -> AudioInfo {
        let par: UnsafeMutablePointer<AVCodecParameters> = st.pointee.codecpar
        var layoutBuf = [CChar](repeating: 0, count: 128)
        let described = av_channel_layout_describe(&par.pointee.ch_layout, &layoutBuf, layoutBuf.count)
        let layout = described >= 0 ? LibAV.string(buffer: layoutBuf) : "\(par.pointee.ch_layout.nb_channels) channels"
        var d = 0.0
        if st.pointee.duration != LibAV.noPTS && st.pointee.duration > 0 {
            d = Double(st.pointee.duration) * LibAV.double(st.pointee.time_base)
        }
        let p = par.pointee
        return AudioInfo(
            streamIndex: index, codec: codecName(p.codec_id),
            codecLongName: avcodec_descriptor_get(p.codec_id).flatMap { LibAV.string($0.pointee.long_name) },
            profile: LibAV.string(avcodec_profile_name(p.codec_id, p.profile)),
            sampleRate: Int(p.sample_rate), channels: Int(p.ch_layout.nb_channels), channelLayout: layout,
            sampleFormat: LibAV.string(av_get_sample_fmt_name(AVSampleFormat(rawValue: p.format))) ?? "unknown",
            bitRate: p.bit_rate > 0 ? p.bit_rate : nil, duration: d > 0 ? d : containerDuration)
    }
}
