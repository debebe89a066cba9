/// A value as it arrives in a DataRow: its bytes (nil for NULL), type and format.
public struct PGValue {
    public let bytes: UnsafeRawBufferPointer?
    public let type: PGOID
    public let format: PGFormat

    public init(bytes: UnsafeRawBufferPointer?, type: PGOID, format: PGFormat) {
        self.bytes = bytes; self.type = type; self.format = format
    }

    /// The bytes, or a decoding error for NULL.
    @inlinable
    public func nonNull() throws(PGError) -> UnsafeRawBufferPointer {
        guard let bytes else { throw PGError.decoding(column: "", type: type, reason: "unexpected NULL") }
        return bytes
    }

    /// The value as text (text format, or binary of a text-like type).
    public func text() throws(PGError) -> String {
        String(decoding: try nonNull(), as: UTF8.self)
    }

    public func failure(_ reason: String) -> PGError { .decoding(column: "", type: type, reason: reason) }

    @inlinable
    func bigEndian<I: FixedWidthInteger>(_: I.Type, _ b: UnsafeRawBufferPointer, at offset: Int = 0) -> I {
        var v: I = 0
        for i in 0..<MemoryLayout<I>.size { v = v << 8 | I(truncatingIfNeeded: b[offset + i]) }
        return v
    }
}

/// A Swift type that can be sent as a parameter.
public protocol PGEncodable: Sendable {
    /// The type OID sent in Parse (`.unspecified` lets the server infer it).
    static var pgType: PGOID { get }
    /// The parameter format used by `encode`.
    static var pgFormat: PGFormat { get }
    /// Appends the value's bytes (without length prefix) in `pgFormat`.
    func encode(into bytes: inout [UInt8]) throws(PGError)
    /// False for NULL (Optional.none).
    var isNotNull: Bool { get }
}

extension PGEncodable {
    public static var pgFormat: PGFormat { .binary }
    public var isNotNull: Bool { true }
}

/// A Swift type a column value can be decoded into.
public protocol PGDecodable {
    static func decode(from value: PGValue) throws(PGError) -> Self
}

public typealias PGCodable = PGEncodable & PGDecodable

/// A type that can be an element of a one-dimensional array parameter.
public protocol PGArrayElement: PGEncodable {
    /// Element type OID in the array header (a concrete type, never `.unspecified`).
    static var pgElementType: PGOID { get }
    static var pgArrayType: PGOID { get }
}

extension Optional: PGEncodable where Wrapped: PGEncodable {
    public static var pgType: PGOID { Wrapped.pgType }
    public static var pgFormat: PGFormat { Wrapped.pgFormat }
    public func encode(into bytes: inout [UInt8]) throws(PGError) {
        if let v = self { try v.encode(into: &bytes) }
    }
    public var isNotNull: Bool { self != nil }
}

extension Optional: PGArrayElement where Wrapped: PGArrayElement {
    public static var pgElementType: PGOID { Wrapped.pgElementType }
    public static var pgArrayType: PGOID { Wrapped.pgArrayType }
}

extension Optional: PGDecodable where Wrapped: PGDecodable {
    public static func decode(from value: PGValue) throws(PGError) -> Self {
        guard value.bytes != nil else { return nil }
        return try Wrapped.decode(from: value)
    }
}

/// Parameters encoded for a Bind: per parameter its type, format and length-prefixed bytes.
public struct PGBindings: Sendable {
    public private(set) var types: [PGOID] = []
    public private(set) var formats: [PGFormat] = []
    /// (Int32 length, bytes) per value; length -1 for NULL.
    public private(set) var values: [UInt8] = []
    public var count: Int { types.count }

    public init() {}

    public init(_ parameters: [any PGEncodable]) throws(PGError) {
        if parameters.isEmpty { return }
        types.reserveCapacity(parameters.count)
        formats.reserveCapacity(parameters.count)
        values.reserveCapacity(parameters.count * 16)  // length prefix + a typical scalar
        for p in parameters { try append(p) }
    }

    public mutating func append(_ value: some PGEncodable) throws(PGError) {
        let type = Swift.type(of: value)
        types.append(type.pgType)
        formats.append(type.pgFormat)
        guard value.isNotNull else {
            values.appendBigEndian(Int32(-1))
            return
        }
        let lengthAt = values.count
        values.appendBigEndian(Int32(0))  // patched below
        try value.encode(into: &values)
        let n = values.count - lengthAt - 4
        guard n <= Int(Int32.max) else { throw PGError.encoding("parameter of \(n) bytes is too large") }
        values[lengthAt] = UInt8(truncatingIfNeeded: n >> 24)
        values[lengthAt + 1] = UInt8(truncatingIfNeeded: n >> 16)
        values[lengthAt + 2] = UInt8(truncatingIfNeeded: n >> 8)
        values[lengthAt + 3] = UInt8(truncatingIfNeeded: n)
    }
}

extension Array where Element == UInt8 {
    @inlinable
    mutating func appendBigEndian<I: FixedWidthInteger>(_ v: I) {
        let be = v.bigEndian
        Swift.withUnsafeBytes(of: be) { append(contentsOf: $0) }
    }
}
