/// Why probing or transcoding a file failed, with what a user needs to act on it.
public enum TranscodeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The path does not exist or cannot be opened for reading.
    case fileNotFound(path: String)
    /// The file has zero bytes.
    case emptyFile(path: String)
    /// No demuxer recognises the content (e.g. a text file named .mp4).
    case notMedia(path: String, reason: String)
    /// The container is recognised but the file ends before its data or index does.
    case truncated(path: String, detail: String)
    /// The container is recognised but cannot be read (damaged headers).
    case corrupt(path: String, detail: String)
    /// The file has no video stream and the caller requires one.
    case noVideoStream(path: String)
    /// The file has neither a video nor an audio stream we can use.
    case noMediaStreams(path: String)
    /// libavcodec has no decoder for the stream's codec.
    case unsupportedCodec(path: String, streamIndex: Int, codec: String)
    /// A configured limit (width, height, pixels, duration, file size) is exceeded.
    case limitExceeded(path: String, what: String, value: Double, limit: Double)
    /// Decoding produced no usable frame (every packet damaged).
    case undecodable(path: String, reason: String)
    /// A libav call failed where no input problem explains it.
    case libav(operation: String, code: Int32, message: String)
    /// Writing an output failed.
    case output(path: String, operation: String, message: String)
    /// The options make no sense (unknown preset or rung, empty ladder).
    case invalidOptions(String)
    /// The transcode was cancelled by the caller.
    case cancelled

    public var description: String {
        switch self {
        case .fileNotFound(let p): return "\(p): no such file or not readable"
        case .emptyFile(let p): return "\(p): the file is empty (0 bytes)"
        case .notMedia(let p, let r): return "\(p): not a media file (\(r))"
        case .truncated(let p, let d): return "\(p): the file is truncated (\(d))"
        case .corrupt(let p, let d): return "\(p): the file is damaged (\(d))"
        case .noVideoStream(let p): return "\(p): the file has no video stream"
        case .noMediaStreams(let p): return "\(p): the file has no video or audio stream"
        case .unsupportedCodec(let p, let i, let c): return "\(p): stream #\(i) uses codec '\(c)', which has no decoder here"
        case .limitExceeded(let p, let w, let v, let l):
            return "\(p): \(w) \(Self.number(v)) exceeds the configured limit of \(Self.number(l))"
        case .undecodable(let p, let r): return "\(p): no frame could be decoded (\(r))"
        case .libav(let op, let code, let m): return "\(op) failed: \(m) (libav error \(code))"
        case .output(let p, let op, let m): return "\(p): \(op) failed: \(m)"
        case .invalidOptions(let m): return "invalid transcode options: \(m)"
        case .cancelled: return "the transcode was cancelled"
        }
    }

    private static func number(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }
}
