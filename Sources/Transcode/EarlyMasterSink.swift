import Foundation
import Synchronization

/// Between the HLS muxers and the caller's sink: forwards every file and, as soon as every
/// rendition (each rung and the audio) has reported a media playlist that lists
/// `segmentsToStart` segments (or is complete), writes a provisional `master.m3u8` and reports it
/// (`isFinal` false). A service can publish the video as playable from then on instead of after
/// the whole ladder.
///
/// Three segments, not one: a playlist without `#EXT-X-ENDLIST` is live to a player, and RFC 8216
/// §6.3.3 says a client SHOULD NOT start less than three target durations from its end. Chromium
/// 156's built-in HLS keeps to it: given a growing playlist of one or two segments it fails
/// (`DEMUXER_ERROR_COULD_NOT_PARSE`) on its first refresh; from three it plays from the start and
/// follows the playlist as it grows (measured with a copy of a ladder whose playlists grew one
/// segment at a time). ffmpeg and Safari would start earlier; the master waits for them all.
///
/// Every rendition, not just the first to have a segment: the rungs advance together (one
/// decode feeds them all through bounded queues of a few frames), so waiting for the slowest
/// costs a fraction of a second, and a player that loads this master once sees the whole
/// ladder for good. BANDWIDTH is the larger of the most a segment of the rung can carry (x264's
/// VBV: max rate + buffer / segment duration) and the peak of the segments so far — RFC 8216
/// §4.3.4.2 asks a master published before all segments exist for the value of "a
/// representative period of similar content, encoded using the same settings"; a ceiling never
/// lets a player pick a variant its bandwidth cannot carry — and AVERAGE-BANDWIDTH, optional and
/// unknown yet, is left out. The final master (measured) replaces this one when the transcode ends.
final class EarlyMasterSink: OutputSink {
    /// A rendition the provisional master lists, keyed by the `rendition` of its files.
    enum Rendition: Sendable {
        case video(MasterPlaylist.Variant)
        case audio(MasterPlaylist.Audio)
    }

    private struct State {
        var expected: [String: Rendition] = [:]
        /// Peak bits/s of each rendition's segments in its first playlist version that had enough.
        var measured: [String: Int] = [:]
        var written = false
    }

    /// Segments every media playlist lists before the provisional master is written.
    static let segmentsToStart = 3

    let inner: any OutputSink
    let outputDirectory: String
    private let state = Mutex(State())

    init(inner: any OutputSink, outputDirectory: String) {
        self.inner = inner
        self.outputDirectory = outputDirectory
    }

    /// The renditions to wait for; called before any muxer thread starts.
    func expect(_ name: String, _ rendition: Rendition) {
        state.withLock { $0.expected[name] = rendition }
    }

    func fileCompleted(_ file: OutputFile) {
        // The playlist goes first: the master that names it must never be ahead of it.
        inner.fileCompleted(file)
        guard file.kind == .mediaPlaylist, let name = file.rendition, !state.withLock({ $0.written }) else { return }
        guard let text = try? String(contentsOfFile: file.localPath, encoding: .utf8) else { return }
        let segments = MediaPlaylistText.segmentCount(text)
        guard segments >= Self.segmentsToStart || (segments > 0 && MediaPlaylistText.isComplete(text)) else { return }
        let directory = ((outputDirectory + "/" + file.relativePath) as NSString).deletingLastPathComponent
        let peak = MasterPlaylist.measure(playlist: text, directory: directory).peak
        let ready = state.withLock { s -> (expected: [String: Rendition], measured: [String: Int])? in
            guard !s.written, s.expected[name] != nil, s.measured[name] == nil else { return nil }
            s.measured[name] = peak
            guard s.expected.keys.allSatisfy({ s.measured[$0] != nil }) else { return nil }
            s.written = true
            return (s.expected, s.measured)
        }
        guard let ready else { return }
        var variants: [MasterPlaylist.Variant] = []
        var audio: MasterPlaylist.Audio?
        for (name, rendition) in ready.expected {
            switch rendition {
            case .video(var v):
                v.peakBandwidth = max(v.peakBandwidth, ready.measured[name] ?? 0)
                v.averageBandwidth = 0
                variants.append(v)
            case .audio(var a):
                a.peakBandwidth = max(a.peakBandwidth, ready.measured[name] ?? 0)
                a.averageBandwidth = 0
                audio = a
            }
        }
        let path = outputDirectory + "/master.m3u8"
        // Not reported when it cannot be written: the final master still comes at the end.
        guard FileManager.default.createFile(atPath: path, contents: Data(MasterPlaylist.render(variants: variants, audio: audio).utf8)) else { return }
        inner.fileCompleted(OutputFile(relativePath: "master.m3u8", localPath: path, kind: .masterPlaylist, rendition: nil, isFinal: false))
    }
}
