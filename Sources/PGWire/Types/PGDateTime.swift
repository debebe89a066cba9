// date, timestamp, timestamptz and interval. PostgreSQL counts from 2000-01-01 (its epoch);
// these types keep that raw count so nothing is lost, and convert to Unix time and calendar
// fields on demand. No Foundation: the module must embed alone.

/// Days between 1970-01-01 and 2000-01-01.
let postgresEpochUnixDays: Int64 = 10_957
let microsecondsPerDay: Int64 = 86_400_000_000

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
}

/// (year, month, day) of days since 1970-01-01.
func civilFromDays(_ z0: Int64) -> (year: Int64, month: Int64, day: Int64) {
    let z = z0 + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
}

func pad(_ v: Int64, _ width: Int) -> String {
    let s = String(v)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}

/// "YYYY-MM-DD" with PostgreSQL's " BC" convention for years ≤ 0.
func formatDate(unixDays: Int64) -> (String, bc: Bool) {
    let (y, m, d) = civilFromDays(unixDays)
    let bc = y <= 0
    return ("\(pad(bc ? 1 - y : y, 4))-\(pad(m, 2))-\(pad(d, 2))", bc)
}

func formatTime(microsecondsOfDay us: Int64) -> String {
    let h = us / 3_600_000_000, mi = us / 60_000_000 % 60, s = us / 1_000_000 % 60, f = us % 1_000_000
    var out = "\(pad(h, 2)):\(pad(mi, 2)):\(pad(s, 2))"
    if f != 0 {
        var frac = pad(f, 6)
        while frac.hasSuffix("0") { frac.removeLast() }
        out += "." + frac
    }
    return out
}

/// A cursor over PostgreSQL's ISO date/time output.
struct DateTimeText {
    let u: [UInt8]
    var i = 0
    init(_ s: String) { u = Array(s.utf8) }
    var atEnd: Bool { i >= u.count }
    var peek: UInt8? { i < u.count ? u[i] : nil }

    mutating func number(maxDigits: Int = 18) -> Int64? {
        var v: Int64 = 0
        var n = 0
        while i < u.count, u[i] >= 48, u[i] <= 57, n < maxDigits { v = v * 10 + Int64(u[i] - 48); i += 1; n += 1 }
        return n > 0 ? v : nil
    }

    mutating func expect(_ c: Character) -> Bool {
        guard i < u.count, u[i] == c.asciiValue! else { return false }
        i += 1
        return true
    }

    /// "YYYY-MM-DD" → days since 1970 (without BC adjustment).
    mutating func date() -> (Int64, Int64, Int64)? {
        guard let y = number(), expect("-"), let m = number(maxDigits: 2), expect("-"), let d = number(maxDigits: 2),
              (1...12).contains(m), (1...31).contains(d) else { return nil }
        return (y, m, d)
    }

    /// "HH:MM:SS[.ffffff]" → microseconds.
    mutating func time() -> Int64? {
        guard let h = number(maxDigits: 2), expect(":"), let mi = number(maxDigits: 2), expect(":"), let s = number(maxDigits: 2) else { return nil }
        var us = ((h * 60 + mi) * 60 + s) * 1_000_000
        if expect(".") {
            var scale: Int64 = 100_000
            while let c = peek, c >= 48, c <= 57 {
                us += Int64(c - 48) * scale
                scale /= 10
                i += 1
            }
        }
        return us
    }

    /// "+HH[:MM[:SS]]" → seconds east of UTC.
    mutating func offset() -> Int64? {
        guard let c = peek, c == UInt8(ascii: "+") || c == UInt8(ascii: "-") else { return nil }
        i += 1
        guard let h = number(maxDigits: 2) else { return nil }
        var secs = h * 3600
        if expect(":") { guard let m = number(maxDigits: 2) else { return nil }; secs += m * 60 }
        if expect(":") { guard let s = number(maxDigits: 2) else { return nil }; secs += s }
        return c == UInt8(ascii: "-") ? -secs : secs
    }

    mutating func bc() -> Bool {
        if u.count - i == 3, u[i] == 32, u[i + 1] == UInt8(ascii: "B"), u[i + 2] == UInt8(ascii: "C") { i += 3; return true }
        return false
    }
}

