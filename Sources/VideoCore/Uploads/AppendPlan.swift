/// The bytes of one append (a tus PATCH body) on their way to storage, as a value: which part or
/// write each received byte goes into, and what remains when the body ends. No I/O: the executor
/// (`ResumableUploads`) carries out the steps; the tests feed chunk sizes and check the steps.
///
/// At most one part is held: `pending` never exceeds the part (or flush) size, so an upload of any
/// size costs one part of memory, and chunks of any size (a client's 64 KiB PATCHes or one 4 GB
/// PATCH) make the same parts.
public struct AppendPlan: Sendable {
    public enum Layout: Sendable, Equatable {
        /// S3 multipart: parts of exactly `size` bytes except the last. Bytes short of a part are
        /// kept in PostgreSQL (the tail) until later bytes complete the part.
        case parts(size: Int)
        /// A file written in place: bytes are written at their offset once `flushSize` have
        /// gathered, and whatever is left when the body ends.
        case inPlace(flushSize: Int)
    }

    public enum Step: Sendable, Equatable {
        /// Store a part starting at upload offset `offset`: the tail's `tailBytes` (already in
        /// PostgreSQL, read now) followed by `bytes`. `last`: it ends the upload.
        case part(offset: Int64, tailBytes: Int64, bytes: [UInt8], last: Bool)
        /// Write `bytes` at `offset` of the partial file.
        case write(offset: Int64, bytes: [UInt8])
        /// Keep `bytes` (fewer than a part, with the tail) in PostgreSQL as the tail's next segment.
        case keepTail(offset: Int64, bytes: [UInt8])
    }

    /// More bytes than `Upload-Length` (or, while the length is deferred, the largest upload) allows.
    public struct Overflow: Error, Sendable, Equatable, CustomStringConvertible {
        public var length: Int64
        public var description: String { "the body goes past \(length) bytes" }
    }

    public let layout: Layout
    /// The upload's length, when known.
    public let length: Int64?
    /// No byte may go past this: the length, or while it is deferred the largest upload allowed.
    public let limit: Int64
    /// The upload's offset when this append began.
    public let startOffset: Int64
    /// Body bytes received so far.
    public private(set) var received: Int64 = 0
    /// Tail bytes (stored before this append) not yet in a part; 0 once a part took them.
    public private(set) var tailBytes: Int64
    private var pending: [UInt8] = []

    /// `tailBytes`: bytes at the end of the upload held in PostgreSQL (S3; always 0 in place).
    /// `maximum`: the bound while the length is deferred.
    public init(layout: Layout, offset: Int64, tailBytes: Int64, length: Int64?, maximum: Int64 = .max) {
        self.layout = layout
        self.startOffset = offset
        self.tailBytes = tailBytes
        self.length = length
        self.limit = length ?? maximum
        if case .inPlace = layout { precondition(tailBytes == 0, "a file upload has no tail") }
    }

    /// Upload offset of the next byte to arrive.
    public var nextOffset: Int64 { startOffset + received }
    /// Received bytes not yet handed out in a step.
    public var pendingCount: Int { pending.count }

    /// Takes a chunk of the body; returns the steps it completes (parts that filled up, flushes).
    public mutating func receive(_ chunk: some Collection<UInt8>) throws(Overflow) -> [Step] {
        if nextOffset + Int64(chunk.count) > limit { throw Overflow(length: limit) }
        var steps: [Step] = []
        switch layout {
        case .parts(let size):
            var rest = chunk[...]
            while !rest.isEmpty {
                let room = size - Int(tailBytes) - pending.count
                let take = min(room, rest.count)
                if pending.isEmpty { pending.reserveCapacity(size - Int(tailBytes)) }
                pending.append(contentsOf: rest.prefix(take))
                rest = rest.dropFirst(take)
                received += Int64(take)
                if Int(tailBytes) + pending.count == size { steps.append(takePart()) }
            }
        case .inPlace(let flushSize):
            pending.append(contentsOf: chunk)
            received += Int64(chunk.count)
            if pending.count >= flushSize { steps.append(takeWrite()) }
        }
        return steps
    }

    /// The body ended (or was cut off: what arrived is kept the same way). Returns the last steps:
    /// the final part when the upload is now complete, else the rest as the tail (S3) or a write.
    public mutating func finish() -> [Step] {
        switch layout {
        case .parts:
            if let length, nextOffset == length, tailBytes > 0 || !pending.isEmpty {
                return [takePart()]
            }
            guard !pending.isEmpty else { return [] }
            let bytes = pending
            pending = []
            return [.keepTail(offset: nextOffset - Int64(bytes.count), bytes: bytes)]
        case .inPlace:
            return pending.isEmpty ? [] : [takeWrite()]
        }
    }

    /// Gives a sent part's buffer back for the next part, so a long append reuses one allocation
    /// (fresh multi-MiB arrays per part let the allocator keep several resident).
    public mutating func recycle(_ buffer: consuming [UInt8]) {
        guard pending.isEmpty, buffer.capacity > pending.capacity else { return }
        buffer.removeAll(keepingCapacity: true)
        pending = buffer
    }

    private mutating func takePart() -> Step {
        let bytes = pending
        pending = []
        let end = nextOffset
        let partStart = end - Int64(bytes.count) - tailBytes
        let step = Step.part(offset: partStart, tailBytes: tailBytes, bytes: bytes, last: length == end)
        tailBytes = 0
        return step
    }

    private mutating func takeWrite() -> Step {
        let bytes = pending
        pending = []
        return .write(offset: nextOffset - Int64(bytes.count), bytes: bytes)
    }
}
