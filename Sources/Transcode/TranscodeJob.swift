import CFFmpeg
import Foundation

/// One transcode, run by the coordinator thread: demux, decode, rotate, fan frames out to the rung
/// threads, encode audio, thumbnails, then the master playlist.
final class TranscodeJob {
    let source: SourceFile
    let info: MediaInfo
    let plan: LadderPlan
    let options: TranscodeOptions
    let outputDirectory: String
    let sink: (any OutputSink)?
    let progress: (@Sendable (TranscodeProgress) -> Void)?
    let control: TranscodeControl
    private var notes: [String] = []

    private var videoDecoder: UnsafeMutablePointer<AVCodecContext>?
    private var audio: AudioTranscoder?
    private var audioHLS: RenditionMuxer?
    private var audioMP4: RenditionMuxer?
    /// The source's audio stream gave no sound at all: the master and the DASH manifest leave the audio out.
    private var audioSilent = false
    private var workers: [RungWorker] = []
    private var rotator: Rotator?
    private var thumbnailer: Thumbnailer?
    /// Between the HLS muxers and `sink`: writes the provisional master once every rendition has a segment.
    private var earlyMaster: EarlyMasterSink?

    private var framesDecoded = 0
    private var damagedVideo = 0
    private var droppedFrames = 0
    private var firstPTS: Int64?
    private var lastPTS: Int64?
    private var lastDuration: Int64 = 0
    /// Formats whose timestamps may restart or jump mid-file (MPEG-TS: AVFMT_TS_DISCONT).
    private lazy var discontinuousTimestamps = source.format.pointee.iformat.pointee.flags & AVFMT_TS_DISCONT != 0
    /// Added to every video timestamp since the last discontinuity, so the timeline stays continuous.
    private var discontinuityOffset: Int64 = 0
    private var discontinuities = 0
    private var nextKeyTime = 0.0
    private var lastKeyIndex = 0
    private var frameIndex = 0
    private var lastProgress = 0.0
    /// Seconds of audio encoded (progress of audio-only sources).
    private var audioTime = 0.0
    private let started = Date()
    private let startCPU = CPUTime.process()
    /// The coordinator is the thread that builds the job and runs it.
    private let startThreadCPU = CPUTime.thread()
    private var decoderThreads = HelperThreads([])
    /// The coordinator's CPU in calls into the video decoder, in audio work, in thumbnails.
    private var decodeCallCPU = 0.0
    private var audioCPU = 0.0
    private var thumbnailCPU = 0.0

    init(sourcePath: String, outputDirectory: String, options: TranscodeOptions, sink: (any OutputSink)?,
         progress: (@Sendable (TranscodeProgress) -> Void)?, control: TranscodeControl) throws(TranscodeError) {
        source = try SourceFile(path: sourcePath)
        info = try Prober.describe(source)
        try options.limits.check(info)
        if options.requireVideo && !info.hasVideo { throw .noVideoStream(path: sourcePath) }
        plan = try LadderPlanner.plan(for: info, options: options.ladder)
        self.options = options
        self.outputDirectory = outputDirectory
        self.sink = sink
        self.progress = progress
        self.control = control
        notes = info.notes
    }

    deinit {
        var d = videoDecoder
        avcodec_free_context(&d)
    }

