/// A single byte range from a `Range: bytes=…` request (RFC 9110 §14.1.2), resolved against a
/// representation of `length` bytes.
public enum ByteRangeRequest: Sendable, Equatable {
    /// No usable Range: send the whole representation (200). Multiple ranges also end up here — the
    /// RFC lets a server ignore Range, and video players ask for one.
    case whole
    /// 206 with these bytes.
    case partial(ClosedRange<Int>)
    /// 416 (`Content-Range: bytes */length`).
    case unsatisfiable

    public static func resolve(_ header: String?, length: Int) -> ByteRangeRequest {
        guard let header else { return .whole }
        let trimmed = header.trimmingOWS
        guard trimmed.lowercased().hasPrefix("bytes=") else { return .whole }
        let spec = trimmed.dropFirst(6).trimmingOWS
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return .whole }
        let first = spec[..<dash], last = spec[spec.index(after: dash)...]
        func number(_ s: Substring) -> Int? {
            guard !s.isEmpty, s.count <= 18, s.utf8.allSatisfy({ $0 &- 0x30 < 10 }) else { return nil }
            return Int(s)
        }
        if first.isEmpty {
            // suffix-range: the last N bytes
            guard let n = number(last) else { return .whole }
            guard n > 0, length > 0 else { return .unsatisfiable }
            return .partial(max(0, length - n)...(length - 1))
        }
        guard let start = number(first) else { return .whole }
        let end: Int
        if last.isEmpty {
            end = length - 1
        } else {
            guard let e = number(last), e >= start else { return .whole }
            end = min(e, length - 1)
        }
        guard start < length else { return .unsatisfiable }
        return .partial(start...end)
    }
}

extension StringProtocol {
    var trimmingOWS: Substring {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
