import CFFmpeg
import Foundation

public struct TranscodeOptions: Sendable {
    public var ladder: LadderOptions
    public var limits: TranscodeLimits
    /// Fail with `.noVideoStream` on audio-only sources instead of producing an audio rendition.
    public var requireVideo: Bool
    public var thumbnails: Bool
    /// Frames queued per rung (bounded: memory stays flat whatever the duration).
    public var queueDepth: Int
    /// Frame threads of the source decoder; nil = as planned from `ladder.cores` (LadderPlan.decoderThreads).
    public var decoderThreads: Int?

    public init(ladder: LadderOptions = LadderOptions(), limits: TranscodeLimits = .default, requireVideo: Bool = false,
                thumbnails: Bool = true, queueDepth: Int = 8, decoderThreads: Int? = nil) {
        self.ladder = ladder; self.limits = limits; self.requireVideo = requireVideo
        self.thumbnails = thumbnails; self.queueDepth = queueDepth; self.decoderThreads = decoderThreads
    }
}

public struct TranscodeResult: Sendable {
    public var source: MediaInfo
    public var plan: LadderPlan
    public var outputDirectory: String
    /// Relative paths of the main outputs: master playlist, MP4s, media playlists, images.
    public var masterPlaylist: String
    public var mp4Files: [String]
    public var poster: String?
    public var storyboard: String?
    public var framesDecoded: Int
    /// Packets that failed to decode and were skipped (video + audio).
    public var damagedPackets: Int
    public var posterTime: Double?
    public var notes: [String]
    public var elapsed: Double
    /// Measured only meaningfully when nothing else runs in the process (the CLI, benchmarks).
    public var cpu: CPUBreakdown
}

/// Transcodes one file into a ladder: demux and decode once, each rung's scaler + x264 on its own
/// thread, audio encoded once and muxed into every output, thumbnails from the same frames.
///
/// Runs on threads of its own (never the caller's executor or the cooperative pool); `run()` awaits
/// them without blocking, `runBlocking()` runs the coordinator on the calling thread.
public final class Transcoder: Sendable {
    public let sourcePath: String
    public let outputDirectory: String
    public let options: TranscodeOptions
    private let sink: (any OutputSink)?
    private let progress: (@Sendable (TranscodeProgress) -> Void)?
    private let control = TranscodeControl()

    public init(source: String, outputDirectory: String, options: TranscodeOptions = TranscodeOptions(),
                sink: (any OutputSink)? = nil, progress: (@Sendable (TranscodeProgress) -> Void)? = nil) {
        self.sourcePath = source
        self.outputDirectory = outputDirectory
        self.options = options
        self.sink = sink
        self.progress = progress
    }

    /// Stops promptly: threads exit, everything is freed, `run` throws `.cancelled`.
    public func cancel() { control.cancel() }

    /// Transcodes on a dedicated thread; Task cancellation cancels the transcode.
    public func run() async throws(TranscodeError) -> TranscodeResult {
        let result: Result<TranscodeResult, TranscodeError> = await withTaskCancellationHandler {
            await withCheckedContinuation { (cont: CheckedContinuation<Result<TranscodeResult, TranscodeError>, Never>) in
                do throws(TranscodeError) {
                    let t = try NativeThread(name: "vidd-transcode") { [self] in
                        let r: Result<TranscodeResult, TranscodeError>
                        do throws(TranscodeError) { r = .success(try self.runBlocking()) } catch { r = .failure(error) }
                        cont.resume(returning: r)
                    }
                    t.detach()
                } catch {
                    cont.resume(returning: .failure(error))
                }
            }
        } onCancel: {
            control.cancel()
        }
        return try result.get()
    }

    /// Transcodes on the calling thread (which becomes the demux/decode thread). Blocking.
    public func runBlocking() throws(TranscodeError) -> TranscodeResult {
        let job = try TranscodeJob(sourcePath: sourcePath, outputDirectory: outputDirectory, options: options,
                                   sink: sink, progress: progress, control: control)
        return try job.run()
    }
}