    func run() throws(TranscodeError) -> TranscodeResult {
        do { try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true) } catch {
            throw .output(path: outputDirectory, operation: "mkdir", message: "\(error)")
        }
        try setUp()
        var threadsStarted = false
        defer {
            // Whatever happened, no thread outlives the job.
            if threadsStarted { for w in workers { w.queue.close() }; for w in workers { w.join() } }
        }
        for w in workers { try w.start() }
        threadsStarted = true
        try demuxAndDecode()
        // The roots' input ends here; each rung closes the queues of the rungs it feeds.
        for w in workers where w.rung.scaledFrom == nil { w.queue.close() }
        for w in workers { w.join() }
        threadsStarted = false
        if let failure = control.failure { throw failure }
        if control.isCancelled { throw .cancelled }
        decoderThreads.sample()
        if info.hasVideo && framesDecoded == 0 {
            throw .undecodable(path: info.path, reason: "\(damagedVideo) damaged video packets, no frame decoded")
        }
        // An audio stream that holds no sound (a track with no packets, or none decodable) gives an
        // empty rendition a player cannot load: the ladder goes without it, or an audio-only source fails.
        if let audio, audio.packetsEncoded == 0 {
            if !info.hasVideo {
                throw .undecodable(path: info.path, reason: "the audio stream holds no sound (\(audio.damagedPackets) damaged packets)")
            }
            audioSilent = true
            notes.append("audio stream #\(source.audioIndex ?? 0) holds no sound: the ladder has no audio")
        }
        try CPUTime.measure(into: &audioCPU) { () throws(TranscodeError) in
            try audioHLS?.finish()
            try audioMP4?.finish()
        }
        var poster: String? = nil, storyboard: String? = nil
        if let t = thumbnailer {
            try CPUTime.measure(into: &thumbnailCPU) { () throws(TranscodeError) in try t.write(to: outputDirectory, sink: sink) }
            if t.posterTime != nil { poster = "poster.jpg" }
            storyboard = "storyboard.jpg"
            if t.rejectedCandidates > 0 { notes.append("\(t.rejectedCandidates) poster candidates rejected as too dark or too bright") }
        } else if !info.hasVideo {
            notes.append("audio-only source: no video rungs, no poster and no storyboard")
        }
        try writeMaster()
        let dashManifest = writeDashManifest()
        if damagedVideo + (audio?.damagedPackets ?? 0) > 0 {
            notes.append("skipped \(damagedVideo) damaged video and \(audio?.damagedPackets ?? 0) damaged audio packets")
        }
        if discontinuities > 0 { notes.append("joined \(discontinuities) timestamp discontinuities into one continuous timeline") }
        if droppedFrames > 0 { notes.append("dropped \(droppedFrames) frames with repeated or backward timestamps") }
        reportProgress(force: true)
        let cpu = cpuBreakdown()
        return TranscodeResult(
            source: info, plan: plan, outputDirectory: outputDirectory, masterPlaylist: "master.m3u8", dashManifest: dashManifest,
            mp4Files: workers.map { "\($0.rung.name).mp4" } + (audioMP4 != nil ? ["audio.m4a"] : []),
            poster: poster, storyboard: storyboard, framesDecoded: framesDecoded,
            damagedPackets: damagedVideo + (audio?.damagedPackets ?? 0), posterTime: thumbnailer?.posterTime,
            notes: notes, elapsed: Date().timeIntervalSince(started), cpu: cpu)
    }

    /// Every part from the thread that did it (CPUBreakdown); called once every rung thread ended.
    private func cpuBreakdown() -> CPUBreakdown {
        var cpu = CPUBreakdown()
        cpu.total = CPUTime.process() - startCPU
        cpu.decode = decodeCallCPU + decoderThreads.cpu
        cpu.audio = audioCPU
        cpu.thumbnails = thumbnailCPU
        let opening = workers.map(\.encoderOpenCPU).reduce(0, +)
        cpu.coordination = max(0, CPUTime.thread() - startThreadCPU - decodeCallCPU - audioCPU - thumbnailCPU - opening)
        cpu.scaling = workers.map(\.scaleCPU).reduce(0, +)
        cpu.encoding = workers.map(\.encodeCPU).reduce(0, +)
        cpu.muxing = workers.map(\.muxCPU).reduce(0, +)
        cpu.handOff = workers.map(\.handOffCPU).reduce(0, +)
        return cpu
    }

    private func setUp() throws(TranscodeError) {
        let early = sink.map { EarlyMasterSink(inner: $0, outputDirectory: outputDirectory) }
        earlyMaster = early
        let hlsSink: (any OutputSink)? = early ?? sink
        if let plannedAudio = plan.audio, let ai = source.audioIndex {
            let a = try AudioTranscoder(stream: source.stream(ai), plan: plannedAudio,
                                        timeline: followsVideo ? .awaiting(fallback: videoStreamStart()) : .own, maxLeadIn: info.duration)
            audio = a
            audioHLS = try RenditionMuxer(kind: .hls, outputDirectory: outputDirectory, relativePath: "hls/audio/index.m3u8",
                                          rendition: "audio", streams: [.init(codec: a.encoder)], sink: hlsSink)
            early?.expect("audio", .audio(.init(uri: "hls/audio/index.m3u8", peakBandwidth: plannedAudio.bitRate, averageBandwidth: 0)))
            if plan.rungs.isEmpty {
                audioMP4 = try RenditionMuxer(kind: .mp4, outputDirectory: outputDirectory, relativePath: "audio.m4a",
                                              rendition: "audio", streams: [.init(codec: a.encoder)], sink: sink)
            }
        }
        guard let vi = source.videoIndex, let v = info.video, !plan.rungs.isEmpty else { return }
        let st = source.stream(vi)
        guard let dec = avcodec_find_decoder(st.pointee.codecpar.pointee.codec_id),
              let ctx = avcodec_alloc_context3(dec) else {
            throw .unsupportedCodec(path: info.path, streamIndex: vi, codec: v.codec)
        }
        videoDecoder = ctx
        try LibAV.check(avcodec_parameters_to_context(ctx, st.pointee.codecpar), "video avcodec_parameters_to_context")
        ctx.pointee.pkt_timebase = st.pointee.time_base
        ctx.pointee.thread_count = Int32(options.decoderThreads ?? plan.decoderThreads)
        // Frame threads start inside avcodec_open2; followed by id for the CPU accounting.
        let (rc, threads) = HelperThreads.starting(named: "vidd-decode") { avcodec_open2(ctx, dec, nil) }
        decoderThreads = threads
        try LibAV.check(rc, "open \(v.codec) decoder")
        rotator = Rotator(rotation: v.rotation, mirrored: v.mirrored, timeBase: st.pointee.time_base)
        if options.thumbnails {
            thumbnailer = try Thumbnailer(duration: v.duration > 0 ? v.duration : info.duration,
                                          displayWidth: v.displayWidth, displayHeight: v.displayHeight)
        }
        for r in plan.rungs {
            workers.append(try RungWorker(rung: r, timeBase: st.pointee.time_base, preset: plan.preset, audio: audio?.encoder,
                                          outputDirectory: outputDirectory, sink: hlsSink, control: control,
                                          queueDepth: options.queueDepth))
        }
        for w in workers {
            // x264's VBV bounds the bits of any T seconds by maxrate × T + bufsize: the peak a segment can reach.
            let ceiling = (Double(w.rung.maxRateKbps) + Double(w.rung.bufSizeKbps) / plan.segmentDuration) * 1000
            early?.expect(w.rung.name, .video(.init(uri: "hls/\(w.rung.name)/index.m3u8", width: w.rung.width, height: w.rung.height,
                                                    frameRate: w.rung.frameRate, codec: w.codecString,
                                                    peakBandwidth: Int(ceiling.rounded(.up)), averageBandwidth: 0)))
        }
        // Cascade (LadderPlanner.assignScaleSources): a rung scaled from another is fed by that rung's thread.
        for (i, r) in plan.rungs.enumerated() { if let p = r.scaledFrom { workers[p].children.append(workers[i]) } }
    }

    /// The audio follows the rungs' timeline, whose 0 is the first decoded picture (handleFrame
    /// tells the audio); an audio-only ladder's audio is its own timeline.
    private var followsVideo: Bool { source.videoIndex != nil && !plan.rungs.isEmpty }

    /// The video stream's start (libavformat's start_time, edit lists applied), seconds: the audio's
    /// reference if no picture decodes.
    private func videoStreamStart() -> Double? {
        guard let vi = source.videoIndex else { return nil }
        let st = source.stream(vi)
        guard st.pointee.start_time != LibAV.noPTS else { return nil }
        return Double(st.pointee.start_time) * LibAV.double(st.pointee.time_base)
    }

    private func demuxAndDecode() throws(TranscodeError) {
        let pkt = try OwnedPacket()
        let frame = try OwnedFrame()
        var readErrors = 0
        while !control.isCancelled {
            let rc = av_read_frame(source.format, pkt.packet)
            if rc == LibAV.eof { break }
            if rc < 0 {
                if rc == LibAV.eagain { continue }
                // A damaged container region: libavformat resyncs on the next read; give up after many.
                readErrors += 1
                if readErrors > 1000 || avio_feof(source.format.pointee.pb) != 0 { break }
                continue
            }
            defer { av_packet_unref(pkt.packet) }
            let index = Int(pkt.packet.pointee.stream_index)
            if index == source.videoIndex, let dec = videoDecoder {
                try decodeVideo(dec, pkt.packet, frame.frame)
            } else if index == source.audioIndex, let audio {
                try CPUTime.measure(into: &audioCPU) { () throws(TranscodeError) in
                    try audio.decode(pkt.packet) { (p) throws(TranscodeError) in try self.distributeAudio(p) }
                }
            }
            reportProgress(force: false)
        }
        if control.isCancelled { return }
        if let dec = videoDecoder { try decodeVideo(dec, nil, frame.frame) }
        try CPUTime.measure(into: &audioCPU) { () throws(TranscodeError) in
            try audio?.decode(nil) { (p) throws(TranscodeError) in try self.distributeAudio(p) }
        }
        if readErrors > 0 { notes.append("\(readErrors) demuxer read errors skipped") }
    }

    private func decodeVideo(_ dec: UnsafeMutablePointer<AVCodecContext>, _ packet: UnsafeMutablePointer<AVPacket>?,
                             _ frame: UnsafeMutablePointer<AVFrame>) throws(TranscodeError) {
        let rc = CPUTime.measure(into: &decodeCallCPU) { avcodec_send_packet(dec, packet) }
        if rc < 0 && rc != LibAV.eagain && rc != LibAV.eof {
            damagedVideo += 1
            return
        }
        while !control.isCancelled {
            let r = CPUTime.measure(into: &decodeCallCPU) { avcodec_receive_frame(dec, frame) }
            if r == LibAV.eagain || r == LibAV.eof { return }
            if r < 0 { damagedVideo += 1; return }
            defer { av_frame_unref(frame) }
            try handleFrame(frame)
        }
    }

    private func handleFrame(_ frame: UnsafeMutablePointer<AVFrame>) throws(TranscodeError) {
        let tb = source.stream(source.videoIndex!).pointee.time_base
        let fps = info.video?.frameRate ?? 30
        let nominal = max(1, Int64((1 / fps / LibAV.double(tb)).rounded()))
        var pts = frame.pointee.best_effort_timestamp
        if pts == LibAV.noPTS { pts = (lastPTS ?? -nominal) + nominal } else { pts += discontinuityOffset }
        if discontinuousTimestamps, let last = lastPTS {
            // MPEG-TS joined from pieces, or a clock reset: continue where the programme was, as the
            // ffmpeg CLI does (its dts_delta_threshold: 10 s forward, or any step back of 0.1 s).
            let expected = last + lastDuration
            let delta = pts - expected
            if Double(delta) * LibAV.double(tb) > 10 || Double(delta) * LibAV.double(tb) < -0.1 {
                discontinuityOffset -= delta
                pts = expected
                discontinuities += 1
            }
        }
        if let last = lastPTS, pts <= last { droppedFrames += 1; return }
        lastPTS = pts
        if firstPTS == nil {
            firstPTS = pts
            // The rungs' 0: the audio held until now is placed against this picture.
            if let audio {
                try CPUTime.measure(into: &audioCPU) { () throws(TranscodeError) in
                    try audio.startTimeline(at: Double(pts) * LibAV.double(tb)) { (p) throws(TranscodeError) in try self.distributeAudio(p) }
                }
            }
        }
        let rel = pts - firstPTS!
        frame.pointee.pts = rel
        framesDecoded += 1
        let duration = frame.pointee.pkt_duration > 0 ? frame.pointee.pkt_duration : nominal
        lastDuration = duration
        let time = Double(rel) * LibAV.double(tb)

        let ref: FrameRef
        if let rotator {
            guard let r = try rotator.rotate(frame) else { return }
            ref = r
        } else {
            guard let r = FrameRef.referencing(frame) else { throw .libav(operation: "av_frame_ref", code: -12, message: "out of memory") }
            ref = r
        }
        // Keyframe at the first frame at or after every multiple of 2 s: same instants in every rung.
        var key = false
        if frameIndex == 0 || time + 1e-6 >= nextKeyTime {
            key = true
            lastKeyIndex = frameIndex
            nextKeyTime = (floor(time / plan.keyframeInterval + 1e-6) + 1) * plan.keyframeInterval
        }
        if let thumbnailer {
            try CPUTime.measure(into: &thumbnailCPU) { () throws(TranscodeError) in try thumbnailer.offer(ref, time: time) }
        }
        let phase = frameIndex - lastKeyIndex
        for w in workers where w.rung.scaledFrom == nil {
            // Decimation restarts at each keyframe so keyframes are never dropped by lower rungs.
            if phase % w.rung.frameRateDivisor == 0 {
                if !w.queue.push(.frame(ref, keyframe: key, phase: phase, duration: duration)) { return }
            }
        }
        frameIndex += 1
    }

    private func distributeAudio(_ packet: UnsafeMutablePointer<AVPacket>) throws(TranscodeError) {
        audioTime = Double(packet.pointee.pts + packet.pointee.duration) / Double(RungTable.audioSampleRate)
        try audioHLS?.write(packet, stream: 0)
        try audioMP4?.write(packet, stream: 0)
        guard !workers.isEmpty else { return }
        guard let clone = av_packet_clone(packet) else { throw .libav(operation: "av_packet_clone", code: -12, message: "out of memory") }
        let ref = PacketRef(clone)
        for w in workers where w.rung.scaledFrom == nil { if !w.queue.push(.audio(ref)) { return } }
    }

    private func reportProgress(force: Bool) {
        guard let progress else { return }
        let elapsed = Date().timeIntervalSince(started)
        if !force && elapsed - lastProgress < 0.5 { return }
        lastProgress = elapsed
        let rungs = workers.map { $0.status.snapshot }
        var media = rungs.map(\.mediaTime).min() ?? 0
        if workers.isEmpty { media = audioTime }
        if force && control.failure == nil && !control.isCancelled { media = info.duration }
        let speed = elapsed > 0 ? media / elapsed : 0
        let eta: Double? = speed > 0 ? max(0, (info.duration - media) / speed) : nil
        progress(TranscodeProgress(mediaTime: media, duration: info.duration, framesDecoded: framesDecoded, rungs: rungs,
                                   fps: elapsed > 0 ? Double(framesDecoded) / elapsed : 0, speed: speed, eta: eta, elapsed: elapsed))
    }

    private func writeMaster() throws(TranscodeError) {
        var variants: [MasterPlaylist.Variant] = []
        for w in workers {
            let m = MasterPlaylist.measure(playlistPath: outputDirectory + "/hls/\(w.rung.name)/index.m3u8")
            variants.append(.init(uri: "hls/\(w.rung.name)/index.m3u8", width: w.rung.width, height: w.rung.height,
                                  frameRate: w.rung.frameRate, codec: w.codecString, peakBandwidth: m.peak, averageBandwidth: m.average))
        }
        var audioEntry: MasterPlaylist.Audio? = nil
        if audioHLS != nil, !audioSilent {
            let m = MasterPlaylist.measure(playlistPath: outputDirectory + "/hls/audio/index.m3u8")
            audioEntry = .init(uri: "hls/audio/index.m3u8", peakBandwidth: m.peak, averageBandwidth: m.average)
        }
        let text = MasterPlaylist.render(variants: variants, audio: audioEntry)
        let path = outputDirectory + "/master.m3u8"
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
            throw .output(path: path, operation: "write", message: "cannot create file")
        }
        sink?.fileCompleted(OutputFile(relativePath: "master.m3u8", localPath: path, kind: .masterPlaylist, rendition: nil, isFinal: true))
    }
}

