// Codecs for Bool, integers, floating point and String, in binary and text.

extension Bool: PGCodable, PGArrayElement {
    public static var pgType: PGOID { .bool }
    public static var pgElementType: PGOID { .bool }
    public static var pgArrayType: PGOID { .boolArray }
    public func encode(into bytes: inout [UInt8]) throws(PGError) { bytes.append(self ? 1 : 0) }
    public static func decode(from value: PGValue) throws(PGError) -> Bool {
        let b = try value.nonNull()
        switch value.format {
        case .binary:
            guard b.count == 1 else { throw value.failure("bool of \(b.count) bytes") }
            return b[0] != 0
        case .text:
            guard b.count == 1 else { throw value.failure("bool text of \(b.count) bytes") }
            switch b[0] {
            case UInt8(ascii: "t"): return true
            case UInt8(ascii: "f"): return false
            default: throw value.failure("bool text \(b[0])")
            }
        }
    }
}

/// Shared decoding of int2/int4/int8 (and oid) into any integer type, checking range.
@inlinable
func decodeInteger<I: FixedWidthInteger>(_ value: PGValue, as: I.Type) throws(PGError) -> I {
    let b = try value.nonNull()
    let wide: Int64
    switch value.format {
    case .binary:
        switch (value.type, b.count) {
        case (.int2, 2): wide = Int64(value.bigEndian(Int16.self, b))
        case (.int4, 4): wide = Int64(value.bigEndian(Int32.self, b))
        case (.oid, 4): wide = Int64(value.bigEndian(UInt32.self, b))
        case (.int8, 8): wide = value.bigEndian(Int64.self, b)
        case (.numeric, _):
            let text = try PGNumeric.decode(from: value).description
            guard let v = Int64(text) else { throw value.failure("numeric \(text) is not an integer") }
            wide = v
        default: throw value.failure("cannot decode \(b.count) bytes of \(value.type) as \(I.self)")
        }
    case .text:
        guard let v = parseInt64(b) else { throw value.failure("invalid integer text \"\(String(decoding: b, as: UTF8.self))\"") }
        wide = v
    }
    guard let v = I(exactly: wide) else { throw value.failure("\(wide) does not fit in \(I.self)") }
    return v
}

/// Parses an optionally signed decimal integer without allocating a String.
@inlinable
func parseInt64(_ b: UnsafeRawBufferPointer) -> Int64? {
    guard !b.isEmpty else { return nil }
    var i = 0
    var negative = false
    if b[0] == UInt8(ascii: "-") { negative = true; i = 1 } else if b[0] == UInt8(ascii: "+") { i = 1 }
    guard i < b.count else { return nil }
    var v: Int64 = 0
    while i < b.count {
        let d = b[i] &- UInt8(ascii: "0")
        guard d < 10 else { return nil }
        let (m, o1) = v.multipliedReportingOverflow(by: 10)
        let (s, o2) = negative ? m.subtractingReportingOverflow(Int64(d)) : m.addingReportingOverflow(Int64(d))
        guard !o1 && !o2 else { return nil }
        v = s
        i += 1
    }
    return v
}

extension Int16: PGCodable, PGArrayElement {
    public static var pgType: PGOID { .int2 }
    public static var pgElementType: PGOID { .int2 }
    public static var pgArrayType: PGOID { .int2Array }
    public func encode(into bytes: inout [UInt8]) throws(PGError) { bytes.appendBigEndian(self) }
    public static func decode(from value: PGValue) throws(PGError) -> Int16 { try decodeInteger(value, as: Int16.self) }
}

extension Int32: PGCodable, PGArrayElement {
    public static var pgType: PGOID { .int4 }
    public static var pgElementType: PGOID { .int4 }
    public static var pgArrayType: PGOID { .int4Array }
    public func encode(into bytes: inout [UInt8]) throws(PGError) { bytes.appendBigEndian(self) }
    public static func decode(from value: PGValue) throws(PGError) -> Int32 { try decodeInteger(value, as: Int32.self) }
}

extension Int64: PGCodable, PGArrayElement {
    public static var pgType: PGOID { .int8 }
    public static var pgElementType: PGOID { .int8 }
    public static var pgArrayType: PGOID { .int8Array }
    public func encode(into bytes: inout [UInt8]) throws(PGError) { bytes.appendBigEndian(self) }
    public static func decode(from value: PGValue) throws(PGError) -> Int64 { try decodeInteger(value, as: Int64.self) }
}

extension Int: PGCodable, PGArrayElement {
    public static var pgType: PGOID { .int8 }
    public static var pgElementType: PGOID { .int8 }
    public static var pgArrayType: PGOID { .int8Array }
    public func encode(into bytes: inout [UInt8]) throws(PGError) { bytes.appendBigEndian(Int64(self)) }
    public static func decode(from value: PGValue) throws(PGError) -> Int { try decodeInteger(value, as: Int.self) }
}

