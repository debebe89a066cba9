import CFFmpeg

/// One rung's scaler and x264 encoder: frames in (the decoded source or, in a cascade, a larger
/// rung's scaled picture; any size and pixel format, already rotated), H.264 High yuv420p packets out.
final class VideoEncoder {
    let rung: PlannedRung
    let codec: UnsafeMutablePointer<AVCodecContext>
    private var scaler: OpaquePointer? = nil
    private var scalerInput: (Int32, Int32, Int32) = (0, 0, -1)
    /// Output durations by pts (the encoder does not carry frame durations through to packets in lavc 59).
    private var durations: [Int64: Int64] = [:]
    /// CPU seconds spent in swscale by the calling thread.
    private(set) var scaleCPU = 0.0
    /// CPU seconds of x264: opening it, the calling threads' calls into it, and its own threads.
    var encodeCPU: Double { openCPU + callCPU + helpers.cpu }
    /// Opening x264 (on the thread that built this encoder).
    private(set) var openCPU = 0.0
    /// The calling thread's time inside avcodec_send_frame / avcodec_receive_packet.
    private(set) var callCPU = 0.0
    /// x264's lookahead and frame threads (none with one thread).
    private var helpers = HelperThreads([])
    /// Scaled pictures, reused once nobody references them any more (see `scale`).
    private var pool: [OwnedFrame] = []
    /// The picture handed to x264 when the source needs no scaling (a reference, no copy).
    private let passThrough: OwnedFrame

    init(rung: PlannedRung, timeBase: AVRational, preset: String) throws(TranscodeError) {
        self.rung = rung
        passThrough = try OwnedFrame()
        guard let enc = avcodec_find_encoder_by_name("libx264") else {
            throw .libav(operation: "find encoder libx264", code: -1, message: "libx264 is not available in this libavcodec")
        }
        guard let ctx = avcodec_alloc_context3(enc) else { throw .libav(operation: "avcodec_alloc_context3", code: -12, message: "out of memory") }
        codec = ctx
        ctx.pointee.width = Int32(rung.width)
        ctx.pointee.height = Int32(rung.height)
        ctx.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        ctx.pointee.sample_aspect_ratio = AVRational(num: 1, den: 1)
        ctx.pointee.time_base = timeBase
        ctx.pointee.framerate = av_d2q(rung.frameRate, 100_000)
        ctx.pointee.gop_size = Int32(rung.gopFrames)
        ctx.pointee.max_b_frames = 3
        ctx.pointee.rc_max_rate = Int64(rung.maxRateKbps) * 1000
        ctx.pointee.rc_buffer_size = Int32(rung.bufSizeKbps * 1000)
        ctx.pointee.profile = FF_PROFILE_H264_HIGH
        ctx.pointee.thread_count = Int32(rung.encoderThreads)
        ctx.pointee.flags |= Int32(bitPattern: vidd_AV_CODEC_FLAG_CLOSED_GOP()) | AV_CODEC_FLAG_GLOBAL_HEADER
        ctx.pointee.color_range = AVCOL_RANGE_MPEG
        var opts: OpaquePointer? = nil
        defer { av_dict_free(&opts) }
        av_dict_set(&opts, "preset", preset, 0)
        av_dict_set(&opts, "crf", String(rung.crf), 0)
        av_dict_set(&opts, "profile", "high", 0)
        // Keyframes only where we force them (every 2 s, same timestamps in every rung) and as IDR.
        av_dict_set(&opts, "forced-idr", "1", 0)
        av_dict_set(&opts, "sc_threshold", "0", 0)
        av_dict_set(&opts, "x264-params", "scenecut=0:open-gop=0", 0)
        // x264 starts its threads inside avcodec_open2 and they inherit this thread's name: give
        // them their own, so CPU accounting and leak checks can tell them apart.
        let t0 = CPUTime.thread()
        let (rc, threads) = HelperThreads.starting(named: "vidd-x264-\(rung.name)") { avcodec_open2(ctx, enc, &opts) }
        openCPU = CPUTime.thread() - t0
        helpers = threads
        // Every stored property is set, so deinit frees the context on this throw.
        try LibAV.check(rc, "open libx264 for \(rung.name)")
    }

    deinit {
        sws_freeContext(scaler)
        var c: UnsafeMutablePointer<AVCodecContext>? = codec
        avcodec_free_context(&c)
    }

    /// Scales `source` to the rung size and sends it to x264; delivers finished packets to `output`.
    func encode(_ source: UnsafePointer<AVFrame>, keyframe: Bool, duration: Int64,
                output: (UnsafeMutablePointer<AVPacket>) throws(TranscodeError) -> Void) throws(TranscodeError) {
        let picture = try scale(source)
        try encodeScaled(picture, keyframe: keyframe, duration: duration, output: output)
    }

