/// A small non-validating XML parser for S3 response bodies: elements, attributes, character
/// data, CDATA, comments, processing instructions, the five named entities and numeric
/// character references. No DTDs (refused: no entity expansion attacks). Depth bounded.
public enum XMLParser {
    public struct Error: Swift.Error, Sendable, Hashable, CustomStringConvertible {
        public var reason: String
        public var offset: Int
        public var description: String { "malformed XML at byte \(offset): \(reason)" }
    }

    public static let maxDepth = 64

    public static func parse(_ bytes: some Collection<UInt8>) throws(Error) -> XMLElement {
        let s = Array(bytes)
        var i = 0
        var stack: [XMLElement] = []
        var root: XMLElement?

        func fail(_ reason: String) -> Error { Error(reason: reason, offset: i) }
        func startsWith(_ lit: String) -> Bool {
            let l = Array(lit.utf8)
            return i + l.count <= s.count && Array(s[i..<i + l.count]) == l
        }
        func skip(until lit: String) throws(Error) {
            let l = Array(lit.utf8)
            while i + l.count <= s.count {
                if s[i] == l[0] && Array(s[i..<i + l.count]) == l { i += l.count; return }
                i += 1
            }
            throw fail("unterminated construct, expected \(lit)")
        }
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0a || b == 0x0d }
        func readName() throws(Error) -> String {
            let start = i
            while i < s.count, !isSpace(s[i]), s[i] != UInt8(ascii: ">"), s[i] != UInt8(ascii: "/"), s[i] != UInt8(ascii: "=") { i += 1 }
            guard i > start else { throw fail("expected a name") }
            return String(decoding: s[start..<i], as: UTF8.self)
        }
        func localName(_ n: String) -> String {
            if let c = n.lastIndex(of: ":") { return String(n[n.index(after: c)...]) }
            return n
        }

        // Skip a UTF-8 byte order mark.
        if s.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
        while i < s.count {
            if s[i] == UInt8(ascii: "<") {
                if startsWith("<?") { try skip(until: "?>"); continue }
                if startsWith("<!--") { try skip(until: "-->"); continue }
                if startsWith("<![CDATA[") {
                    i += 9
                    let start = i
                    try skip(until: "]]>")
                    guard !stack.isEmpty else { throw fail("CDATA outside the root element") }
                    stack[stack.count - 1].text += String(decoding: s[start..<i - 3], as: UTF8.self)
                    continue
                }
                if startsWith("<!") { throw fail("DTDs are not accepted") }
                if startsWith("</") {
                    i += 2
                    let name = localName(try readName())
                    while i < s.count, isSpace(s[i]) { i += 1 }
                    guard i < s.count, s[i] == UInt8(ascii: ">") else { throw fail("expected > after end tag") }
                    i += 1
                    guard let open = stack.popLast(), open.name == name else { throw fail("mismatched end tag </\(name)>") }
                    if stack.isEmpty {
                        guard root == nil else { throw fail("more than one root element") }
                        root = open
                    } else {
                        stack[stack.count - 1].children.append(open)
                    }
                    continue
                }
                i += 1
                var element = XMLElement(name: localName(try readName()))
                while true {
                    while i < s.count, isSpace(s[i]) { i += 1 }
                    guard i < s.count else { throw fail("unterminated start tag") }
                    if s[i] == UInt8(ascii: ">") { i += 1; break }
                    if s[i] == UInt8(ascii: "/") {
                        guard i + 1 < s.count, s[i + 1] == UInt8(ascii: ">") else { throw fail("expected />") }
                        i += 2
                        if stack.isEmpty {
                            guard root == nil else { throw fail("more than one root element") }
                            root = element
                        } else {
                            stack[stack.count - 1].children.append(element)
                        }
                        element.name = ""  // marks "already closed"
                        break
                    }
                    let attr = try readName()
                    while i < s.count, isSpace(s[i]) { i += 1 }
                    guard i < s.count, s[i] == UInt8(ascii: "=") else { throw fail("expected = in attribute") }
                    i += 1
                    while i < s.count, isSpace(s[i]) { i += 1 }
                    guard i < s.count, s[i] == UInt8(ascii: "\"") || s[i] == UInt8(ascii: "'") else { throw fail("expected quoted attribute value") }
                    let quote = s[i]
                    i += 1
                    let start = i
                    while i < s.count, s[i] != quote { i += 1 }
                    guard i < s.count else { throw fail("unterminated attribute value") }
                    element.attributes[attr] = try decodeEntities(s[start..<i], offset: start)
                    i += 1
                }
                if !element.name.isEmpty {
                    guard stack.count < maxDepth else { throw fail("nesting deeper than \(maxDepth)") }
                    stack.append(element)
                }
            } else {
                let start = i
                while i < s.count, s[i] != UInt8(ascii: "<") { i += 1 }
                let text = s[start..<i]
                if stack.isEmpty {
                    guard text.allSatisfy(isSpace) else { throw fail("text outside the root element") }
                } else {
                    stack[stack.count - 1].text += try decodeEntities(text, offset: start)
                }
            }
        }
        guard stack.isEmpty else { throw fail("unclosed element <\(stack.last!.name)>") }
        guard let root else { throw fail("no root element") }
        return root
    }

    static func decodeEntities(_ bytes: ArraySlice<UInt8>, offset: Int) throws(Error) -> String {
        guard bytes.contains(UInt8(ascii: "&")) else { return String(decoding: bytes, as: UTF8.self) }
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let b = bytes[i]
            guard b == UInt8(ascii: "&") else { out.append(b); i += 1; continue }
            guard let semi = bytes[i...].firstIndex(of: UInt8(ascii: ";")), semi - i <= 12 else {
                throw Error(reason: "unterminated entity", offset: offset + (i - bytes.startIndex))
            }
            let name = String(decoding: bytes[(i + 1)..<semi], as: UTF8.self)
            switch name {
            case "amp": out.append(UInt8(ascii: "&"))
            case "lt": out.append(UInt8(ascii: "<"))
            case "gt": out.append(UInt8(ascii: ">"))
            case "quot": out.append(UInt8(ascii: "\""))
            case "apos": out.append(UInt8(ascii: "'"))
            default:
                var scalar: UInt32?
                if name.hasPrefix("#x") || name.hasPrefix("#X") { scalar = UInt32(name.dropFirst(2), radix: 16) }
                else if name.hasPrefix("#") { scalar = UInt32(name.dropFirst(1)) }
                guard let v = scalar, let u = Unicode.Scalar(v) else {
                    throw Error(reason: "unknown entity &\(name);", offset: offset + (i - bytes.startIndex))
                }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            }
            i = semi + 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Escapes text for element content and attribute values.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for ch in text.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\r": out += "&#13;"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }
}
