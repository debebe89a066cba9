/// Bounds that keep a hostile or broken peer from making the decoder allocate without limit.
public struct RESPDecoderLimits: Sendable, Hashable {
    /// Largest bulk string / bulk error / verbatim payload accepted (Redis's own default
    /// `proto-max-bulk-len` is 512 MiB).
    public var maxBulkLength: Int
    /// Largest element count an aggregate header may announce. Independent of this limit, storage is
    /// only ever reserved for as many elements as the bytes already received could hold, so a
    /// 12-byte `*4294967295` header allocates nothing (hiredis #1357).
    public var maxElementCount: Int
    /// Maximum nesting of aggregates (attributes count as a level).
    public var maxDepth: Int
    /// Longest line (simple string, simple error, number) waited for before giving up.
    public var maxLineLength: Int

    public init(maxBulkLength: Int = 512 << 20, maxElementCount: Int = Int(UInt32.max),
                maxDepth: Int = 128, maxLineLength: Int = 1 << 20) {
        self.maxBulkLength = maxBulkLength
        self.maxElementCount = maxElementCount
        self.maxDepth = maxDepth
        self.maxLineLength = maxLineLength
    }

    public static let `default` = RESPDecoderLimits()
}
