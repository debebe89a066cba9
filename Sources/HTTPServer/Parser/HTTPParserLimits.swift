/// Bounds on what one request may make the server hold or read. Defaults follow common servers
/// (nginx/NIO: 8 KiB target, 64 KiB head, 100 fields).
public struct HTTPParserLimits: Sendable, Equatable {
    /// Longest request-target; longer gets 414.
    public var maxRequestTargetLength = 8 * 1024
    /// Bytes of the request line plus header section (and, separately, of a trailer section); more gets 431.
    public var maxHeaderBytes = 64 * 1024
    /// Header (or trailer) fields per request; more gets 431.
    public var maxHeaderCount = 100
    /// Body bytes for a request whose body is collected into memory; more gets 413.
    public var maxCollectedBodyBytes = 8 * 1024 * 1024
    /// Body bytes for a request whose body is streamed to the handler (never held whole); more gets 413.
    public var maxStreamedBodyBytes = Int.max
    /// Longest chunk-size line including extensions; longer is refused (400) — extensions are ignored
    /// anyway, so a long one is only a way to make us scan.
    public var maxChunkLineLength = 4096

    public init() {}
}

/// Which body limit applies to the request being parsed: the server picks one after the head,
/// depending on whether the handler collects the body or consumes it as a stream.
public enum HTTPBodyLimitKind: Sendable {
    case collected
    case streamed
}
