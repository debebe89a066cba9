import Synchronization

/// A file the transcoder finished writing (it will not change again, except playlists that are
/// rewritten as segments are added: those are reported after each rewrite, `isFinal` on the last).
///
/// Order, which an uploader can rely on to publish nothing before what it names: a media
/// segment (and its rendition's init segment) before the first playlist version that lists it;
/// every rendition's first playlist version before the provisional master playlist (`isFinal`
/// false, written as soon as every rendition has a segment); every final media playlist before
/// the final master; the DASH manifest last of all.
public struct OutputFile: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case mp4, hlsInit, hlsSegment, mediaPlaylist, masterPlaylist, poster, storyboard, storyboardIndex, dashManifest
    }
    /// Path relative to the output directory (the object key suffix for an uploader).
    public var relativePath: String
    /// Where the file is on local disk now (an intermediate playlist version: under a temporary
    /// name it leaves right after the notification, so read it during the call).
    public var localPath: String
    public var kind: Kind
    /// The rung name ("720p", "audio"), nil for files that belong to the whole video.
    public var rendition: String?
    public var isFinal: Bool
}

/// Receives each output as soon as it is complete, so a service can upload while encoding goes on.
/// Called on the transcoder's own threads (never the caller's executor): implementations must be
/// thread-safe and quick (hand the work to another thread or task).
public protocol OutputSink: Sendable {
    func fileCompleted(_ file: OutputFile)
}

/// For local use: outputs stay where the muxers wrote them (the output directory); the sink keeps
/// the list of completed files, and may forward each to a closure.
public final class DirectorySink: OutputSink {
    public let directory: String
    private let completed = Mutex<[OutputFile]>([])
    private let onFile: (@Sendable (OutputFile) -> Void)?

    public init(directory: String, onFile: (@Sendable (OutputFile) -> Void)? = nil) {
        self.directory = directory
        self.onFile = onFile
    }

    public func fileCompleted(_ file: OutputFile) {
        completed.withLock { $0.append(file) }
        onFile?(file)
    }

    /// Every notification received so far, in order.
    public var files: [OutputFile] { completed.withLock { $0 } }
}