extension TranscodeJob {
    /// `manifest.mpd` over the HLS files (`DashManifest`), reported to the sink last; nil, with a
    /// note saying why, when the files do not allow it (never for what the muxers write: the
    /// tests read every manifest to the end). The HLS outputs are complete either way.
    func writeDashManifest() -> String? {
        do throws(TranscodeError) {
            var video: [DashManifest.Representation] = []
            for w in workers {
                var r = try dashRepresentation(rendition: w.rung.name, codec: w.codecString)
                r.width = w.rung.width
                r.height = w.rung.height
                r.frameRate = w.rung.frameRate
                video.append(r)
            }
            var audioRepresentation: DashManifest.Representation?
            if audioHLS != nil, !audioSilent {
                var r = try dashRepresentation(rendition: "audio", codec: MasterPlaylist.Audio.aacCodec)
                r.sampleRate = Int(RungTable.audioSampleRate)
                r.channels = Int(RungTable.audioChannels)
                audioRepresentation = r
            }
            let path = outputDirectory + "/manifest.mpd"
            guard FileManager.default.createFile(atPath: path, contents: Data(DashManifest.render(video: video, audio: audioRepresentation).utf8)) else {
                throw .output(path: path, operation: "write", message: "cannot create file")
            }
            sink?.fileCompleted(OutputFile(relativePath: "manifest.mpd", localPath: path, kind: .dashManifest, rendition: nil, isFinal: true))
            return "manifest.mpd"
        } catch {
            notes.append("no DASH manifest: \(error)")
            return nil
        }
    }

