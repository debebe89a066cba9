// PostgreSQL's text spelling of float4 and float8 (float4out/float8out with the default
// extra_float_digits = 1, PostgreSQL 12 and later): the shortest decimal that reads back as the
// same value without relying on round-half-even (see `shortestDigits`) — for float4 the shortest
// float4, not the widened double — laid out as
// src/common/d2s.c and f2s.c do: fixed point while the decimal exponent is in -4 ..< 15 (float8)
// or -4 ..< 6 (float4), else d.ddde±XX with at least two exponent digits; NaN, Infinity,
// -Infinity, and -0 for negative zero.

/// The shortest decimal strictly between the midpoints to the neighbouring values — the
/// interval bounds themselves excluded, as PostgreSQL's Ryu port does (it is built without
/// STRICTLY_SHORTEST, so it never relies on the reader rounding a tie to even; Swift's own
/// `description` does, and prints e.g. -4.221995e+07 where PostgreSQL prints -4.2219952e+07) —
/// and of those the closest to the value (a tie to the even digit). Steele & White / Burger &
/// Dybvig free-format digit generation in exact integer arithmetic: v = f·2^e is r/s, the gaps to
/// the midpoints are mPlus/s and mMinus/s. `digits` are ASCII, the value is 0.d₁d₂…dₙ × 10^`point`.
/// `f` is the integer significand (hidden bit included), `e` its binary exponent, `minExponent`
/// the exponent of the smallest normal (and of the subnormals), `bits` the significand width.
func shortestDigits(f: UInt64, e: Int, minExponent: Int, bits: Int) -> (digits: [UInt8], point: Int) {
    var r, s, mPlus, mMinus: BigUInt
    // At a power of two (not the smallest exponent) the gap below is half the gap above.
    let unequalGaps = f == 1 << (bits - 1) && e > minExponent
    if e >= 0 {
        let be = BigUInt(1).shiftedLeft(e)
        if unequalGaps {
            r = BigUInt(f).shiftedLeft(e + 2); s = BigUInt(4); mPlus = be.shiftedLeft(1); mMinus = be
        } else {
            r = BigUInt(f).shiftedLeft(e + 1); s = BigUInt(2); mPlus = be; mMinus = be
        }
    } else if unequalGaps {
        r = BigUInt(f).shiftedLeft(2); s = BigUInt(1).shiftedLeft(2 - e); mPlus = BigUInt(2); mMinus = BigUInt(1)
    } else {
        r = BigUInt(f).shiftedLeft(1); s = BigUInt(1).shiftedLeft(1 - e); mPlus = BigUInt(1); mMinus = BigUInt(1)
    }
    // Scale so that the upper bound (exclusive) is at most 1: 0.1 < (r + mPlus)/s ≤ 1.
    let bitLength = 64 - f.leadingZeroBitCount + e
    var k = Int((Double(bitLength - 1) * 0.30102999566398114).rounded(.up))
    if k >= 0 { s.multiply(byPowerOfTen: k) } else { r.multiply(byPowerOfTen: -k); mPlus.multiply(byPowerOfTen: -k); mMinus.multiply(byPowerOfTen: -k) }
    while (r + mPlus).compare(s) > 0 { s.multiply(by: 10); k += 1 }
    while ((r + mPlus).multiplied(by: 10)).compare(s) <= 0 { r.multiply(by: 10); mPlus.multiply(by: 10); mMinus.multiply(by: 10); k -= 1 }
    var digits: [UInt8] = []
    while true {
        r.multiply(by: 10); mPlus.multiply(by: 10); mMinus.multiply(by: 10)
        var d: UInt8 = 0
        while r.compare(s) >= 0 { r.subtract(s); d += 1 }
        let low = r.compare(mMinus) < 0                 // stopping here stays above the lower bound
        let high = (r + mPlus).compare(s) > 0           // rounding up stays below the upper bound
        if !low && !high { digits.append(48 + d); continue }
        if low && high {
            let twice = r.multiplied(by: 2).compare(s)
            if twice > 0 || (twice == 0 && d % 2 == 1) { d += 1 }
        } else if high {
            d += 1
        }
        digits.append(48 + d)
        break
    }
    return (digits, k)
}

/// Just enough unsigned big-integer arithmetic for `shortestDigits` (a float8 needs ~1100 bits).
private struct BigUInt {
    var limbs: [UInt32]  // little-endian, no high zero limbs (empty for zero)

    init(_ v: UInt64) {
        limbs = [UInt32(truncatingIfNeeded: v), UInt32(truncatingIfNeeded: v >> 32)]
        trim()
    }

