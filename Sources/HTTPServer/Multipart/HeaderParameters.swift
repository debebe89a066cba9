/// `type/subtype; a=1; boundary="x y"` → ["a": "1", "boundary": "x y"] (names lower-cased).
///
/// The parameters of Content-Type and Content-Disposition (RFC 9110 §5.6.6, RFC 6266): a token or
/// a quoted string with backslash escapes; the first occurrence of a name wins.
public enum HeaderParameters {
    public static func parse(_ value: String) -> [String: String] {
        var out: [String: String] = [:]
        var rest = Substring(value)
        // Skip the leading token (media type or disposition type).
        guard let first = rest.firstIndex(of: ";") else { return out }
        rest = rest[rest.index(after: first)...]
        while !rest.isEmpty {
            rest = rest.drop { $0 == " " || $0 == "\t" || $0 == ";" }
            guard let eq = rest.firstIndex(of: "=") else { break }
            let name = trimmed(rest[..<eq]).lowercased()
            rest = rest[rest.index(after: eq)...].drop { $0 == " " || $0 == "\t" }
            var v = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                var escaped = false
                while let c = rest.first {
                    rest = rest.dropFirst()
                    if escaped { v.append(c); escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { break } else { v.append(c) }
                }
                rest = rest.drop { $0 != ";" }
            } else {
                let end = rest.firstIndex(of: ";") ?? rest.endIndex
                v = trimmed(rest[..<end])
                rest = rest[end...]
            }
            if out[name] == nil { out[name] = v }
        }
        return out
    }

    /// Without leading and trailing whitespace.
    static func trimmed(_ s: some StringProtocol) -> String {
        var s = Substring(s)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
