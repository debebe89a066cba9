import CFFmpeg

/// What the coordinator hands a rung thread, in decode order.
enum RungInput: Sendable {
    /// An upright source frame (pts relative to the start, in the source stream's time base).
    case frame(FrameRef, keyframe: Bool, duration: Int64)
    /// An AAC packet to mux into this rung's MP4.
    case audio(PacketRef)
}

/// One rung on its own thread: scale + x264 + MP4 and HLS muxers, fed through a bounded queue.
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
    /// CPU seconds this thread spent muxing (scaling is counted by the encoder).
    private(set) var muxCPU = 0.0
    /// CPU seconds of the whole rung thread (set when it ends).
    private(set) var threadCPU = 0.0
    var scaleCPU: Double { encoder.scaleCPU }

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

    private func run() {
        defer { threadCPU = CPUTime.thread() }
        status.state.store(TranscodeProgress.RungState.encoding.rawValue, ordering: .relaxed)
        do {
            while let item = queue.pop() {
                if control.isCancelled { break }
                switch item {
                case .frame(let ref, let key, let duration):
                    try encoder.encode(ref.frame, keyframe: key, duration: duration) { (pkt) throws(TranscodeError) in
                        try mux(pkt)
                    }
                    status.frames.add(1, ordering: .relaxed)
                    let t = Double(ref.frame.pointee.pts) * LibAV.double(timeBase)
                    status.mediaTimeMicros.store(Int(t * 1e6), ordering: .relaxed)
                case .audio(let ref):
                    if hasAudio {
                        let t0 = CPUTime.thread()
                        try mp4.write(ref.packet, stream: 1)
                        muxCPU += CPUTime.thread() - t0
                    }
                }
            }
            if control.isCancelled {
                status.state.store(TranscodeProgress.RungState.cancelled.rawValue, ordering: .relaxed)
                return
            }
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