    /// One rendition's segments as its final media playlist lists them, timed from the files.
    private func dashRepresentation(rendition: String, codec: String) throws(TranscodeError) -> DashManifest.Representation {
        let directory = "hls/\(rendition)"
        let playlistPath = outputDirectory + "/" + directory + "/index.m3u8"
        guard let playlist = try? String(contentsOfFile: playlistPath, encoding: .utf8) else {
            throw .output(path: playlistPath, operation: "read", message: "cannot read the media playlist")
        }
        let initSegment = try FragmentedMP4.initSegment(path: outputDirectory + "/" + directory + "/init.mp4")
        var segments: [DashManifest.Segment] = []
        var peak = 0.0
        let uris = MediaPlaylistText.segmentURIs(playlist)
        for (number, uri) in uris.enumerated() {
            // `$Number%04d$` must name exactly the files the playlist lists.
            guard uri == String(format: "seg_%04d.m4s", number) else {
                throw .output(path: playlistPath, operation: "map segments", message: "segment \(number) is \(uri), not seg_\(String(format: "%04d", number)).m4s")
            }
            let path = outputDirectory + "/" + directory + "/" + uri
            let (fragment, size) = try FragmentedMP4.fragment(path: path, initSegment: initSegment)
            guard fragment.startsWithSyncSample else {
                throw .output(path: path, operation: "map segments", message: "the segment does not start with a sync sample")
            }
            segments.append(.init(start: fragment.earliestPresentationTime, duration: fragment.duration))
            peak = max(peak, Double(size) * 8 / (Double(fragment.duration) / Double(initSegment.timescale)))
        }
        guard !segments.isEmpty else { throw .output(path: playlistPath, operation: "map segments", message: "no segments") }
        return DashManifest.Representation(
            id: rendition, codec: codec, bandwidth: Int(peak.rounded(.up)), timescale: initSegment.timescale,
            initialization: directory + "/init.mp4", media: directory + "/seg_$Number%04d$.m4s", segments: segments)
    }
}