    private mutating func trim() { while limbs.last == 0 { limbs.removeLast() } }

    func shiftedLeft(_ n: Int) -> BigUInt {
        var out = BigUInt(0)
        out.limbs = [UInt32](repeating: 0, count: n / 32)
        let bits = UInt32(n % 32)
        var carry: UInt32 = 0
        for l in limbs {
            out.limbs.append(bits == 0 ? l : (l << bits) | carry)
            carry = bits == 0 ? 0 : l >> (32 - bits)
        }
        if carry != 0 { out.limbs.append(carry) }
        out.trim()
        return out
    }

    mutating func multiply(by m: UInt32) {
        var carry: UInt64 = 0
        for i in limbs.indices {
            let p = UInt64(limbs[i]) * UInt64(m) + carry
            limbs[i] = UInt32(truncatingIfNeeded: p)
            carry = p >> 32
        }
        if carry != 0 { limbs.append(UInt32(carry)) }
    }

    func multiplied(by m: UInt32) -> BigUInt {
        var out = self
        out.multiply(by: m)
        return out
    }

    mutating func multiply(byPowerOfTen n: Int) {
        var left = n
        while left >= 9 { multiply(by: 1_000_000_000); left -= 9 }
        var rest: UInt32 = 1
        for _ in 0..<left { rest *= 10 }
        multiply(by: rest)
    }

    static func + (a: BigUInt, b: BigUInt) -> BigUInt {
        var out = BigUInt(0)
        out.limbs.reserveCapacity(max(a.limbs.count, b.limbs.count) + 1)
        var carry: UInt64 = 0
        for i in 0..<max(a.limbs.count, b.limbs.count) {
            let sum = UInt64(i < a.limbs.count ? a.limbs[i] : 0) + UInt64(i < b.limbs.count ? b.limbs[i] : 0) + carry
            out.limbs.append(UInt32(truncatingIfNeeded: sum))
            carry = sum >> 32
        }
        if carry != 0 { out.limbs.append(UInt32(carry)) }
        return out
    }

    /// self -= b, for b ≤ self.
    mutating func subtract(_ b: BigUInt) {
        var borrow: Int64 = 0
        for i in limbs.indices {
            var diff = Int64(limbs[i]) - Int64(i < b.limbs.count ? b.limbs[i] : 0) - borrow
            borrow = diff < 0 ? 1 : 0
            if diff < 0 { diff += 1 << 32 }
            limbs[i] = UInt32(diff)
        }
        trim()
    }

    /// -1, 0 or 1 as self is less than, equal to or greater than b.
    func compare(_ b: BigUInt) -> Int {
        if limbs.count != b.limbs.count { return limbs.count < b.limbs.count ? -1 : 1 }
        for i in limbs.indices.reversed() where limbs[i] != b.limbs[i] {
            return limbs[i] < b.limbs[i] ? -1 : 1
        }
        return 0
    }
}

/// Lays out shortest digits as PostgreSQL does; fixed point while the scientific exponent is in
/// -4 ..< `fixedBelow`.
private func postgresLayout(negative: Bool, digits: [UInt8], pointPosition: Int, fixedBelow: Int) -> String {
    var out: [UInt8] = negative ? [UInt8(ascii: "-")] : []
    let exponent = pointPosition - 1  // d.ddd × 10^exponent
    if exponent >= -4 && exponent < fixedBelow {
        if pointPosition <= 0 {
            out += Array("0.".utf8) + [UInt8](repeating: UInt8(ascii: "0"), count: -pointPosition) + digits
        } else if pointPosition >= digits.count {
            out += digits + [UInt8](repeating: UInt8(ascii: "0"), count: pointPosition - digits.count)
        } else {
            out += digits[..<pointPosition] + [UInt8(ascii: ".")] + digits[pointPosition...]
        }
    } else {
        out.append(digits[0])
        if digits.count > 1 { out += [UInt8(ascii: ".")] + digits[1...] }
        out += Array((exponent < 0 ? "e-" : "e+").utf8)
        let magnitude = String(exponent.magnitude)
        if magnitude.count < 2 { out.append(UInt8(ascii: "0")) }
        out += Array(magnitude.utf8)
    }
    return String(decoding: out, as: UTF8.self)
}