extension UInt32: PGCodable, PGArrayElement {
    /// oid
    public static var pgType: PGOID { .oid }
    public static var pgElementType: PGOID { .oid }
    public static var pgArrayType: PGOID { .oidArray }
    public func encode(into bytes: inout [UInt8]) throws(PGError) { bytes.appendBigEndian(self) }
    public static func decode(from value: PGValue) throws(PGError) -> UInt32 { try decodeInteger(value, as: UInt32.self) }
}

/// Text form of float4/float8: PostgreSQL spells the specials NaN, Infinity, -Infinity.
func parseFloatText(_ s: String) -> Double? {
    switch s {
    case "NaN": return .nan
    case "Infinity": return .infinity
    case "-Infinity": return -.infinity
    default: return Double(s)
    }
}

extension Double: PGCodable, PGArrayElement {
    public static var pgType: PGOID { .float8 }
    public static var pgElementType: PGOID { .float8 }
    public static var pgArrayType: PGOID { .float8Array }
    public func encode(into bytes: inout [UInt8]) throws(PGError) { bytes.appendBigEndian(bitPattern) }
    public static func decode(from value: PGValue) throws(PGError) -> Double {
        let b = try value.nonNull()
        switch value.format {
        case .binary:
            switch (value.type, b.count) {
            case (.float8, 8): return Double(bitPattern: value.bigEndian(UInt64.self, b))
            case (.float4, 4): return Double(Float(bitPattern: value.bigEndian(UInt32.self, b)))
            case (.int2, _), (.int4, _), (.int8, _): return Double(try decodeInteger(value, as: Int64.self))
            case (.numeric, _):
                let n = try PGNumeric.decode(from: value)
                guard let d = Double(n.description) ?? parseFloatText(n.description) else { throw value.failure("numeric \(n)") }
                return d
            default: throw value.failure("cannot decode \(b.count) bytes of \(value.type) as Double")
            }
        case .text:
            let s = String(decoding: b, as: UTF8.self)
            guard let d = parseFloatText(s) else { throw value.failure("invalid float text \"\(s)\"") }
            return d
        }
    }
}

extension Float: PGCodable, PGArrayElement {
    public static var pgType: PGOID { .float4 }
    public static var pgElementType: PGOID { .float4 }
    public static var pgArrayType: PGOID { .float4Array }
    public func encode(into bytes: inout [UInt8]) throws(PGError) { bytes.appendBigEndian(bitPattern) }
    public static func decode(from value: PGValue) throws(PGError) -> Float {
        if value.format == .binary, value.type == .float4 {
            let b = try value.nonNull()
            guard b.count == 4 else { throw value.failure("float4 of \(b.count) bytes") }
            return Float(bitPattern: value.bigEndian(UInt32.self, b))
        }
        if value.format == .text {
            let s = try value.text()
            switch s {
            case "NaN": return .nan
            case "Infinity": return .infinity
            case "-Infinity": return -.infinity
            default:
                guard let f = Float(s) else { throw value.failure("invalid float text \"\(s)\"") }
                return f
            }
        }
        return Float(try Double.decode(from: value))
    }
}

extension String: PGCodable, PGArrayElement {
    /// Sent untyped, as text, so the server infers the type from context exactly as for a
    /// literal: a String works for text, varchar, uuid, json, date, enums, … parameters alike.
    public static var pgType: PGOID { .unspecified }
    public static var pgFormat: PGFormat { .text }
    public static var pgElementType: PGOID { .text }
    public static var pgArrayType: PGOID { .textArray }
    public func encode(into bytes: inout [UInt8]) throws(PGError) {
        // A NUL cannot be stored in a PostgreSQL text value: refuse rather than truncate silently.
        if containsNUL { throw PGError.encoding("text contains a NUL byte") }
        bytes.append(contentsOf: utf8)
    }

    /// Decodes text-like values; any other type in text format gives its text; binary values of
    /// the known scalar types are converted to their PostgreSQL text spelling.
    public static func decode(from value: PGValue) throws(PGError) -> String {
        if value.format == .text { return try value.text() }
        switch value.type {
        case .text, .varchar, .name, .bpchar, .unknown, .json, .char: return try value.text()
        case .jsonb: return try PGJSONB.decode(from: value).text
        case .int2, .int4, .int8, .oid: return String(try decodeInteger(value, as: Int64.self))
        case .bool: return try Bool.decode(from: value) ? "t" : "f"
        case .float4: return postgresText(try Float.decode(from: value))
        case .float8: return postgresText(try Double.decode(from: value))
        case .numeric: return try PGNumeric.decode(from: value).description
        case .uuid: return try PGUUID.decode(from: value).description
        case .date: return try PGDate.decode(from: value).description
        case .timestamp: return try PGTimestamp.decode(from: value).description
        case .timestamptz: return try PGTimestampTZ.decode(from: value).description
        case .interval: return try PGInterval.decode(from: value).description
        case .bytea: return "\\x" + hexString(try value.nonNull())
        default:
            if value.type.arrayElementType != nil { return try binaryArrayText(value) }
            return try value.text()
        }
    }
}

