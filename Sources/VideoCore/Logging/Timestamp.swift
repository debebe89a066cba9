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