/// float8out's spelling of `value`. `exact` skips the fast path (tests compare both).
func postgresText(_ value: Double, exact: Bool = false) -> String {
    if value.isNaN { return "NaN" }
    if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
    if value == 0 { return value.sign == .minus ? "-0" : "0" }
    // f·2^e with the hidden bit; subnormals share the smallest normal's exponent.
    let biased = Int(value.exponentBitPattern)
    let f = value.significandBitPattern | (biased == 0 ? 0 : 1 << 52)
    let (digits, point) = exact ? shortestDigits(f: f, e: max(biased, 1) - 1075, minExponent: -1074, bits: 53)
        : postgresShortestDigits(value.magnitude.description, f: f, e: max(biased, 1) - 1075, minExponent: -1074, bits: 53)
    return postgresLayout(negative: value < 0, digits: digits, pointPosition: point, fixedBelow: 15)
}

/// float4out's spelling of `value`: the shortest float4 digits (1.1, not 1.100000023841858).
func postgresText(_ value: Float, exact: Bool = false) -> String {
    if value.isNaN { return "NaN" }
    if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
    if value == 0 { return value.sign == .minus ? "-0" : "0" }
    let biased = Int(value.exponentBitPattern)
    let f = UInt64(value.significandBitPattern | (biased == 0 ? 0 : 1 << 23))
    let (digits, point) = exact ? shortestDigits(f: f, e: max(biased, 1) - 150, minExponent: -149, bits: 24)
        : postgresShortestDigits(value.magnitude.description, f: f, e: max(biased, 1) - 150, minExponent: -149, bits: 24)
    return postgresLayout(negative: value < 0, digits: digits, pointPosition: point, fixedBelow: 6)
}

/// Swift's `description` prints the shortest digits with the interval bounds included; those are
/// PostgreSQL's too unless they sit exactly on a bound (a tie the reader must round to even),
/// which is cheap to test. Only then are the digits generated the slow, exact way.
private func postgresShortestDigits(_ description: String, f: UInt64, e: Int, minExponent: Int, bits: Int) -> (digits: [UInt8], point: Int) {
    let (digits, point) = descriptionDigits(description)
    var decimal: UInt64 = 0
    for d in digits { decimal = decimal * 10 + UInt64(d - 48) }  // at most 17 digits
    guard let (odd, exponent) = dyadic(decimal, timesPowerOfTen: point - digits.count) else { return (digits, point) }
    let unequalGaps = f == 1 << (bits - 1) && e > minExponent
    let onUpperBound = odd == 2 * f + 1 && exponent == e - 1
    let onLowerBound = unequalGaps ? (odd == 4 * f - 1 && exponent == e - 2) : (odd == 2 * f - 1 && exponent == e - 1)
    if onUpperBound || onLowerBound { return shortestDigits(f: f, e: e, minExponent: minExponent, bits: bits) }
    return (digits, point)
}

/// The digits and decimal point of Swift's "123.45" or "1.2345e+18" form: 0.d₁d₂…dₙ × 10^point,
/// no leading or trailing zeros.
private func descriptionDigits(_ description: String) -> (digits: [UInt8], point: Int) {
    var mantissa = Substring(description)
    var exponent = 0
    if let e = mantissa.firstIndex(of: "e") {
        exponent = Int(mantissa[mantissa.index(after: e)...])!  // "+16", "-07"
        mantissa = mantissa[..<e]
    }
    var digits: [UInt8] = []
    var point = 0
    var seenPoint = false
    for c in mantissa.utf8 {
        if c == UInt8(ascii: ".") { seenPoint = true; continue }
        digits.append(c)
        if !seenPoint { point += 1 }
    }
    var leading = 0
    while leading < digits.count - 1, digits[leading] == UInt8(ascii: "0") { leading += 1 }
    digits.removeFirst(leading)
    point -= leading
    while digits.count > 1, digits.last == UInt8(ascii: "0") { digits.removeLast() }
    return (digits, point + exponent)
}

/// `decimal`·10^`q` as odd·2^exponent, when it is such a number with the odd part below 2^64
/// (nil otherwise: then it cannot be a bound of a float4 or float8).
private func dyadic(_ decimal: UInt64, timesPowerOfTen q: Int) -> (odd: UInt64, exponent: Int)? {
    guard decimal != 0 else { return nil }
    var n = decimal
    if q >= 0 {
        for _ in 0..<q {
            let (m, overflow) = n.multipliedReportingOverflow(by: 5)
            if overflow { return nil }
            n = m
        }
    } else {
        for _ in 0..<(-q) {
            guard n % 5 == 0 else { return nil }
            n /= 5
        }
    }
    let twos = n.trailingZeroBitCount
    return (n >> twos, q + twos)
}
