/// A systemd `EnvironmentFile=`: `KEY=VALUE` lines, `#`/`;` comments, single or double quotes,
/// and a trailing backslash continuing a line — so the same file serves systemd and `--env-file`.
public enum EnvironmentFile {
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var reason: String
        public var description: String { "environment file line \(line): \(reason)" }
    }

    /// The assignments in file order; a later assignment of the same key wins, as in systemd.
    public static func parse(_ text: String) throws(ParseError) -> [String: String] {
        var result: [String: String] = [:]
        // `\r\n` is one Character in Swift: splitting on isNewline handles both line endings.
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)[...]
        var number = 0
        while let first = lines.popFirst() {
            number += 1
            let startLine = number
            var logical = String(first)
            // Continuations: an unquoted trailing backslash joins the next line.
            while logical.hasSuffix("\\"), !logical.hasSuffix("\\\\"), let next = lines.popFirst() {
                number += 1
                logical.removeLast()
                logical += next
            }
            let trimmed = logical.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            guard let eq = trimmed.firstIndex(of: "=") else {
                throw ParseError(line: startLine, reason: "expected KEY=VALUE")
            }
            let key = String(trimmed[..<eq]).trimmingTrailingBlanks()
            guard isValidName(key) else {
                throw ParseError(line: startLine, reason: "invalid variable name \"\(key)\"")
            }
            let rawValue = trimmed[trimmed.index(after: eq)...].drop { $0 == " " || $0 == "\t" }
            result[key] = try unquote(String(rawValue), line: startLine)
        }
        return result
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, first == UInt8(ascii: "_") || isLetter(first) else { return false }
        return name.utf8.allSatisfy { $0 == UInt8(ascii: "_") || isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) }
    }

    private static func isLetter(_ b: UInt8) -> Bool { (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) }

    /// systemd semantics: a value wholly in double quotes has `\"`, `\\`, `\n` escapes; in single
    /// quotes it is literal; otherwise it is taken as is (trailing blanks removed).
    private static func unquote(_ value: String, line: Int) throws(ParseError) -> String {
        let value = value.trimmingTrailingBlanks()
        guard let quote = value.first, quote == "\"" || quote == "'" else { return value }
        guard value.count >= 2, value.last == quote else {
            throw ParseError(line: line, reason: "unterminated \(quote == "\"" ? "double" : "single") quote")
        }
        let inner = value.dropFirst().dropLast()
        if quote == "'" { return String(inner) }
        var out = ""
        var escaping = false
        for ch in inner {
            if escaping {
                switch ch {
                case "n": out.append("\n")
                case "t": out.append("\t")
                default: out.append(ch)
                }
                escaping = false
            } else if ch == "\\" {
                escaping = true
            } else {
                out.append(ch)
            }
        }
        if escaping { out.append("\\") }
        return out
    }
}

extension String {
    func trimmingTrailingBlanks() -> String {
        var s = Substring(self)
        while let last = s.last, last == " " || last == "\t" { s.removeLast() }
        return String(s)
    }
}
