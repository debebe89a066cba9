/// A progress event's id: the Redis stream entry id (`<milliseconds>-<sequence>`) under which the
/// event is kept in the feed's history and its video's (`RedisCommands.publishProgress`). SSE
/// sends it as the event's `id:`, a reconnecting client sends it back as `Last-Event-ID`, and ids
/// order events as Redis appended them.
public struct ProgressEventID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var milliseconds: UInt64
    public var sequence: UInt64

    public init(milliseconds: UInt64, sequence: UInt64) {
        self.milliseconds = milliseconds
        self.sequence = sequence
    }

    /// Only the exact form Redis gives out: two decimal numbers that fit 64 bits, joined by `-`
    /// (anything else a client sends is not an id vidd handed out).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "-", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 2,
              parts.allSatisfy({ !$0.isEmpty && $0.count <= 20 && $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }),
              let ms = UInt64(parts[0]), let seq = UInt64(parts[1]) else { return nil }
        self.init(milliseconds: ms, sequence: seq)
    }

    public var description: String { "\(milliseconds)-\(sequence)" }

    public static func < (a: Self, b: Self) -> Bool {
        (a.milliseconds, a.sequence) < (b.milliseconds, b.sequence)
    }
}
