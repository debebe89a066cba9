/// The columns of a result set, as described by the server.
///
/// A final class so that every row of a result shares one description instead of copying it.
public final class RowDescription: Sendable, Equatable {
    public struct Column: Sendable, Equatable {
        public var name: String
        public var tableOID: UInt32
        public var columnAttributeNumber: Int16
        public var dataType: PGOID
        public var dataTypeSize: Int16
        public var typeModifier: Int32
        /// The format the values of this column arrive in. In a statement description (Describe of
        /// a statement) the server always says text; the client fills in what it will ask for.
        public var format: PGFormat
    }

    public let columns: [Column]
    /// Column index by name (first occurrence wins, as in libpq's PQfnumber for unquoted names).
    let indexByName: [String: Int]

    public init(columns: [Column]) {
        self.columns = columns
        var map = [String: Int]()
        for (i, c) in columns.enumerated() where map[c.name] == nil { map[c.name] = i }
        indexByName = map
    }

    public func index(of name: String) -> Int? { indexByName[name] }

    /// The same columns with the formats a Bind asked for.
    func with(formats: [PGFormat]) -> RowDescription {
        var cols = columns
        for i in cols.indices { cols[i].format = formats.count == 1 ? formats[0] : formats[i] }
        return RowDescription(columns: cols)
    }

    public static func == (a: RowDescription, b: RowDescription) -> Bool { a === b || a.columns == b.columns }
}

/// A row's raw values ('D'): the payload after the column count, read lazily.
///
/// Values are located only when asked for, so streaming a million rows that are decoded into
/// application types never builds an intermediate per-cell array.
public struct DataRow: Sendable, Equatable {
    public let columnCount: Int
    /// Concatenated (Int32 length, bytes) pairs; length -1 means NULL.
    public let storage: [UInt8]

    public init(columnCount: Int, storage: [UInt8]) {
        self.columnCount = columnCount
        self.storage = storage
    }

    /// Builds a row from values (for tests).
    public init(values: [[UInt8]?]) {
        var s = [UInt8]()
        for v in values {
            if let v {
                let n = UInt32(v.count)
                s += [UInt8(n >> 24 & 0xff), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)]
                s += v
            } else {
                s += [0xff, 0xff, 0xff, 0xff]
            }
        }
        self.init(columnCount: values.count, storage: s)
    }

    /// The byte range of each value in `storage` (nil for NULL), in column order.
    /// The decoder already checked that the lengths fit, so this cannot read out of bounds.
    @inlinable
    public func forEachValue(_ body: (Int, Range<Int>?) throws -> Void) rethrows {
        var at = 0
        for i in 0..<columnCount {
            let len = Int(Int32(bitPattern: UInt32(storage[at]) << 24 | UInt32(storage[at + 1]) << 16
                | UInt32(storage[at + 2]) << 8 | UInt32(storage[at + 3])))
            at += 4
            if len < 0 {
                try body(i, nil)
            } else {
                try body(i, at..<(at + len))
                at += len
            }
        }
    }

    /// The byte range of column `index`'s value, nil for NULL.
    public func range(at index: Int) -> Range<Int>? {
        precondition(index >= 0 && index < columnCount, "column index \(index) out of range 0..<\(columnCount)")
        var at = 0
        var i = 0
        while true {
            let len = Int(Int32(bitPattern: UInt32(storage[at]) << 24 | UInt32(storage[at + 1]) << 16
                | UInt32(storage[at + 2]) << 8 | UInt32(storage[at + 3])))
            at += 4
            if i == index { return len < 0 ? nil : at..<(at + len) }
            if len > 0 { at += len }
            i += 1
        }
    }

    public func value(at index: Int) -> ArraySlice<UInt8>? {
        range(at: index).map { storage[$0] }
    }
}