func hexString(_ b: UnsafeRawBufferPointer) -> String {
    let digits: [UInt8] = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(b.count * 2)
    for x in b { out.append(digits[Int(x >> 4)]); out.append(digits[Int(x & 15)]) }
    return String(decoding: out, as: UTF8.self)
}

/// PostgreSQL's text spelling of a binary array (array_out in src/backend/utils/adt/arrayfuncs.c),
/// so a String can read arrays whatever their shape: "{{1,2},{3,NULL}}", with "[lo:hi]…=" in
/// front when a lower bound is not 1. An element is quoted when it is empty, "NULL" in any case,
/// or holds a quote, backslash, brace, the delimiter (',' for every type decoded here) or white
/// space (space, \t, \n, \r, \v, \f); inside quotes " and \ are escaped. The test is on
/// bytes, as PostgreSQL's: "\r\n" or a quote followed by a combining mark is one Character.
func binaryArrayText(_ value: PGValue) throws(PGError) -> String {
    let b = try value.nonNull()
    guard b.count >= 12 else { throw value.failure("array header of \(b.count) bytes") }
    let ndim = Int(value.bigEndian(Int32.self, b, at: 0))
    let elementType = PGOID(rawValue: value.bigEndian(UInt32.self, b, at: 8))
    if ndim == 0 { return "{}" }
    // 6 is PostgreSQL's MAXDIM.
    guard ndim > 0, ndim <= 6, b.count >= 12 + 8 * ndim else { throw value.failure("array of \(ndim) dimensions") }
    var dims = [Int]()
    var lowerBounds = [Int]()
    var total = 1
    for d in 0..<ndim {
        let n = Int(value.bigEndian(Int32.self, b, at: 12 + 8 * d))
        // Each element takes at least its 4-byte length: bound the counts by the bytes present.
        guard n >= 0, n <= b.count / 4 else { throw value.failure("array dimension \(n)") }
        dims.append(n)
        lowerBounds.append(Int(value.bigEndian(Int32.self, b, at: 16 + 8 * d)))
        total = total.multipliedReportingOverflow(by: n).partialValue
        guard total <= b.count / 4 else { throw value.failure("array of \(total) elements in \(b.count) bytes") }
    }
    if total == 0 { return "{}" }
    var out: [UInt8] = []
    if lowerBounds.contains(where: { $0 != 1 }) {
        for d in 0..<ndim { out += Array("[\(lowerBounds[d]):\(lowerBounds[d] + dims[d] - 1)]".utf8) }
        out.append(UInt8(ascii: "="))
    }
    var at = 12 + 8 * ndim
    func element() throws(PGError) {
        guard at + 4 <= b.count else { throw value.failure("truncated array") }
        let len = Int(value.bigEndian(Int32.self, b, at: at))
        at += 4
        if len < 0 { out += Array("NULL".utf8); return }
        guard len <= b.count - at else { throw value.failure("truncated array element") }
        let text = try String.decode(from: PGValue(bytes: UnsafeRawBufferPointer(rebasing: b[at..<(at + len)]), type: elementType, format: .binary))
        at += len
        appendArrayElement(text, to: &out)
    }
    func level(_ d: Int) throws(PGError) {
        out.append(UInt8(ascii: "{"))
        for i in 0..<dims[d] {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            if d + 1 == ndim { try element() } else { try level(d + 1) }
        }
        out.append(UInt8(ascii: "}"))
    }
    try level(0)
    guard at == b.count else { throw value.failure("trailing bytes after array") }
    return String(decoding: out, as: UTF8.self)
}

/// One element as array_out writes it (see `binaryArrayText`).
private func appendArrayElement(_ text: String, to out: inout [UInt8]) {
    let bytes = text.utf8
    var quote = bytes.isEmpty || (bytes.count == 4 && bytes.map { $0 & 0xDF } == Array("NULL".utf8))
    if !quote {
        for c in bytes {
            switch c {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: ","),
                 UInt8(ascii: " "), 0x09, 0x0A, 0x0B, 0x0C, 0x0D:
                quote = true
            default:
                continue
            }
            break
        }
    }
    guard quote else { out += bytes; return }
    out.append(UInt8(ascii: "\""))
    for c in bytes {
        if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
        out.append(c)
    }
    out.append(UInt8(ascii: "\""))
}
