#if canImport(Glibc)
import Glibc
#endif
import Synchronization

public enum LogFormat: String, Sendable, CaseIterable { case logfmt, json }

public enum LogLevel: String, Sendable, CaseIterable, Comparable {
    case debug, info, warning, error
    private var rank: Int { LogLevel.allCases.firstIndex(of: self)! }
    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rank < b.rank }
}

/// One log line before formatting.
public struct LogRecord: Sendable, Equatable {
    public var timestamp: String
    public var level: LogLevel
    public var message: String
    public var fields: [(String, String)]

    public init(timestamp: String, level: LogLevel, message: String, fields: [(String, String)]) {
        self.timestamp = timestamp
        self.level = level
        self.message = message
        self.fields = fields
    }

    public static func == (a: LogRecord, b: LogRecord) -> Bool {
        a.timestamp == b.timestamp && a.level == b.level && a.message == b.message
            && a.fields.map(\.0) == b.fields.map(\.0) && a.fields.map(\.1) == b.fields.map(\.1)
    }

    /// `time=… level=info msg="job done" video_id=…`: keys in a fixed order, values quoted when needed.
    public func logfmt() -> String {
        var out = "time=\(timestamp) level=\(level.rawValue) msg=\(Self.logfmtValue(message))"
        for (k, v) in fields { out += " \(k)=\(Self.logfmtValue(v))" }
        return out
    }

    /// One JSON object per line: `{"time":…,"level":…,"msg":…,"video_id":…}`.
    public func json() -> String {
        var out = "{\"time\":\(JSONText.string(timestamp)),\"level\":\(JSONText.string(level.rawValue)),\"msg\":\(JSONText.string(message))"
        for (k, v) in fields { out += ",\(JSONText.string(k)):\(JSONText.string(v))" }
        return out + "}"
    }

    static func logfmtValue(_ v: String) -> String {
        let needsQuotes = v.isEmpty || v.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0.isNewline || $0 == "\\" || $0 == "\t" }
        guard needsQuotes else { return v }
        var out = "\""
        for ch in v {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default: out.append(ch)
            }
        }
        return out + "\""
    }
}

/// Where formatted lines go. The default writes to stderr with one write(2) per line, under a
/// mutex so lines never interleave. A line is small and stderr is a pipe to journald or a
/// terminal, so the write is brief; it never waits on the network.
public final class LogSink: Sendable {
    private enum Target { case fileDescriptor(Int32), memory }
    private let target: Target
    private let captured = Mutex<[String]>([])

    public static let standardError = LogSink(target: .fileDescriptor(2))

    /// Keeps lines in memory: for tests and for `--help`-style tools that print them later.
    public static func memory() -> LogSink { LogSink(target: .memory) }

    private init(target: Target) { self.target = target }

    public func write(_ line: String) {
        switch target {
        case .memory:
            captured.withLock { $0.append(line) }
        case .fileDescriptor(let fd):
            var bytes = Array(line.utf8)
            bytes.append(0x0A)
            captured.withLock { _ in
                var offset = 0
                while offset < bytes.count {
                    let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
                    if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { break }
                }
            }
        }
    }

    public var lines: [String] { captured.withLock { $0 } }
}

/// A structured logger: a level threshold, a format, fields carried by every line (e.g. `video_id`
/// on a job's logger: `logger.with("video_id", id)`), and a redactor applied to every value.
public struct Logger: Sendable {
    public var level: LogLevel
    public var format: LogFormat
    public var redactor: Redactor
    public var sink: LogSink
    public private(set) var metadata: [(String, String)] = []
    private let clock: @Sendable () -> String

    public init(level: LogLevel = .info, format: LogFormat = .logfmt, redactor: Redactor = Redactor(),
                sink: LogSink = .standardError, clock: @escaping @Sendable () -> String = Timestamp.now) {
        self.level = level
        self.format = format
        self.redactor = redactor
        self.sink = sink
        self.clock = clock
    }

    /// A logger whose every line carries `key=value` (replacing an earlier value of `key`).
    public func with(_ key: String, _ value: String) -> Logger {
        var copy = self
        copy.metadata.removeAll { $0.0 == key }
        copy.metadata.append((key, value))
        return copy
    }

    public func log(_ level: LogLevel, _ message: String, _ fields: KeyValuePairs<String, String> = [:]) {
        guard level >= self.level else { return }
        log(level, message, fields: fields.map { ($0.key, $0.value) })
    }

    /// Fields built at run time (e.g. one per step of a job), in order.
    public func log(_ level: LogLevel, _ message: String, fields: [(String, String)]) {
        guard level >= self.level else { return }
        var all = metadata
        all.append(contentsOf: fields)
        let record = LogRecord(timestamp: clock(), level: level, message: redactor.redact(message),
                               fields: all.map { ($0.0, redactor.redact($0.1)) })
        sink.write(format == .json ? record.json() : record.logfmt())
    }

    public func debug(_ m: String, _ f: KeyValuePairs<String, String> = [:]) { log(.debug, m, f) }
    public func info(_ m: String, _ f: KeyValuePairs<String, String> = [:]) { log(.info, m, f) }
    public func warning(_ m: String, _ f: KeyValuePairs<String, String> = [:]) { log(.warning, m, f) }
    public func error(_ m: String, _ f: KeyValuePairs<String, String> = [:]) { log(.error, m, f) }
}