/// A `date`: days since 2000-01-01; `Int32.max`/`min` are `infinity`/`-infinity`.
public struct PGDate: PGCodable, PGArrayElement, Hashable, Comparable, CustomStringConvertible {
    public static var pgType: PGOID { .date }
    public static var pgElementType: PGOID { .date }
    public static var pgArrayType: PGOID { .dateArray }
    public var daysSince2000: Int32

    public static let infinity = PGDate(daysSince2000: .max)
    public static let negativeInfinity = PGDate(daysSince2000: .min)

    public init(daysSince2000: Int32) { self.daysSince2000 = daysSince2000 }

    /// Proleptic Gregorian calendar date; year 0 is 1 BC (astronomical numbering).
    public init(year: Int, month: Int, day: Int) {
        daysSince2000 = Int32(daysFromCivil(year: Int64(year), month: Int64(month), day: Int64(day)) - postgresEpochUnixDays)
    }

    public var components: (year: Int, month: Int, day: Int) {
        let (y, m, d) = civilFromDays(Int64(daysSince2000) + postgresEpochUnixDays)
        return (Int(y), Int(m), Int(d))
    }

    public static func < (a: PGDate, b: PGDate) -> Bool { a.daysSince2000 < b.daysSince2000 }

    public var description: String {
        if self == .infinity { return "infinity" }
        if self == .negativeInfinity { return "-infinity" }
        let (s, bc) = formatDate(unixDays: Int64(daysSince2000) + postgresEpochUnixDays)
        return bc ? s + " BC" : s
    }

    public func encode(into out: inout [UInt8]) throws(PGError) { out.appendBigEndian(daysSince2000) }

    public static func decode(from value: PGValue) throws(PGError) -> PGDate {
        let b = try value.nonNull()
        if value.format == .binary {
            guard value.type == .date, b.count == 4 else { throw value.failure("cannot decode \(b.count) bytes of \(value.type) as date") }
            return PGDate(daysSince2000: value.bigEndian(Int32.self, b))
        }
        let s = try value.text()
        if s == "infinity" { return .infinity }
        if s == "-infinity" { return .negativeInfinity }
        var t = DateTimeText(s)
        guard let (y, m, d) = t.date() else { throw value.failure("invalid date \(s)") }
        let year = t.bc() ? 1 - y : y
        guard t.atEnd else { throw value.failure("invalid date \(s)") }
        return PGDate(daysSince2000: Int32(daysFromCivil(year: year, month: m, day: d) - postgresEpochUnixDays))
    }
}

/// A `timestamp` (without time zone): microseconds since 2000-01-01 00:00:00.
public struct PGTimestamp: PGCodable, PGArrayElement, Hashable, Comparable, CustomStringConvertible {
    public static var pgType: PGOID { .timestamp }
    public static var pgElementType: PGOID { .timestamp }
    public static var pgArrayType: PGOID { .timestampArray }
    public var microsecondsSince2000: Int64

    public static let infinity = PGTimestamp(microsecondsSince2000: .max)
    public static let negativeInfinity = PGTimestamp(microsecondsSince2000: .min)

    public init(microsecondsSince2000: Int64) { self.microsecondsSince2000 = microsecondsSince2000 }

    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0, microsecond: Int = 0) {
        let days = daysFromCivil(year: Int64(year), month: Int64(month), day: Int64(day)) - postgresEpochUnixDays
        microsecondsSince2000 = days * microsecondsPerDay + ((Int64(hour) * 60 + Int64(minute)) * 60 + Int64(second)) * 1_000_000 + Int64(microsecond)
    }

    public static func < (a: Self, b: Self) -> Bool { a.microsecondsSince2000 < b.microsecondsSince2000 }

    public var description: String {
        if self == .infinity { return "infinity" }
        if self == .negativeInfinity { return "-infinity" }
        return formatTimestamp(microsecondsSince2000, offsetSeconds: nil)
    }

    public func encode(into out: inout [UInt8]) throws(PGError) { out.appendBigEndian(microsecondsSince2000) }

    public static func decode(from value: PGValue) throws(PGError) -> PGTimestamp {
        let b = try value.nonNull()
        if value.format == .binary {
            guard value.type == .timestamp || value.type == .timestamptz, b.count == 8 else { throw value.failure("cannot decode \(b.count) bytes of \(value.type) as timestamp") }
            return PGTimestamp(microsecondsSince2000: value.bigEndian(Int64.self, b))
        }
        let s = try value.text()
        if s == "infinity" { return .infinity }
        if s == "-infinity" { return .negativeInfinity }
        guard let us = parseTimestamp(s, requireOffset: false) else { throw value.failure("invalid timestamp \(s)") }
        return PGTimestamp(microsecondsSince2000: us)
    }
}

