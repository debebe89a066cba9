import CFFmpeg

/// Decodes the source audio once and encodes it once to AAC-LC stereo 48 kHz; every output muxes
/// the same packets.
final class AudioTranscoder {
    let decoder: UnsafeMutablePointer<AVCodecContext>
    let encoder: UnsafeMutablePointer<AVCodecContext>
    private var resampler: OpaquePointer? = nil
    private let fifo: OpaquePointer
    private var nextPTS: Int64 = 0
    private(set) var damagedPackets = 0
    /// AAC packets delivered so far (0 at the end: the stream held no decodable sound).
    private(set) var packetsEncoded = 0
    let streamTimeBase: AVRational
    /// Where the output timeline starts on the source's, seconds.
    enum Timeline {
        /// No video to keep in sync with: the audio is its own timeline.
        case own
        /// The video's first picture is not decoded yet; `fallback` (the video stream's start) is
        /// used if none comes (no picture decodes, or too much audio waits).
        case awaiting(fallback: Double?)
        case starts(Double)
    }
    private var timeline: Timeline
    /// Decoded frames held while the timeline is awaited: at most `maxPendingSeconds` of them (a
    /// GOP's worth is what a stream picked up mid-GOP needs) and `maxPendingBytes` (8 channels at
    /// 192 kHz are 6 MB a second).
    private var pending: [OwnedFrame] = []
    private var pendingSeconds = 0.0
    private var pendingBytes = 0
    static let maxPendingSeconds = 30.0
    static let maxPendingBytes = 32 << 20
    /// Longest silence put in front of late audio: the source's duration (a hostile timestamp must
    /// not buy hours of encoding).
    private let maxLeadIn: Double
    private var aligned = false
    /// Output samples still to drop: audio that plays before the first picture.
    private var samplesToSkip = 0

    /// `timeline`: where the outputs' 0 is on the source (`startTimeline(at:output:)` gives it once the
    /// first picture is decoded); audio starting later is preceded by silence, audio starting earlier
    /// loses its head, so sound and picture stay in sync.
    init(stream: UnsafeMutablePointer<AVStream>, plan: AudioPlan, timeline: Timeline = .own, maxLeadIn: Double = 0) throws(TranscodeError) {
        streamTimeBase = stream.pointee.time_base
        self.timeline = timeline
        self.maxLeadIn = max(0, maxLeadIn)
        let par = stream.pointee.codecpar!
        guard let dec = avcodec_find_decoder(par.pointee.codec_id) else {
            throw .libav(operation: "find audio decoder", code: -1, message: "no decoder for \(Prober.codecName(par.pointee.codec_id))")
        }
        guard let dctx = avcodec_alloc_context3(dec) else { throw .libav(operation: "avcodec_alloc_context3", code: -12, message: "out of memory") }
        decoder = dctx
        guard let enc = avcodec_find_encoder(AV_CODEC_ID_AAC), let ectx = avcodec_alloc_context3(enc) else {
            var d: UnsafeMutablePointer<AVCodecContext>? = dctx; avcodec_free_context(&d)
            throw .libav(operation: "find AAC encoder", code: -1, message: "no AAC encoder")
        }
        encoder = ectx
        guard let f = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, Int32(plan.channels), 4096) else {
            var d: UnsafeMutablePointer<AVCodecContext>? = dctx; avcodec_free_context(&d)
            var e: UnsafeMutablePointer<AVCodecContext>? = ectx; avcodec_free_context(&e)
            throw .libav(operation: "av_audio_fifo_alloc", code: -12, message: "out of memory")
        }
        fifo = f
        try LibAV.check(avcodec_parameters_to_context(dctx, par), "audio avcodec_parameters_to_context")
        dctx.pointee.pkt_timebase = stream.pointee.time_base
        try LibAV.check(avcodec_open2(dctx, dec, nil), "open audio decoder")

