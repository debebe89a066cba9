import Synchronization

/// A snapshot of a running transcode, delivered to the progress callback (on the transcoder's
/// coordinator thread, at most twice a second, and once at the end).
public struct TranscodeProgress: Sendable, Equatable {
    public enum RungState: Int, Sendable, Codable { case pending, encoding, finished, failed, cancelled }
    public struct Rung: Sendable, Equatable {
        public var name: String
        public var state: RungState
        public var framesEncoded: Int
        /// Seconds of source encoded so far in this rung.
        public var mediaTime: Double
    }
    /// Seconds of source that every output has encoded.
    public var mediaTime: Double
    public var duration: Double
    public var framesDecoded: Int
    public var rungs: [Rung]
    /// Source frames decoded per wall-clock second.
    public var fps: Double
    /// Media seconds per wall-clock second (× realtime).
    public var speed: Double
    /// Seconds left at the current speed; nil before the speed is known.
    public var eta: Double?
    public var elapsed: Double

    public var fraction: Double { duration > 0 ? min(1, mediaTime / duration) : 0 }
}

/// Counters a rung thread updates and the coordinator reads for progress.
final class RungStatus: Sendable {
    let name: String
    let state = Atomic<Int>(TranscodeProgress.RungState.pending.rawValue)
    let frames = Atomic<Int>(0)
    let mediaTimeMicros = Atomic<Int>(0)
    init(name: String) { self.name = name }

    var snapshot: TranscodeProgress.Rung {
        TranscodeProgress.Rung(name: name, state: TranscodeProgress.RungState(rawValue: state.load(ordering: .relaxed)) ?? .pending,
                               framesEncoded: frames.load(ordering: .relaxed),
                               mediaTime: Double(mediaTimeMicros.load(ordering: .relaxed)) / 1e6)
    }
}