/// A `timestamptz`: an instant, microseconds since 2000-01-01 00:00:00 UTC. The session's
/// TimeZone only changes how the server prints it in text; decoding text applies its offset.
public struct PGTimestampTZ: PGCodable, PGArrayElement, Hashable, Comparable, CustomStringConvertible {
    public static var pgType: PGOID { .timestamptz }
    public static var pgElementType: PGOID { .timestamptz }
    public static var pgArrayType: PGOID { .timestamptzArray }
    public var microsecondsSince2000: Int64

    public static let infinity = PGTimestampTZ(microsecondsSince2000: .max)
    public static let negativeInfinity = PGTimestampTZ(microsecondsSince2000: .min)

    public init(microsecondsSince2000: Int64) { self.microsecondsSince2000 = microsecondsSince2000 }
    public init(unixMicroseconds: Int64) { microsecondsSince2000 = unixMicroseconds - postgresEpochUnixDays * microsecondsPerDay }
    public init(secondsSince1970: Double) {
        let us = secondsSince1970 * 1_000_000
        self.init(unixMicroseconds: Int64(us + (us < 0 ? -0.5 : 0.5)))  // round half away; avoids libm
    }

    public var unixMicroseconds: Int64 { microsecondsSince2000 + postgresEpochUnixDays * microsecondsPerDay }
    public var secondsSince1970: Double { Double(unixMicroseconds) / 1_000_000 }

    public static func < (a: Self, b: Self) -> Bool { a.microsecondsSince2000 < b.microsecondsSince2000 }

    /// ISO form in UTC ("2024-01-02 03:04:05.5+00").
    public var description: String {
        if self == .infinity { return "infinity" }
        if self == .negativeInfinity { return "-infinity" }
        return formatTimestamp(microsecondsSince2000, offsetSeconds: 0)
    }

    public func encode(into out: inout [UInt8]) throws(PGError) { out.appendBigEndian(microsecondsSince2000) }

    public static func decode(from value: PGValue) throws(PGError) -> PGTimestampTZ {
        let b = try value.nonNull()
        if value.format == .binary {
            guard value.type == .timestamptz || value.type == .timestamp, b.count == 8 else { throw value.failure("cannot decode \(b.count) bytes of \(value.type) as timestamptz") }
            return PGTimestampTZ(microsecondsSince2000: value.bigEndian(Int64.self, b))
        }
        let s = try value.text()
        if s == "infinity" { return .infinity }
        if s == "-infinity" { return .negativeInfinity }
        guard let us = parseTimestamp(s, requireOffset: true) else { throw value.failure("invalid timestamptz \(s)") }
        return PGTimestampTZ(microsecondsSince2000: us)
    }
}

func formatTimestamp(_ us2000: Int64, offsetSeconds: Int64?) -> String {
    var days = us2000 / microsecondsPerDay
    var rem = us2000 % microsecondsPerDay
    if rem < 0 { rem += microsecondsPerDay; days -= 1 }
    let (d, bc) = formatDate(unixDays: days + postgresEpochUnixDays)
    var s = d + " " + formatTime(microsecondsOfDay: rem)
    if offsetSeconds != nil { s += "+00" }
    return bc ? s + " BC" : s
}

/// "YYYY-MM-DD HH:MM:SS[.f][±HH[:MM[:SS]]][ BC]" → microseconds since 2000-01-01 UTC.
func parseTimestamp(_ s: String, requireOffset: Bool) -> Int64? {
    var t = DateTimeText(s)
    guard let (y, m, d) = t.date(), t.expect(" "), let tod = t.time() else { return nil }
    let offset = t.offset()
    if requireOffset && offset == nil { return nil }
    let year = t.bc() ? 1 - y : y
    guard t.atEnd else { return nil }
    let days = daysFromCivil(year: year, month: m, day: d) - postgresEpochUnixDays
    return days * microsecondsPerDay + tod - (offset ?? 0) * 1_000_000
}