        ectx.pointee.sample_fmt = AV_SAMPLE_FMT_FLTP
        ectx.pointee.sample_rate = Int32(plan.sampleRate)
        av_channel_layout_default(&ectx.pointee.ch_layout, Int32(plan.channels))
        ectx.pointee.bit_rate = Int64(plan.bitRate)
        ectx.pointee.profile = FF_PROFILE_AAC_LOW
        ectx.pointee.time_base = AVRational(num: 1, den: Int32(plan.sampleRate))
        ectx.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
        try LibAV.check(avcodec_open2(ectx, enc, nil), "open AAC encoder")
    }

    deinit {
        swr_free(&resampler)
        av_audio_fifo_free(fifo)
        var d: UnsafeMutablePointer<AVCodecContext>? = decoder; avcodec_free_context(&d)
        var e: UnsafeMutablePointer<AVCodecContext>? = encoder; avcodec_free_context(&e)
    }

    /// Feeds one demuxed packet (nil = end of stream); delivers encoded AAC packets to `output`.
    /// A damaged packet is counted and skipped.
    func decode(_ packet: UnsafeMutablePointer<AVPacket>?, output: (UnsafeMutablePointer<AVPacket>) throws(TranscodeError) -> Void) throws(TranscodeError) {
        let rc = avcodec_send_packet(decoder, packet)
        if rc < 0 && rc != LibAV.eof {
            if rc == LibAV.eagain { } else { damagedPackets += 1; return }
        }
        var frame = try OwnedFrame()
        while true {
            let r = avcodec_receive_frame(decoder, frame.frame)
            if r == LibAV.eagain || r == LibAV.eof { break }
            if r < 0 { damagedPackets += 1; break }
            if case .awaiting(let fallback) = timeline {
                let f = frame.frame.pointee
                pendingSeconds += Double(f.nb_samples) / Double(max(1, f.sample_rate))
                pendingBytes += Int(f.nb_samples) * Int(f.ch_layout.nb_channels) * Int(av_get_bytes_per_sample(AVSampleFormat(rawValue: f.format)))
                pending.append(frame)
                frame = try OwnedFrame()
                if pendingSeconds > Self.maxPendingSeconds || pendingBytes > Self.maxPendingBytes {
                    try startTimeline(at: fallback, output: output)
                }
                continue
            }
            try encodeDecoded(frame.frame, output: output)
            av_frame_unref(frame.frame)
        }
        if packet == nil {
            if case .awaiting(let fallback) = timeline { try startTimeline(at: fallback, output: output) }
            try resample(nil)
            try drain(final: true, output: output)
        }
    }

    /// The source time (s) of the video's first picture, the outputs' 0 (nil: unknown, the audio
    /// keeps its own timeline); encodes the audio held until now. Only the first call counts.
    func startTimeline(at start: Double?, output: (UnsafeMutablePointer<AVPacket>) throws(TranscodeError) -> Void) throws(TranscodeError) {
        guard case .awaiting = timeline else { return }
        timeline = start.map { .starts($0) } ?? .own
        let held = pending
        pending = []
        pendingSeconds = 0
        pendingBytes = 0
        for f in held { try encodeDecoded(f.frame, output: output) }
    }

    private func encodeDecoded(_ frame: UnsafeMutablePointer<AVFrame>, output: (UnsafeMutablePointer<AVPacket>) throws(TranscodeError) -> Void) throws(TranscodeError) {
        if !aligned { aligned = true; try align(to: frame, output: output) }
        try resample(frame)
        try drain(final: false, output: output)
    }

    /// Sets the first decoded frame where it belongs on the video's timeline: silence before it
    /// when it starts after the first picture, its head dropped when it starts before.
    private func align(to frame: UnsafeMutablePointer<AVFrame>, output: (UnsafeMutablePointer<AVPacket>) throws(TranscodeError) -> Void) throws(TranscodeError) {
        let pts = frame.pointee.best_effort_timestamp
        guard case .starts(let timelineStart) = timeline, pts != LibAV.noPTS else { return }
        let offset = Double(pts) * LibAV.double(streamTimeBase) - timelineStart
        let rate = Double(encoder.pointee.sample_rate)
        if offset < 0 {
            samplesToSkip = Int((-offset * rate).rounded())
            return
        }
        var silence = Int32((min(offset, maxLeadIn) * rate).rounded())
        let frameSize = encoder.pointee.frame_size > 0 ? encoder.pointee.frame_size : 1024
        let channels = encoder.pointee.ch_layout.nb_channels
        var planes = [UnsafeMutablePointer<UInt8>?](repeating: nil, count: Int(channels))
        var lines: Int32 = 0
        try LibAV.check(av_samples_alloc(&planes, &lines, channels, frameSize, AV_SAMPLE_FMT_FLTP, 0), "av_samples_alloc")
        defer { av_freep(&planes) }
        try LibAV.check(av_samples_set_silence(&planes, 0, frameSize, channels, AV_SAMPLE_FMT_FLTP), "av_samples_set_silence")
        // A frame at a time, encoded as it goes: memory stays flat whatever the lead-in.
        while silence > 0 {
            let n = min(silence, frameSize)
            let written = planes.withUnsafeMutableBufferPointer { buf in
                buf.baseAddress!.withMemoryRebound(to: UnsafeMutableRawPointer?.self, capacity: buf.count) {
                    av_audio_fifo_write(fifo, $0, n)
                }
            }
            try LibAV.check(written, "av_audio_fifo_write")
            silence -= n
            try drain(final: false, output: output)
        }
    }

    private func resample(_ frame: UnsafeMutablePointer<AVFrame>?) throws(TranscodeError) {
        if resampler == nil {
            guard let frame else { return }
            var inLayout = frame.pointee.ch_layout
            if inLayout.order == AV_CHANNEL_ORDER_UNSPEC || inLayout.nb_channels == 0 {
                av_channel_layout_default(&inLayout, max(1, frame.pointee.ch_layout.nb_channels))
            }
            try LibAV.check(swr_alloc_set_opts2(&resampler, &encoder.pointee.ch_layout, encoder.pointee.sample_fmt,
                                                encoder.pointee.sample_rate, &inLayout,
                                                AVSampleFormat(rawValue: frame.pointee.format), frame.pointee.sample_rate, 0, nil),
                            "swr_alloc_set_opts2")
            try LibAV.check(swr_init(resampler), "swr_init")
        }
        let inSamples = frame?.pointee.nb_samples ?? 0
        let maxOut = swr_get_out_samples(resampler, inSamples)
        guard maxOut > 0 else { return }
        var planes = [UnsafeMutablePointer<UInt8>?](repeating: nil, count: Int(encoder.pointee.ch_layout.nb_channels))
        var lines: Int32 = 0
        try LibAV.check(av_samples_alloc(&planes, &lines, encoder.pointee.ch_layout.nb_channels, maxOut, AV_SAMPLE_FMT_FLTP, 0), "av_samples_alloc")
        defer { av_freep(&planes) }
        let converted: Int32
        if let frame {
            converted = try withExtendedLifetime(frame) { () throws(TranscodeError) -> Int32 in
                var ins: [UnsafePointer<UInt8>?] = (0..<8).map { UnsafePointer(vidd_frame_plane(frame, Int32($0))) }
                return try LibAV.check(swr_convert(resampler, &planes, maxOut, &ins, inSamples), "swr_convert")
            }
        } else {
            converted = try LibAV.check(swr_convert(resampler, &planes, maxOut, nil, 0), "swr_convert flush")
        }
        if converted > 0 {
            let written = planes.withUnsafeMutableBufferPointer { buf in
                buf.baseAddress!.withMemoryRebound(to: UnsafeMutableRawPointer?.self, capacity: buf.count) {
                    av_audio_fifo_write(fifo, $0, converted)
                }
            }
            try LibAV.check(written, "av_audio_fifo_write")
        }
        if samplesToSkip > 0 {
            let n = min(samplesToSkip, Int(av_audio_fifo_size(fifo)))
            try LibAV.check(av_audio_fifo_drain(fifo, Int32(n)), "av_audio_fifo_drain")
            samplesToSkip -= n
        }
    }

    private func drain(final: Bool, output: (UnsafeMutablePointer<AVPacket>) throws(TranscodeError) -> Void) throws(TranscodeError) {
        let frameSize = encoder.pointee.frame_size > 0 ? encoder.pointee.frame_size : 1024
        while av_audio_fifo_size(fifo) >= frameSize || (final && av_audio_fifo_size(fifo) > 0) {
            let n = min(frameSize, av_audio_fifo_size(fifo))
            let f = try OwnedFrame()
            f.frame.pointee.nb_samples = n
            f.frame.pointee.format = encoder.pointee.sample_fmt.rawValue
            f.frame.pointee.sample_rate = encoder.pointee.sample_rate
            try LibAV.check(av_channel_layout_copy(&f.frame.pointee.ch_layout, &encoder.pointee.ch_layout), "av_channel_layout_copy")
            try LibAV.check(av_frame_get_buffer(f.frame, 0), "audio av_frame_get_buffer")
            let read = withUnsafeMutablePointer(to: &f.frame.pointee.data) { tuple in
                tuple.withMemoryRebound(to: UnsafeMutableRawPointer?.self, capacity: 8) { av_audio_fifo_read(fifo, $0, n) }
            }
            try LibAV.check(read, "av_audio_fifo_read")
            f.frame.pointee.pts = nextPTS
            nextPTS += Int64(n)
            try encode(f.frame, output: output)
        }
        if final { try encode(nil, output: output) }
    }

    private func encode(_ frame: UnsafeMutablePointer<AVFrame>?, output: (UnsafeMutablePointer<AVPacket>) throws(TranscodeError) -> Void) throws(TranscodeError) {
        let rc = avcodec_send_frame(encoder, frame)
        if rc < 0 && rc != LibAV.eof { try LibAV.check(rc, "AAC avcodec_send_frame") }
        let pkt = try OwnedPacket()
        while true {
            let r = avcodec_receive_packet(encoder, pkt.packet)
            if r == LibAV.eagain || r == LibAV.eof { return }
            try LibAV.check(r, "AAC avcodec_receive_packet")
            packetsEncoded += 1
            try output(pkt.packet)
            av_packet_unref(pkt.packet)
        }
    }
}
