/// A `bytea` value. A wrapper rather than `[UInt8]`, which is an array of integers to this module.
public struct PGBytea: PGCodable, PGArrayElement, Hashable {
    public static var pgType: PGOID { .bytea }
    public static var pgElementType: PGOID { .bytea }
    public static var pgArrayType: PGOID { .byteaArray }
    public var bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public func encode(into out: inout [UInt8]) throws(PGError) { out.append(contentsOf: bytes) }

    public static func decode(from value: PGValue) throws(PGError) -> PGBytea {
        let b = try value.nonNull()
        if value.format == .binary { return PGBytea(Array(b)) }
        // Text: hex ("\x0a0b", the default bytea_output) or the older escape format.
        if b.count >= 2, b[0] == UInt8(ascii: "\\"), b[1] == UInt8(ascii: "x") {
            guard b.count % 2 == 0 else { throw value.failure("odd bytea hex length") }
            var out = [UInt8]()
            out.reserveCapacity((b.count - 2) / 2)
            var i = 2
            while i < b.count {
                guard let hi = hexNibble(b[i]), let lo = hexNibble(b[i + 1]) else { throw value.failure("invalid bytea hex") }
                out.append(hi << 4 | lo)
                i += 2
            }
            return PGBytea(out)
        }
        var out = [UInt8]()
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "\\") {
                if i + 1 < b.count, b[i + 1] == UInt8(ascii: "\\") { out.append(0x5c); i += 2; continue }
                guard i + 3 < b.count else { throw value.failure("invalid bytea escape") }
                var v = 0
                for k in 1...3 {
                    let d = Int(b[i + k]) - 48
                    guard d >= 0 && d < 8 else { throw value.failure("invalid bytea escape") }
                    v = v * 8 + d
                }
                guard v < 256 else { throw value.failure("invalid bytea escape") }
                out.append(UInt8(v))
                i += 4
            } else {
                out.append(b[i]); i += 1
            }
        }
        return PGBytea(out)
    }
}

func hexNibble(_ c: UInt8) -> UInt8? {
    switch c {
    case 48...57: return c - 48
    case 97...102: return c - 87
    case 65...70: return c - 55
    default: return nil
    }
}

/// A `uuid` value (16 bytes), printed in the canonical 8-4-4-4-12 lower-case form.
public struct PGUUID: PGCodable, PGArrayElement, Hashable, CustomStringConvertible {
    public static var pgType: PGOID { .uuid }
    public static var pgElementType: PGOID { .uuid }
    public static var pgArrayType: PGOID { .uuidArray }
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Parses hex with optional hyphens (and braces), like PostgreSQL's uuid input.
    public init?(_ text: String) {
        var out = [UInt8]()
        var hi: UInt8?
        var s = Substring(text)
        if s.hasPrefix("{") && s.hasSuffix("}") { s = s.dropFirst().dropLast() }
        for c in s.utf8 {
            if c == UInt8(ascii: "-") { continue }
            guard let n = hexNibble(c) else { return nil }
            if let h = hi { out.append(h << 4 | n); hi = nil } else { hi = n }
        }
        guard hi == nil, out.count == 16 else { return nil }
        bytes = out
    }

    /// A random (version 4) UUID.
    public static func random() -> PGUUID {
        var b = (0..<16).map { _ in UInt8.random(in: 0...255) }
        b[6] = b[6] & 0x0f | 0x40
        b[8] = b[8] & 0x3f | 0x80
        return PGUUID(bytes: b)!
    }

    public var description: String {
        let h = bytes.withUnsafeBytes { hexString($0) }
        let u = Array(h.utf8)
        return String(decoding: u[0..<8], as: UTF8.self) + "-" + String(decoding: u[8..<12], as: UTF8.self) + "-"
            + String(decoding: u[12..<16], as: UTF8.self) + "-" + String(decoding: u[16..<20], as: UTF8.self) + "-"
            + String(decoding: u[20..<32], as: UTF8.self)
    }

    public func encode(into out: inout [UInt8]) throws(PGError) { out.append(contentsOf: bytes) }

    public static func decode(from value: PGValue) throws(PGError) -> PGUUID {
        let b = try value.nonNull()
        if value.format == .binary {
            guard let u = PGUUID(bytes: Array(b)) else { throw value.failure("uuid of \(b.count) bytes") }
            return u
        }
        let s = try value.text()
        guard let u = PGUUID(s) else { throw value.failure("invalid uuid \(s)") }
        return u
    }
}

/// A `json` value as its text.
public struct PGJSON: PGCodable, PGArrayElement, Hashable {
    public static var pgType: PGOID { .json }
    public static var pgElementType: PGOID { .json }
    public static var pgArrayType: PGOID { .jsonArray }
    public var text: String
    public init(_ text: String) { self.text = text }
    public func encode(into out: inout [UInt8]) throws(PGError) { out.append(contentsOf: text.utf8) }
    public static func decode(from value: PGValue) throws(PGError) -> PGJSON {
        PGJSON(try PGJSONB.decode(from: value).text)
    }
}

/// A `jsonb` value as its text (binary form: version byte 1, then the text).
public struct PGJSONB: PGCodable, PGArrayElement, Hashable {
    public static var pgType: PGOID { .jsonb }
    public static var pgElementType: PGOID { .jsonb }
    public static var pgArrayType: PGOID { .jsonbArray }
    public var text: String
    public init(_ text: String) { self.text = text }
    public func encode(into out: inout [UInt8]) throws(PGError) { out.append(1); out.append(contentsOf: text.utf8) }
    public static func decode(from value: PGValue) throws(PGError) -> PGJSONB {
        let b = try value.nonNull()
        if value.format == .binary && value.type == .jsonb {
            guard b.count >= 1, b[0] == 1 else { throw value.failure("unknown jsonb version") }
            return PGJSONB(String(decoding: UnsafeRawBufferPointer(rebasing: b[1...]), as: UTF8.self))
        }
        return PGJSONB(String(decoding: b, as: UTF8.self))
    }
}
