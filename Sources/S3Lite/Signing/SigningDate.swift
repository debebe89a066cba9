#if canImport(Glibc)
import Glibc
#endif

/// A UTC instant at one-second resolution, formatted the way SigV4 wants it.
///
/// The signer never reads the clock itself (so signing is reproducible in tests); callers pass
/// `SigningDate.now()` or a fixed date.
public struct SigningDate: Sendable, Hashable, Comparable {
    /// Seconds since 1970-01-01T00:00:00Z.
    public var secondsSince1970: Int64

    public init(secondsSince1970: Int64) { self.secondsSince1970 = secondsSince1970 }

    /// Builds a date from calendar fields (UTC); months and days are 1-based.
    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
        let days = Self.daysFromCivil(year: year, month: month, day: day)
        secondsSince1970 = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    /// The wall clock now.
    public static func now() -> SigningDate {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return SigningDate(secondsSince1970: Int64(ts.tv_sec))
    }

    public static func < (a: SigningDate, b: SigningDate) -> Bool { a.secondsSince1970 < b.secondsSince1970 }

    /// `YYYYMMDD'T'HHMMSS'Z'`, the `x-amz-date` value.
    public var timestamp: String { String(decoding: timestampBytes, as: UTF8.self) }
    /// `YYYYMMDD`, the date in the credential scope.
    public var dateStamp: String { String(decoding: timestampBytes[0..<8], as: UTF8.self) }

    var timestampBytes: [UInt8] {
        let days = Int(secondsSince1970.floorDiv(86_400))
        let rest = Int(secondsSince1970 - Int64(days) * 86_400)
        let (y, m, d) = Self.civilFromDays(days)
        var out = [UInt8]()
        out.reserveCapacity(16)
        func put(_ v: Int, _ width: Int) {
            var digits = [UInt8](repeating: UInt8(ascii: "0"), count: width)
            var v = v
            for i in stride(from: width - 1, through: 0, by: -1) {
                digits[i] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            }
            out.append(contentsOf: digits)
        }
        put(y, 4); put(m, 2); put(d, 2)
        out.append(UInt8(ascii: "T"))
        put(rest / 3600, 2); put(rest / 60 % 60, 2); put(rest % 60, 2)
        out.append(UInt8(ascii: "Z"))
        return out
    }

    // Howard Hinnant's civil calendar algorithms (proleptic Gregorian, exact for all Int ranges used here).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}

extension Int64 {
    fileprivate func floorDiv(_ d: Int64) -> Int64 {
        let q = self / d
        return (self % d != 0 && (self < 0) != (d < 0)) ? q - 1 : q
    }
}
