import CFFmpeg

/// What the coordinator (or, in a cascade, the rung this one scales from) hands a rung thread, in
/// decode order.
enum RungInput: Sendable {
    /// An upright frame (pts relative to the start, in the source stream's time base): the decoded
    /// source, or a larger rung's scaled picture. `phase` counts source frames since the last
    /// keyframe (decimation restarts there); `duration` is one source frame's.
    case frame(FrameRef, keyframe: Bool, phase: Int, duration: Int64)
    /// An AAC packet to mux into this rung's MP4.
    case audio(PacketRef)
}

/// One rung on its own thread: scale + x264 + MP4 and HLS muxers, fed through a bounded queue.
///
/// Cascade: the rungs planned to scale from this one (`children`) get a reference to each scaled
/// picture (no copy) and every audio packet, pushed before this rung encodes it so the threads
/// overlap; their queues are bounded too, so a slow child holds this rung back and, through it,
/// the coordinator. This thread closes the children's queues when its own input ends.
///
/// @unchecked Sendable: built on the coordinator thread, then used only by its own thread until
/// that thread is joined; the queue and the status are the only parts touched concurrently.
final class RungWorker: @unchecked Sendable {
    let rung: PlannedRung
    let queue: BlockingQueue<RungInput>
    let status: RungStatus
    private let encoder: VideoEncoder
    private let mp4: RenditionMuxer
    private let hls: RenditionMuxer
    private let control: TranscodeControl
    private let timeBase: AVRational
    private let hasAudio: Bool
    private var thread: NativeThread?
    /// Rungs scaled from this one's pictures (set before `start`).
    var children: [RungWorker] = []
    /// CPU seconds this thread spent muxing (scaling is counted by the encoder).
    private(set) var muxCPU = 0.0
    /// CPU seconds of the whole rung thread (set when it ends).
    private(set) var threadCPU = 0.0
    var scaleCPU: Double { encoder.scaleCPU }
    /// x264's CPU for this rung, wherever it ran (see `VideoEncoder.encodeCPU`).
    var encodeCPU: Double { encoder.encodeCPU }
    /// Opening x264, done on the coordinator (so not part of this thread's CPU).
    var encoderOpenCPU: Double { encoder.openCPU }
    /// This thread's CPU outside scaling, encoding and muxing: queues, references, bookkeeping.
    var handOffCPU: Double { max(0, threadCPU - encoder.scaleCPU - encoder.callCPU - muxCPU) }

    init(rung: PlannedRung, timeBase: AVRational, preset: String, audio: UnsafeMutablePointer<AVCodecContext>?,
         outputDirectory: String, sink: (any OutputSink)?, control: TranscodeControl, queueDepth: Int) throws(TranscodeError) {
        self.rung = rung
        self.timeBase = timeBase
        self.control = control
        self.hasAudio = audio != nil
        queue = BlockingQueue(capacity: queueDepth)
        status = RungStatus(name: rung.name)
        encoder = try VideoEncoder(rung: rung, timeBase: timeBase, preset: preset)
        var streams = [RenditionMuxer.StreamTemplate(codec: encoder.codec)]
        if let audio { streams.append(.init(codec: audio)) }
        mp4 = try RenditionMuxer(kind: .mp4, outputDirectory: outputDirectory, relativePath: "\(rung.name).mp4",
                                 rendition: rung.name, streams: streams, sink: sink)
        hls = try RenditionMuxer(kind: .hls, outputDirectory: outputDirectory, relativePath: "hls/\(rung.name)/index.m3u8",
                                 rendition: rung.name, streams: [.init(codec: encoder.codec)], sink: sink)
        let q = queue
        control.onStop { q.cancel() }
    }

    var codecString: String { encoder.codecString }

    func start() throws(TranscodeError) {
        thread = try NativeThread(name: "vidd-\(rung.name)") { [self] in self.run() }
    }

    func join() { thread?.join(); thread = nil }

    private func mux(_ pkt: UnsafeMutablePointer<AVPacket>) throws(TranscodeError) {
        let t0 = CPUTime.thread()
        defer { muxCPU += CPUTime.thread() - t0 }
        try mp4.write(pkt, stream: 0)
        try hls.write(pkt, stream: 0)
    }

    /// A child's queue refuses input only once the transcode was cancelled or another thread failed.
    private func stopped() {
        status.state.store(TranscodeProgress.RungState.cancelled.rawValue, ordering: .relaxed)
    }

    private func run() {
        defer {
            threadCPU = CPUTime.thread()
            // Whatever happened, the children see the end of their input (after a failure or a
            // cancellation their queues are already cancelled).
            for c in children { c.queue.close() }
        }
        status.state.store(TranscodeProgress.RungState.encoding.rawValue, ordering: .relaxed)
        do throws(TranscodeError) {
            while let item = queue.pop() {
                if control.isCancelled { break }
                switch item {
                case .frame(let ref, let key, let phase, let duration):
                    let d = Int64(rung.frameRateDivisor)
                    if children.isEmpty {
                        try encoder.encode(ref.frame, keyframe: key, duration: duration * d) { (pkt) throws(TranscodeError) in
                            try mux(pkt)
                        }
                    } else {
                        let picture = try encoder.scale(ref.frame)
                        // Hand the picture down first: the children scale while this thread encodes.
                        for c in children where phase % c.rung.frameRateDivisor == 0 {
                            guard let copy = FrameRef.referencing(picture) else {
                                throw TranscodeError.libav(operation: "av_frame_ref", code: -12, message: "out of memory")
                            }
                            if !c.queue.push(.frame(copy, keyframe: key, phase: phase, duration: duration)) { stopped(); return }
                        }
                        try encoder.encodeScaled(picture, keyframe: key, duration: duration * d) { (pkt) throws(TranscodeError) in
                            try mux(pkt)
                        }
                    }
                    status.frames.add(1, ordering: .relaxed)
                    let t = Double(ref.frame.pointee.pts) * LibAV.double(timeBase)
                    status.mediaTimeMicros.store(Int(t * 1e6), ordering: .relaxed)
                case .audio(let ref):
                    for c in children { if !c.queue.push(.audio(ref)) { stopped(); return } }
                    if hasAudio {
                        let t0 = CPUTime.thread()
                        try mp4.write(ref.packet, stream: 1)
                        muxCPU += CPUTime.thread() - t0
                    }
                }
            }
            if control.isCancelled { stopped(); return }
            // The children flush their encoders while this one flushes its own.
            for c in children { c.queue.close() }
            try encoder.flush { (pkt) throws(TranscodeError) in try mux(pkt) }
            let t0 = CPUTime.thread()
            try mp4.finish()
            try hls.finish()
            muxCPU += CPUTime.thread() - t0
            status.state.store(TranscodeProgress.RungState.finished.rawValue, ordering: .relaxed)
        } catch {
            status.state.store(TranscodeProgress.RungState.failed.rawValue, ordering: .relaxed)
            control.fail(error)
        }
    }
}
