/// One row of a result: the server's bytes plus the shared column description. Values are
/// decoded only when asked for, straight from the row's bytes.
public struct PGRow: Sendable {
    public let columns: RowDescription
    public let data: DataRow

    public init(columns: RowDescription, data: DataRow) {
        self.columns = columns
        self.data = data
    }

    public var count: Int { data.columnCount }

    /// Decodes column `index`.
    @inlinable
    public func decode<T: PGDecodable>(_: T.Type = T.self, at index: Int) throws(PGError) -> T {
        guard index >= 0 && index < data.columnCount else {
            throw PGError.misuse("column index \(index) out of range (row has \(data.columnCount) columns)")
        }
        let col = columns.columns[index]
        let range = data.range(at: index)
        let r: Result<T, PGError> = data.storage.withUnsafeBytes { raw in
            let value = PGValue(bytes: range.map { UnsafeRawBufferPointer(rebasing: raw[$0]) }, type: col.dataType, format: col.format)
            do throws(PGError) { return .success(try T.decode(from: value)) } catch {
                return .failure(Self.named(error, col.name))
            }
        }
        return try r.get()
    }

    /// Decodes the column called `name` (first match).
    @inlinable
    public func decode<T: PGDecodable>(_: T.Type = T.self, column name: String) throws(PGError) -> T {
        guard let i = columns.index(of: name) else { throw PGError.misuse("no column named \(name)") }
        return try decode(T.self, at: i)
    }

    /// Decodes every column as `T`, in one pass over the row (`decode(_:at:)` for each column in
    /// turn would walk the row from its start every time: quadratic in the column count).
    @inlinable
    public func decodeAll<T: PGDecodable>(_: T.Type = T.self) throws(PGError) -> [T] {
        var cursor = Cursor(row: self)
        var values: [T] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try cursor.next(T.self)) }
        return values
    }

    /// Decodes the leading columns into a tuple in one pass over the row:
    /// `let (id, name) = try row.decode(Int.self, String?.self)`.
    // Inlinable so the caller's module specializes it: unspecialized, each value costs a
    // generic-metadata lookup (measured: the top cost of a 100k-row fetch).
    @inlinable
    public func decode<each T: PGDecodable>(_ types: repeat (each T).Type) throws(PGError) -> (repeat each T) {
        var cursor = Cursor(row: self)
        return (repeat try cursor.next((each T).self))
    }

    // Fixed-arity forms: the compiler specializes these fully (parameter packs still build
    // tuple metadata at run time), which matters when decoding millions of rows.
    @inlinable
    public func decode<A: PGDecodable, B: PGDecodable>(_: A.Type, _: B.Type) throws(PGError) -> (A, B) {
        var c = Cursor(row: self)
        let a = try c.next(A.self)
        return (a, try c.next(B.self))
    }

    @inlinable
    public func decode<A: PGDecodable, B: PGDecodable, C: PGDecodable>(_: A.Type, _: B.Type, _: C.Type) throws(PGError) -> (A, B, C) {
        var c = Cursor(row: self)
        let a = try c.next(A.self)
        let b = try c.next(B.self)
        return (a, b, try c.next(C.self))
    }

    @inlinable
    public func decode<A: PGDecodable, B: PGDecodable, C: PGDecodable, D: PGDecodable>(
        _: A.Type, _: B.Type, _: C.Type, _: D.Type
    ) throws(PGError) -> (A, B, C, D) {
        var c = Cursor(row: self)
        let a = try c.next(A.self)
        let b = try c.next(B.self)
        let cc = try c.next(C.self)
        return (a, b, cc, try c.next(D.self))
    }

    @usableFromInline
    struct Cursor {
        @usableFromInline let row: PGRow
        @usableFromInline var index = 0
        @usableFromInline var offset = 0

        @inlinable
        init(row: PGRow) { self.row = row }

        @inlinable
        mutating func next<T: PGDecodable>(_: T.Type) throws(PGError) -> T {
            guard index < row.data.columnCount else { throw PGError.misuse("row has only \(row.data.columnCount) columns") }
            let col = row.columns.columns[index]
            let storage = row.data.storage
            let at = offset
            let len = Int(Int32(bitPattern: UInt32(storage[at]) << 24 | UInt32(storage[at + 1]) << 16 | UInt32(storage[at + 2]) << 8 | UInt32(storage[at + 3])))
            offset = at + 4 + max(len, 0)
            index += 1
            let r: Result<T, PGError> = storage.withUnsafeBytes { raw in
                let bytes = len < 0 ? nil : UnsafeRawBufferPointer(rebasing: raw[(at + 4)..<(at + 4 + len)])
                do throws(PGError) { return .success(try T.decode(from: PGValue(bytes: bytes, type: col.dataType, format: col.format))) } catch {
                    return .failure(PGRow.named(error, col.name))
                }
            }
            return try r.get()
        }
    }

    @usableFromInline
    static func named(_ error: PGError, _ column: String) -> PGError {
        if case .decoding(_, let type, let reason) = error { return .decoding(column: column, type: type, reason: reason) }
        return error
    }
}

/// What a statement reported when it finished.
public struct PGCommandResult: Sendable, Equatable {
    /// The command tag, e.g. "INSERT 0 3", "SELECT 10", "COPY 100000".
    public var tag: String
    /// Rows affected/returned according to the tag (nil for commands without a count).
    public var rowCount: Int? {
        guard let last = tag.split(separator: " ").last, let n = Int(last) else { return nil }
        return n
    }
}

/// One statement's result of a simple query (text format): its rows and tag.
public struct PGSimpleResult: Sendable {
    public var columns: RowDescription?
    public var rows: [PGRow]
    public var command: PGCommandResult
}