/// An `interval`: months, days and microseconds, kept apart as PostgreSQL does (a month is not
/// a fixed number of days, nor a day a fixed number of seconds across DST).
public struct PGInterval: PGCodable, PGArrayElement, Hashable, CustomStringConvertible {
    public static var pgType: PGOID { .interval }
    public static var pgElementType: PGOID { .interval }
    public static var pgArrayType: PGOID { .intervalArray }
    public var months: Int32
    public var days: Int32
    public var microseconds: Int64

    public init(months: Int32 = 0, days: Int32 = 0, microseconds: Int64 = 0) {
        self.months = months; self.days = days; self.microseconds = microseconds
    }

    /// PostgreSQL's default (IntervalStyle=postgres) spelling, as EncodeInterval in
    /// src/backend/utils/adt/datetime.c writes it: years, months and days where not zero, each
    /// with an explicit "+" when positive right after a negative field (only the field right
    /// after: each one decides for the next), then the time when not zero or nothing came before,
    /// "-" when negative, "+" when positive right after a negative field. PostgreSQL 17's
    /// infinite intervals are "infinity" and "-infinity".
    public var description: String {
        if months == .max && days == .max && microseconds == .max { return "infinity" }
        if months == .min && days == .min && microseconds == .min { return "-infinity" }
        var out = ""
        var afterNegative = false
        var nothingYet = true
        func field(_ value: Int32, _ unit: String) {
            guard value != 0 else { return }
            if !nothingYet { out += " " }
            if afterNegative && value > 0 { out += "+" }
            out += "\(value) \(unit)\(value == 1 ? "" : "s")"
            afterNegative = value < 0
            nothingYet = false
        }
        field(months / 12, "year")
        field(months % 12, "mon")
        field(days, "day")
        if nothingYet || microseconds != 0 {
            let us = microseconds.magnitude
            let h = us / 3_600_000_000, mi = us / 60_000_000 % 60, s = us / 1_000_000 % 60, f = us % 1_000_000
            if !nothingYet { out += " " }
            out += microseconds < 0 ? "-" : (afterNegative ? "+" : "")
            out += "\(pad(Int64(h), 2)):\(pad(Int64(mi), 2)):\(pad(Int64(s), 2))"
            if f != 0 {
                var frac = pad(Int64(f), 6)
                while frac.hasSuffix("0") { frac.removeLast() }
                out += "." + frac
            }
        }
        return out
    }

    public func encode(into out: inout [UInt8]) throws(PGError) {
        out.appendBigEndian(microseconds); out.appendBigEndian(days); out.appendBigEndian(months)
    }

    public static func decode(from value: PGValue) throws(PGError) -> PGInterval {
        let b = try value.nonNull()
        if value.format == .binary {
            guard value.type == .interval, b.count == 16 else { throw value.failure("cannot decode \(b.count) bytes of \(value.type) as interval") }
            return PGInterval(months: value.bigEndian(Int32.self, b, at: 12), days: value.bigEndian(Int32.self, b, at: 8),
                              microseconds: value.bigEndian(Int64.self, b, at: 0))
        }
        let s = try value.text()
        guard let i = parse(s) else { throw value.failure("invalid interval \(s) (only IntervalStyle postgres is read)") }
        return i
    }

    /// Parses "1 year 2 mons -3 days +04:05:06.7".
    static func parse(_ s: String) -> PGInterval? {
        var result = PGInterval()
        let tokens = s.split(separator: " ")
        var k = 0
        while k < tokens.count {
            let tok = tokens[k]
            if tok.contains(":") {
                var t = DateTimeText(String(tok.drop(while: { $0 == "+" || $0 == "-" })))
                let neg = tok.hasPrefix("-")
                guard let h = t.number(), t.expect(":"), let m = t.number(maxDigits: 2), t.expect(":"), let sec = t.number(maxDigits: 2) else { return nil }
                var us = ((h * 60 + m) * 60 + sec) * 1_000_000
                if t.expect(".") {
                    var scale: Int64 = 100_000
                    while let c = t.peek, c >= 48, c <= 57 { us += Int64(c - 48) * scale; scale /= 10; t.i += 1 }
                }
                guard t.atEnd else { return nil }
                result.microseconds += neg ? -us : us
                k += 1
                continue
            }
            guard let n = Int32(tok), k + 1 < tokens.count else { return nil }
            switch tokens[k + 1] {
            case "year", "years": result.months += n * 12
            case "mon", "mons": result.months += n
            case "day", "days": result.days += n
            default: return nil
            }
            k += 2
        }
        return result
    }
}
