import VideoCore

/// `Range: bytes=…` for `GET /media/{id}/{path}` (RFC 9110 §14): one range only; several ranges
/// are answered with the whole file (allowed: a server may ignore Range).
public enum ByteRange {
    public enum Resolution: Sendable, Equatable {
        /// No (usable) Range header: 200 with the whole file.
        case whole
        /// 206 with `Content-Range: bytes first-last/size`.
        case partial(ClosedRange<Int64>)
        /// 416 with `Content-Range: bytes */size`.
        case unsatisfiable
    }

    public static func resolve(_ header: String?, size: Int64) -> Resolution {
        guard let header else { return .whole }
        let trimmed = header.trimmingBlanks()
        guard trimmed.lowercased().hasPrefix("bytes=") else { return .whole }
        let spec = trimmed.dropFirst(6)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return .whole }
        let firstText = spec[..<dash].trimmingBlanksLowercased()
        let lastText = spec[spec.index(after: dash)...].trimmingBlanksLowercased()
        guard firstText.allSatisfy(\.isASCIIDigit), lastText.allSatisfy(\.isASCIIDigit) else { return .whole }
        if firstText.isEmpty {
            // Suffix range: the last N bytes.
            guard let n = Int64(lastText) else { return .whole }
            guard n > 0, size > 0 else { return .unsatisfiable }
            return .partial(max(0, size - n)...(size - 1))
        }
        guard let first = Int64(firstText) else { return .whole }
        guard first < size else { return .unsatisfiable }
        let last = lastText.isEmpty ? size - 1 : min(Int64(lastText) ?? Int64.max, size - 1)
        guard last >= first else { return .whole }
        return .partial(first...last)
    }

    public static func contentRange(_ range: ClosedRange<Int64>, size: Int64) -> String {
        "bytes \(range.lowerBound)-\(range.upperBound)/\(size)"
    }

    public static func unsatisfiedContentRange(size: Int64) -> String { "bytes */\(size)" }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
