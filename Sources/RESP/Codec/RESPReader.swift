/// A decoder bundled with its own receive buffer, for callers without a `ByteBuffer` (tests, the
/// fuzzer, programs feeding bytes from their own I/O): `feed` bytes, then pull replies with `next`.
public struct RESPReader: Sendable {
    public private(set) var decoder: RESPDecoder
    private var buffer: [UInt8] = []
    private var readIndex = 0

    public init(limits: RESPDecoderLimits = .default) {
        decoder = RESPDecoder(limits: limits)
    }

    /// Unconsumed bytes held.
    public var bufferedBytes: Int { buffer.count - readIndex }

    public mutating func feed<C: Collection<UInt8>>(_ bytes: C) {
        // Compact before growing so the buffer holds at most one partial element plus new input.
        if readIndex > 0, readIndex >= buffer.count / 2 {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete reply, or nil when more bytes are needed.
    public mutating func next() throws(RESPDecodingError) -> RESPValue? {
        guard readIndex < buffer.count else { return nil }
        let start = readIndex
        // withUnsafeBytes only rethrows untyped errors: carry the typed one out in a Result.
        let outcome = buffer.withUnsafeBytes { raw in
            Result { () throws(RESPDecodingError) in try decoder.decode(UnsafeRawBufferPointer(rebasing: raw[start...])) }
        }
        let result = try outcome.get()
        readIndex += result.consumed
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
        }
        return result.value
    }
}
