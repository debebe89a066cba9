/// A growable byte buffer with separate reader and writer indices.
///
/// Reads from a socket append at the writer index; a codec consumes from the reader index. The
/// storage is reused: `discardReadBytes()` slides the unread tail to the front instead of
/// reallocating, so a connection's receive buffer stops growing once it fits its largest message.
public struct ByteBuffer: Sendable {
    @usableFromInline var storage: [UInt8]
    public private(set) var readerIndex: Int = 0
    public private(set) var writerIndex: Int = 0

    public init(capacity: Int = 0) {
        storage = [UInt8](repeating: 0, count: capacity)
    }

    public init<C: Collection<UInt8>>(bytes: C) {
        storage = Array(bytes)
        writerIndex = storage.count
    }

    public var readableBytes: Int { writerIndex - readerIndex }
    public var isEmpty: Bool { writerIndex == readerIndex }
    public var capacity: Int { storage.count }

    /// The unread bytes, as a slice of the storage (indices are storage indices).
    public var readableBytesView: ArraySlice<UInt8> { storage[readerIndex..<writerIndex] }

    public func withUnsafeReadableBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes { raw in
            try body(UnsafeRawBufferPointer(rebasing: raw[readerIndex..<writerIndex]))
        }
    }

    public mutating func moveReaderIndex(forwardBy n: Int) {
        precondition(n >= 0 && n <= readableBytes, "moveReaderIndex past the readable bytes")
        readerIndex += n
        if readerIndex == writerIndex { readerIndex = 0; writerIndex = 0 }
    }

    /// Reads and consumes up to `count` bytes.
    public mutating func readBytes(_ count: Int) -> [UInt8] {
        let n = min(count, readableBytes)
        let out = Array(storage[readerIndex..<readerIndex + n])
        moveReaderIndex(forwardBy: n)
        return out
    }

    public mutating func append<C: Collection<UInt8>>(contentsOf bytes: C) {
        let n = bytes.count
        guard n > 0 else { return }
        reserveWritable(n)
        let start = writerIndex
        storage.withUnsafeMutableBufferPointer { dst in
            _ = UnsafeMutableBufferPointer(rebasing: dst[start..<start + n]).initialize(fromContentsOf: bytes)
        }
        writerIndex += n
    }

    public mutating func append(_ byte: UInt8) {
        reserveWritable(1)
        storage[writerIndex] = byte
        writerIndex += 1
    }

    /// Lets `body` write into at least `minimumWritableBytes` of free space; `body` returns how many
    /// bytes it wrote (a negative return, e.g. a failed `read(2)`, writes nothing and is returned as is).
    @discardableResult
    public mutating func writeWithUnsafeMutableBytes(
        minimumWritableBytes: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> Int
    ) rethrows -> Int {
        reserveWritable(minimumWritableBytes)
        let start = writerIndex
        let written = try storage.withUnsafeMutableBytes { raw in
            try body(UnsafeMutableRawBufferPointer(rebasing: raw[start...]))
        }
        if written > 0 {
            precondition(start + written <= storage.count, "wrote past the writable bytes")
            writerIndex += written
        }
        return written
    }

    /// Slides the unread bytes to the front so the space before them can be reused.
    public mutating func discardReadBytes() {
        guard readerIndex > 0 else { return }
        let n = readableBytes
        if n > 0 {
            let from = readerIndex
            storage.withUnsafeMutableBytes { raw in
                raw.baseAddress!.copyMemory(from: raw.baseAddress! + from, byteCount: n)
            }
        }
        readerIndex = 0
        writerIndex = n
    }

    public mutating func clear() {
        readerIndex = 0
        writerIndex = 0
    }

    /// Makes room for `n` more bytes after the writer index, compacting before growing.
    @usableFromInline mutating func reserveWritable(_ n: Int) {
        if storage.count - writerIndex >= n { return }
        if readerIndex > 0 && storage.count - readableBytes >= n {
            discardReadBytes()
            return
        }
        var newCount = Swift.max(storage.count * 2, 1024)
        while newCount - readableBytes < n { newCount *= 2 }
        if readerIndex > 0 { discardReadBytes() }
        storage.append(contentsOf: repeatElement(0, count: newCount - storage.count))
    }
}

extension ByteBuffer: Equatable {
    public static func == (a: ByteBuffer, b: ByteBuffer) -> Bool { a.readableBytesView.elementsEqual(b.readableBytesView) }
}