    /// The rung-size yuv420p picture of `source` (same pts). Valid until the next call; other
    /// threads may hold `av_frame_ref` references to it (a cascade's lower rungs scale from it):
    /// its buffers are only rewritten once nobody else holds them.
    ///
    /// A source already at the rung's size in yuv420p is not scaled at all: the result is a new
    /// reference to its buffers (x264 only reads its input).
    func scale(_ source: UnsafePointer<AVFrame>) throws(TranscodeError) -> UnsafeMutablePointer<AVFrame> {
        let s = source.pointee
        if s.width == Int32(rung.width) && s.height == Int32(rung.height) && s.format == AV_PIX_FMT_YUV420P.rawValue {
            av_frame_unref(passThrough.frame)
            try LibAV.check(av_frame_ref(passThrough.frame, source), "av_frame_ref(\(rung.name))")
            passThrough.frame.pointee.pict_type = AV_PICTURE_TYPE_NONE
            return passThrough.frame
        }
        if scaler == nil || scalerInput != (s.width, s.height, s.format) {
            sws_freeContext(scaler)
            scaler = sws_getContext(s.width, s.height, AVPixelFormat(rawValue: s.format),
                                    Int32(rung.width), Int32(rung.height), AV_PIX_FMT_YUV420P,
                                    SWS_BICUBIC, nil, nil, nil)
            guard scaler != nil else {
                throw .libav(operation: "sws_getContext \(s.width)x\(s.height) → \(rung.width)x\(rung.height)", code: -22, message: "unsupported conversion")
            }
            scalerInput = (s.width, s.height, s.format)
        }
        let t0 = CPUTime.thread()
        defer { scaleCPU += CPUTime.thread() - t0 }
        // Output pictures are reused: a fresh 1080p buffer per frame means an mmap, page faults and
        // an munmap each time. A picture whose buffers someone else still references (the encoder,
        // or a lower rung of the cascade that has not scaled from it yet) is not writable: take the
        // next one, or add one. The pool stays small: references are dropped within a queue's depth.
        var out: OwnedFrame? = nil
        for f in pool where f.frame.pointee.buf.0 != nil && av_frame_is_writable(f.frame) != 0 { out = f; break }
        if out == nil {
            let f = try OwnedFrame()
            f.frame.pointee.width = Int32(rung.width)
            f.frame.pointee.height = Int32(rung.height)
            f.frame.pointee.format = AV_PIX_FMT_YUV420P.rawValue
            try LibAV.check(av_frame_get_buffer(f.frame, 0), "av_frame_get_buffer")
            pool.append(f)
            out = f
        }
        let picture = out!.frame
        try LibAV.check(sws_scale_frame(scaler, picture, source), "sws_scale_frame(\(rung.name))")
        picture.pointee.pts = s.pts
        picture.pointee.pict_type = AV_PICTURE_TYPE_NONE
        return picture
    }

    /// Sends a picture returned by `scale` to x264.
    func encodeScaled(_ picture: UnsafeMutablePointer<AVFrame>, keyframe: Bool, duration: Int64,
                      output: (UnsafeMutablePointer<AVPacket>) throws(TranscodeError) -> Void) throws(TranscodeError) {
        picture.pointee.pict_type = keyframe ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE
        durations[picture.pointee.pts] = duration
        try send(picture, output: output)
    }

    /// Drains the encoder at the end of the stream.
    func flush(output: (UnsafeMutablePointer<AVPacket>) throws(TranscodeError) -> Void) throws(TranscodeError) {
        // The first flush call ends x264's lookahead thread: read its CPU while it is alive.
        helpers.sample()
        try send(nil, output: output)
        helpers.sample()
    }

    private func send(_ frame: UnsafeMutablePointer<AVFrame>?,
                      output: (UnsafeMutablePointer<AVPacket>) throws(TranscodeError) -> Void) throws(TranscodeError) {
        let rc = CPUTime.measure(into: &callCPU) { avcodec_send_frame(codec, frame) }
        if rc < 0 && rc != LibAV.eof { try LibAV.check(rc, "avcodec_send_frame(\(rung.name))") }
        let pkt = try OwnedPacket()
        while true {
            let r = CPUTime.measure(into: &callCPU) { avcodec_receive_packet(codec, pkt.packet) }
            if r == LibAV.eagain || r == LibAV.eof { return }
            try LibAV.check(r, "avcodec_receive_packet(\(rung.name))")
            if let d = durations.removeValue(forKey: pkt.packet.pointee.pts) { pkt.packet.pointee.duration = d }
            try output(pkt.packet)
            av_packet_unref(pkt.packet)
        }
    }

    /// RFC 6381 codec string ("avc1.640028") from the SPS in the encoder's extradata.
    var codecString: String {
        let n = Int(codec.pointee.extradata_size)
        guard let p = codec.pointee.extradata, n > 4 else { return "avc1.640028" }
        let bytes = Array(UnsafeBufferPointer(start: p, count: n))
        if bytes[0] == 1 && n >= 4 {  // avcC
            return "avc1." + hex(bytes[1]) + hex(bytes[2]) + hex(bytes[3])
        }
        // Annex B: find the SPS NAL (type 7) after a start code.
        var i = 0
        while i + 3 < n {
            if bytes[i] == 0 && bytes[i + 1] == 0 && bytes[i + 2] == 1 {
                let nal = i + 3
                if nal + 3 < n, bytes[nal] & 0x1F == 7 {
                    return "avc1." + hex(bytes[nal + 1]) + hex(bytes[nal + 2]) + hex(bytes[nal + 3])
                }
                i = nal
            } else { i += 1 }
        }
        return "avc1.640028"
    }

    private func hex(_ b: UInt8) -> String {
        let s = String(b, radix: 16, uppercase: false)
        return s.count == 1 ? "0" + s : s
    }
}
