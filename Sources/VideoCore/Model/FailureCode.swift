/// Why a video failed, as the worker classified it (`videos.failure_code`): the problem with the
/// file itself, which no retry can fix, or a temporary problem of the service, which a retry
/// usually does. The API turns it into words for people (`message`) and tells clients whether
/// offering Retry makes sense (`isRetryable`); the technical text stays in `error_message`.
public enum FailureCode: String, Sendable, Equatable, CaseIterable, Codable {
    case emptyFile = "empty_file"
    case notMedia = "not_media"
    case truncated
    case corrupt
    case noVideoStream = "no_video_stream"
    case unsupportedCodec = "unsupported_codec"
    case limitExceeded = "limit_exceeded"
    case undecodable
    /// URL ingest: the SSRF guard refused the address (or a redirect to one).
    case sourceRefused = "source_refused"
    /// URL ingest: the source's server answered an error, a bad redirect, or failed TLS.
    case sourceUnavailable = "source_unavailable"
    /// Temporary failures (storage, database, network, a crashed worker) until the attempts ran out.
    case temporary

    /// False for problems of the file: the same file fails the same way again.
    public var isRetryable: Bool { self == .temporary }

    /// What a person is told, without keys, paths or library names.
    public var message: String {
        switch self {
        case .emptyFile: "The file is empty. Upload it again."
        case .notMedia: "This file is not a video that can be read. Check that you picked the right file."
        case .truncated: "The file ends too early: the upload or the recording was cut short. Upload the complete file."
        case .corrupt: "The file is damaged and cannot be read."
        case .noVideoStream: "The file has no picture, only sound or other data."
        case .unsupportedCodec: "The video is in a format this server cannot decode."
        case .limitExceeded: "The video is larger than this server accepts (file size, resolution or length)."
        case .undecodable: "No picture could be decoded from the file: it is probably damaged."
        case .sourceRefused: "This server does not download from that address (it is private, local or not allowed)."
        case .sourceUnavailable: "The link could not be downloaded: its server refused it or answered with an error. Check the link."
        case .temporary: "Processing stopped because of a temporary problem on the server. Retrying usually helps."
        }
    }

    /// For failures recorded before codes existed, or by something else than the worker.
    public static let unknownMessage = "Processing failed."
}
