/// An exact `numeric` value, kept as its decimal text ("-123.4500", "NaN", "Infinity").
///
/// Converting through Double would lose digits (a 40-digit numeric has ~17 significant in a
/// Double), so the value is carried as the canonical decimal string both ways.
public struct PGNumeric: PGCodable, PGArrayElement, Hashable, CustomStringConvertible {
    public static var pgType: PGOID { .numeric }
    public static var pgElementType: PGOID { .numeric }
    public static var pgArrayType: PGOID { .numericArray }

    public let description: String

    /// Accepts a plain decimal ("-12.50", "+3", ".5"), "NaN", "Infinity" or "-Infinity".
    public init?(_ text: String) {
        switch text {
        case "NaN", "Infinity", "-Infinity": description = text; return
        default: break
        }
        guard Self.split(text) != nil else { return nil }
        description = text
    }

    public init(_ value: Int) { description = String(value) }

    /// (negative, integer digits, fraction digits) of a plain decimal, nil if not one.
    static func split(_ text: String) -> (Bool, [UInt8], [UInt8])? {
        var u = Array(text.utf8)
        var negative = false
        if let f = u.first, f == UInt8(ascii: "-") || f == UInt8(ascii: "+") { negative = f == UInt8(ascii: "-"); u.removeFirst() }
        let parts = u.split(separator: UInt8(ascii: "."), maxSplits: 1, omittingEmptySubsequences: false)
        let intPart = Array(parts[0])
        let fracPart = parts.count > 1 ? Array(parts[1]) : []
        guard !(intPart.isEmpty && fracPart.isEmpty) else { return nil }
        guard (intPart + fracPart).allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return (negative, intPart, fracPart)
    }

    public func encode(into bytes: inout [UInt8]) throws(PGError) {
        switch description {
        case "NaN": bytes += [0, 0, 0, 0, 0xC0, 0, 0, 0]; return
        case "Infinity": bytes += [0, 0, 0, 0, 0xD0, 0, 0, 0]; return
        case "-Infinity": bytes += [0, 0, 0, 0, 0xF0, 0, 0, 0]; return
        default: break
        }
        guard let (negative, intDigits, fracDigits) = Self.split(description) else {
            throw PGError.encoding("invalid numeric \(description)")
        }
        let dscale = fracDigits.count
        guard dscale <= 0x3FFF else { throw PGError.encoding("numeric scale \(dscale) too large") }
        // Base-10000 groups aligned on the decimal point.
        var ints = intDigits.map { Int16($0 - 48) }
        while ints.count % 4 != 0 { ints.insert(0, at: 0) }
        var fracs = fracDigits.map { Int16($0 - 48) }
        while fracs.count % 4 != 0 { fracs.append(0) }
        var groups = [Int16]()
        for i in stride(from: 0, to: ints.count, by: 4) { groups.append(ints[i] * 1000 + ints[i + 1] * 100 + ints[i + 2] * 10 + ints[i + 3]) }
        let intGroups = groups.count
        for i in stride(from: 0, to: fracs.count, by: 4) { groups.append(fracs[i] * 1000 + fracs[i + 1] * 100 + fracs[i + 2] * 10 + fracs[i + 3]) }
        var weight = intGroups - 1
        while let f = groups.first, f == 0 { groups.removeFirst(); weight -= 1 }
        while let l = groups.last, l == 0 { groups.removeLast() }
        if groups.isEmpty { weight = 0 }
        guard groups.count <= Int(Int16.max), weight >= Int(Int16.min), weight <= Int(Int16.max) else {
            throw PGError.encoding("numeric \(description) out of range")
        }
        bytes.appendBigEndian(Int16(groups.count))
        bytes.appendBigEndian(Int16(weight))
        bytes.appendBigEndian(UInt16(negative && !groups.isEmpty ? 0x4000 : 0))
        bytes.appendBigEndian(Int16(dscale))
        for g in groups { bytes.appendBigEndian(g) }
    }

    public static func decode(from value: PGValue) throws(PGError) -> PGNumeric {
        let b = try value.nonNull()
        if value.format == .text {
            let s = try value.text()
            guard let n = PGNumeric(s) else { throw value.failure("invalid numeric text \(s)") }
            return n
        }
        switch value.type {
        case .numeric: break
        case .int2, .int4, .int8: return PGNumeric(try decodeInteger(value, as: Int.self))
        default: throw value.failure("cannot decode \(value.type) as numeric")
        }
        guard b.count >= 8 else { throw value.failure("numeric of \(b.count) bytes") }
        let ndigits = Int(value.bigEndian(Int16.self, b, at: 0))
        let weight = Int(value.bigEndian(Int16.self, b, at: 2))
        let sign = value.bigEndian(UInt16.self, b, at: 4)
        let dscale = Int(value.bigEndian(Int16.self, b, at: 6))
        switch sign {
        case 0xC000: return PGNumeric(unchecked: "NaN")
        case 0xD000: return PGNumeric(unchecked: "Infinity")
        case 0xF000: return PGNumeric(unchecked: "-Infinity")
        case 0x0000, 0x4000: break
        default: throw value.failure("numeric sign 0x\(String(sign, radix: 16))")
        }
        guard ndigits >= 0, dscale >= 0, b.count == 8 + 2 * ndigits else { throw value.failure("numeric header does not match its \(b.count) bytes") }
        var groups = [Int]()
        groups.reserveCapacity(ndigits)
        for i in 0..<ndigits {
            let g = Int(value.bigEndian(Int16.self, b, at: 8 + 2 * i))
            guard g >= 0 && g < 10000 else { throw value.failure("numeric digit \(g)") }
            groups.append(g)
        }
        // Integer part: groups with exponent weight…0.
        var out = sign == 0x4000 ? "-" : ""
        if weight < 0 {
            out += "0"
        } else {
            for e in stride(from: weight, through: 0, by: -1) {
                let i = weight - e
                let g = i < groups.count ? groups[i] : 0
                if e == weight { out += String(g) } else { out += pad4(g) }
            }
        }
        if dscale > 0 {
            var frac = ""
            var e = -1
            while frac.utf8.count < dscale {
                let i = weight - e
                let g = i >= 0 && i < groups.count ? groups[i] : 0
                frac += pad4(g)
                e -= 1
            }
            out += "." + frac.prefix(dscale)
        }
        return PGNumeric(unchecked: out)
    }

    private init(unchecked: String) { description = unchecked }
}

@inline(__always)
func pad4(_ g: Int) -> String {
    g >= 1000 ? String(g) : g >= 100 ? "0" + String(g) : g >= 10 ? "00" + String(g) : "000" + String(g)
}
