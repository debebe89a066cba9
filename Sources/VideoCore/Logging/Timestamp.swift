#if canImport(Glibc)
import Glibc
#endif

/// Wall-clock time as RFC 3339 UTC text (`2026-11-29T06:25:44.123Z`), the form used in logs and
/// progress events. Computed by hand: no formatter, no locale, no allocation beyond the string.
public enum Timestamp {
    public static func nowMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    public static func now() -> String { rfc3339(milliseconds: nowMilliseconds()) }

    public static func rfc3339(milliseconds: Int64) -> String {
        let ms = Int(milliseconds.modulo(1000))
        let seconds = (milliseconds - Int64(ms)) / 1000
        let days = (seconds - seconds.modulo(86_400)) / 86_400
        let secOfDay = Int(seconds.modulo(86_400))
        let (y, m, d) = civil(fromDays: days)
        return "\(pad(Int(y), 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secOfDay / 3600, 2)):\(pad(secOfDay / 60 % 60, 2)):\(pad(secOfDay % 60, 2)).\(pad(ms, 3))Z"
    }

    /// The inverse of `rfc3339(milliseconds:)`, for exactly that form (`YYYY-MM-DDTHH:MM:SS.mmmZ`,
    /// years 0000–9999); nil for anything else.
    public static func milliseconds(rfc3339 text: String) -> Int64? {
        let b = Array(text.utf8)
        guard b.count == 24, b[4] == 0x2D, b[7] == 0x2D, b[10] == 0x54, b[13] == 0x3A, b[16] == 0x3A, b[19] == 0x2E, b[23] == 0x5A
        else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var n: Int64 = 0
            for i in range {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                n = n * 10 + Int64(b[i] - 0x30)
            }
            return n
        }
        guard let y = number(0..<4), let m = number(5..<7), let d = number(8..<10), let hh = number(11..<13),
              let mm = number(14..<16), let ss = number(17..<19), let ms = number(20..<23),
              (1...12).contains(m), (1...31).contains(d), hh < 24, mm < 60, ss < 60 else { return nil }
        return ((days(year: y, month: m, day: d) * 24 + hh) * 60 + mm) * 60_000 + ss * 1000 + ms
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    package static func days(year y0: Int64, month m: Int64, day d: Int64) -> Int64 {
        let year = m <= 2 ? y0 - 1 : y0
        let era = (year >= 0 ? year : year - 399) / 400
        let yoe = year - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Howard Hinnant's days-since-1970 → proleptic Gregorian date.
    static func civil(fromDays z0: Int64) -> (Int64, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = Int(doy - (153 * mp + 2) / 5 + 1)
        let m = Int(mp < 10 ? mp + 3 : mp - 9)
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    private static func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}

extension Int64 {
    fileprivate func modulo(_ m: Int64) -> Int64 { let r = self % m; return r < 0 ? r + m : r }
}
