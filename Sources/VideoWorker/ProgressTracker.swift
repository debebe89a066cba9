import VideoCore

/// Turns a job's raw progress (stage changes, frames done, per-rung states) into `ProgressEvent`s,
/// rate-limited: an event is due on every stage, status or rung-state change, and otherwise at
/// most once per `interval` — so a fast transcoder cannot flood Redis and SSE clients.
///
/// Time is a monotonic `Duration` from the caller's clock; `timestamp` text comes from `clock`.
public struct ProgressTracker: Sendable {
    public let videoID: String
    public let interval: Duration
    public private(set) var status = VideoStatus.processing
    public private(set) var stage = ProgressEvent.Stage.probing
    private var totalFrames: Int64?
    private var sourceFrameRate: Double?
    private var processedFrames: Int64 = 0
    private var renditions: [ProgressEvent.RenditionProgress] = []
    private var error: String?
    private var bytesFetched: Int64?
    private var bytesTotal: Int64?
    /// When the video became playable (this attempt's master stored, or an earlier attempt's).
    private var playableAt: String?
    private var startedTranscoding: Duration?
    private var lastEmitted: Duration?
    /// The newest timestamp sent: each event's is later (a stream drops an event not newer than
    /// the last it sent, and two events can fall in the same millisecond — e.g. a frame count
    /// and the `playable` event).
    private var lastTimestamp: String?
    private var lastEvent: ProgressEvent?
    private let clock: @Sendable () -> String

    public init(videoID: String, interval: Duration = .milliseconds(500), clock: @escaping @Sendable () -> String = Timestamp.now) {
        self.videoID = videoID
        self.interval = interval
        self.clock = clock
    }

    /// The first event of a job (status processing, stage probing): always due.
    public mutating func started(now: Duration) -> ProgressEvent { emit(now: now) }

    /// A source being downloaded from its `source_url` (before probing): bytes stored so far and
    /// the declared size. Due on the first call and on the first bytes, then at most once per
    /// interval.
    public mutating func fetching(bytes: Int64, total: Int64?, now: Duration) -> ProgressEvent? {
        let first = stage != .fetching || ((bytesFetched ?? 0) == 0 && bytes > 0)
        stage = .fetching
        bytesFetched = bytes
        bytesTotal = total
        guard first || lastEmitted.map({ now - $0 >= interval }) ?? true else { return nil }
        return emit(now: now)
    }

    /// After probing: the plan (rungs) and what the source holds.
    public mutating func planned(heights: [Int], totalFrames: Int64?, sourceFrameRate: Double?, now: Duration) -> ProgressEvent {
        planned(sizes: heights.map { (nil, $0) }, totalFrames: totalFrames, sourceFrameRate: sourceFrameRate, now: now)
    }

    /// The rungs' output sizes, so events carry each rung's width beside its height.
    public mutating func planned(sizes: [(width: Int?, height: Int)], totalFrames: Int64?, sourceFrameRate: Double?, now: Duration) -> ProgressEvent {
        renditions = sizes.sorted { $0.height > $1.height }.map { .init(height: $0.height, width: $0.width, state: .pending, percent: 0) }
        self.totalFrames = totalFrames
        self.sourceFrameRate = sourceFrameRate
        stage = .transcoding
        startedTranscoding = now
        for i in renditions.indices { renditions[i].state = .transcoding }
        return emit(now: now)
    }

    /// Frames decoded so far (all rungs encode from one decode). Returns an event when one is due.
    public mutating func framesProcessed(_ frames: Int64, now: Duration) -> ProgressEvent? {
        processedFrames = max(processedFrames, frames)
        let percent = framePercent
        for i in renditions.indices where renditions[i].state == .transcoding { renditions[i].percent = percent }
        guard let last = lastEmitted, now - last < interval else { return emit(now: now) }
        return nil
    }

    /// A rung's output changed state (e.g. its MP4 is uploading, or done). Always due.
    public mutating func rendition(height: Int, _ state: ProgressEvent.RenditionState, now: Duration) -> ProgressEvent {
        if let i = renditions.firstIndex(where: { $0.height == height }) {
            renditions[i].state = state
            if state == .done || state == .uploading { renditions[i].percent = 100 }
        }
        return emit(now: now)
    }

    /// A redelivered job of a video an earlier attempt made playable: every event says so.
    public mutating func resumePlayable(at playableAt: String?) {
        self.playableAt = playableAt
    }

    /// The video just became playable: the one event with stage `playable`, always due; the
    /// events after it are back at the stage the work is in, `playable` true.
    public mutating func playable(at playableAt: String, now: Duration) -> ProgressEvent {
        self.playableAt = playableAt
        let current = stage
        stage = .playable
        defer { stage = current }
        return emit(now: now)
    }

    public mutating func stage(_ stage: ProgressEvent.Stage, now: Duration) -> ProgressEvent {
        self.stage = stage
        return emit(now: now)
    }

    public mutating func completed(now: Duration) -> ProgressEvent {
        status = .completed
        stage = .finalizing
        for i in renditions.indices { renditions[i].state = .done; renditions[i].percent = 100 }
        return emit(now: now)
    }

    public mutating func failed(_ message: String, now: Duration) -> ProgressEvent {
        status = .failed
        error = message
        return emit(now: now)
    }

    var framePercent: Double {
        guard let totalFrames, totalFrames > 0 else { return 0 }
        return min(100, (Double(processedFrames) / Double(totalFrames) * 1000).rounded() / 10)
    }

    private mutating func emit(now: Duration) -> ProgressEvent {
        var fps: Double?
        var speed: Double?
        var eta: Double?
        if let start = startedTranscoding, stage == .transcoding || stage == .uploading || stage == .playable {
            let elapsed = (now - start).fractionalSeconds
            if elapsed > 0, processedFrames > 0 {
                let rate = Double(processedFrames) / elapsed
                fps = (rate * 10).rounded() / 10
                if let source = sourceFrameRate, source > 0 { speed = (rate / source * 100).rounded() / 100 }
                if let totalFrames { eta = max(0, (Double(totalFrames - processedFrames) / rate).rounded()) }
            }
        }
        let stagePercent: Double = switch (status, stage) {
        case (.completed, _): 100
        case (_, .fetching), (_, .probing): 0
        case (_, .transcoding), (_, .playable): framePercent * 0.95  // the last 5 % is uploading and finalizing
        case (_, .uploading): 95
        case (_, .finalizing): 99
        }
        // Never backwards: the `playable` event of a short video comes when its playlists are
        // complete, which can be after `finalizing` was sent.
        let percent = max(stagePercent, lastEvent?.percent ?? 0)
        var timestamp = clock()
        if let last = lastTimestamp, timestamp <= last, let ms = Timestamp.milliseconds(rfc3339: last) {
            timestamp = Timestamp.rfc3339(milliseconds: ms + 1)
        }
        lastTimestamp = timestamp
        let event = ProgressEvent(videoID: videoID, status: status, stage: stage, percent: status == .failed ? (lastEvent?.percent ?? 0) : percent,
                                  processedFrames: startedTranscoding == nil ? nil : processedFrames, totalFrames: totalFrames,
                                  renditions: renditions, fps: fps, speed: speed, etaSeconds: status.isFinal ? 0 : eta,
                                  error: error, timestamp: timestamp,
                                  bytesFetched: stage == .fetching ? bytesFetched : nil, bytesTotal: stage == .fetching ? bytesTotal : nil,
                                  playable: status == .completed || (status == .processing && playableAt != nil), playableAt: playableAt)
        lastEmitted = now
        lastEvent = event
        return event
    }
}
