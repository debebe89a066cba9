/// The host of an http(s) URL, parsed as the WHATWG URL standard parses hosts of special
/// schemes — so every spelling a browser or a URL library would turn into an address is turned
/// into that address here too: `127.1`, `2130706433`, `0x7f000001`, `0177.0.0.1`, `%31%32%37.0.0.1`
/// and `127.0.0.1.` are all `.ipv4(127.0.0.1)`. What it does not understand it refuses: non-ASCII
/// names (IDNA is not implemented: use the `xn--` form), zone ids, characters outside
/// `a-z 0-9 - _ .` in names.
public enum HTTPHost: Sendable, Hashable, CustomStringConvertible {
    case ipv4(IPv4Address)
    case ipv6(IPv6Address)
    /// Lower-case ASCII, as written (a trailing dot is kept: it is part of the URL's host).
    case domain(String)

    /// The form used in a URL and the Host header (`[::1]` for IPv6).
    public var description: String {
        switch self {
        case .ipv4(let a): a.description
        case .ipv6(let a): "[\(a.description)]"
        case .domain(let d): d
        }
    }

    /// What to resolve, to send as SNI and to verify the certificate against: the name without
    /// its trailing dot, or the address without brackets.
    public var nameForLookup: String {
        switch self {
        case .ipv4(let a): a.description
        case .ipv6(let a): a.description
        case .domain(let d): d.hasSuffix(".") ? String(d.dropLast()) : d
        }
    }

    public var address: IPAddress? {
        switch self {
        case .ipv4(let a): .v4(a)
        case .ipv6(let a): .v6(a)
        case .domain: nil
        }
    }

    /// Parses the host part of an http(s) URL's authority (brackets included for IPv6).
    public static func parse(_ input: some StringProtocol) throws(HTTPURLError) -> HTTPHost {
        let text = String(input)
        let bytes = Array(text.utf8)
        if bytes.first == UInt8(ascii: "[") {
            guard bytes.last == UInt8(ascii: "]"), bytes.count > 2 else { throw .invalidHost(text, "unclosed [") }
            let inner = Array(bytes[1..<bytes.count - 1])
            if inner.contains(UInt8(ascii: "%")) { throw .invalidHost(text, "IPv6 zone ids are not allowed") }
            guard let a = IPv6Address.parse(inner) else { throw .invalidHost(text, "not an IPv6 address") }
            return .ipv6(a)
        }
        guard !bytes.isEmpty else { throw .emptyHost }
        let decoded = percentDecode(bytes)
        if decoded.contains(where: { $0 >= 0x80 }) {
            throw .internationalizedHost(text)
        }
        if let bad = decoded.first(where: { isForbiddenDomainByte($0) }) {
            throw .invalidHost(text, "character \(describeByte(bad)) is not allowed in a host name")
        }
        let lower = decoded.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
        if endsInANumber(lower) {
            guard let v4 = parseWHATWGIPv4(lower) else { throw .invalidHost(text, "not a valid IPv4 address") }
            return .ipv4(v4)
        }
        let name = String(decoding: lower, as: UTF8.self)
        var labels = name.split(separator: ".", omittingEmptySubsequences: false)
        if labels.count > 1, labels.last == "" { labels.removeLast() }
        guard name.utf8.count <= 254, labels.count <= 127 else { throw .invalidHost(text, "name longer than 253 characters") }
        for label in labels {
            guard !label.isEmpty else { throw .invalidHost(text, "empty label") }
            guard label.utf8.count <= 63 else { throw .invalidHost(text, "label longer than 63 characters") }
            guard label.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95 }) else {
                throw .invalidHost(text, "only a-z, 0-9, - and _ may appear in a name")
            }
        }
        return .domain(name)
    }

    // MARK: WHATWG IPv4

    /// "Ends in a number": the last label (after dropping one trailing empty label) is decimal
    /// digits or a `0x` number, so the host must be read as IPv4 (or fail).
    static func endsInANumber(_ host: [UInt8]) -> Bool {
        var parts = host.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        if parts.last?.isEmpty == true {
            if parts.count == 1 { return false }
            parts.removeLast()
        }
        guard let last = parts.last, !last.isEmpty else { return false }
        if last.allSatisfy({ $0 >= 48 && $0 <= 57 }) { return true }
        // The IPv4 number parser accepts `0x` + hex digits (of any size); other forms are digits.
        return last.count >= 2 && last.first == 48 && last[last.startIndex + 1] | 0x20 == UInt8(ascii: "x")
            && last.dropFirst(2).allSatisfy { IPv6Address.hexDigit($0) != nil }
    }

    /// The WHATWG IPv4 parser: up to four parts, each decimal, octal (leading 0) or hex (0x);
    /// the last part fills the remaining bytes (`127.1` is 127.0.0.1, `2130706433` likewise).
    static func parseWHATWGIPv4(_ host: [UInt8]) -> IPv4Address? {
        var parts = host.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        if parts.last?.isEmpty == true, parts.count > 1 { parts.removeLast() }
        guard parts.count <= 4, !parts.isEmpty else { return nil }
        var numbers: [UInt64] = []
        for part in parts {
            guard let n = ipv4Number(Array(part)) else { return nil }
            numbers.append(n)
        }
        for n in numbers.dropLast() where n > 255 { return nil }
        let last = numbers.last!
        let limit: UInt64 = 1 << (8 * UInt64(5 - numbers.count))
        guard last < limit else { return nil }
        var value = last
        for (i, n) in numbers.dropLast().enumerated() {
            value += n << (8 * UInt64(3 - i))
        }
        return IPv4Address(UInt32(value))
    }

    /// One part: nil when it is not a number; values past 2^40 are refused (no IPv4 fits them).
    static func ipv4Number(_ input: [UInt8]) -> UInt64? {
        guard !input.isEmpty else { return nil }
        var digits = input[...]
        var radix: UInt64 = 10
        if digits.count >= 2, digits.first == 48, digits[digits.startIndex + 1] | 0x20 == UInt8(ascii: "x") {
            digits = digits.dropFirst(2)
            radix = 16
        } else if digits.count >= 2, digits.first == 48 {
            digits = digits.dropFirst()
            radix = 8
        }
        if digits.isEmpty { return 0 }
        var value: UInt64 = 0
        for b in digits {
            let d: UInt64
            switch b {
            case 48...57: d = UInt64(b - 48)
            case 97...102: d = UInt64(b - 87)
            case 65...70: d = UInt64(b - 55)
            default: return nil
            }
            guard d < radix else { return nil }
            value = value * radix + d
            guard value < 1 << 40 else { return nil }
        }
        return value
    }

    // MARK: bytes

    /// `%XX` decoded; a `%` not followed by two hex digits stays (and is then refused as forbidden).
    static func percentDecode(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count,
               let h = IPv6Address.hexDigit(bytes[i + 1]), let l = IPv6Address.hexDigit(bytes[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    /// The WHATWG forbidden domain code points (ASCII part).
    static func isForbiddenDomainByte(_ b: UInt8) -> Bool {
        if b <= 0x20 || b == 0x7f { return true }
        switch b {
        case UInt8(ascii: "#"), UInt8(ascii: "%"), UInt8(ascii: "/"), UInt8(ascii: ":"), UInt8(ascii: "<"),
             UInt8(ascii: ">"), UInt8(ascii: "?"), UInt8(ascii: "@"), UInt8(ascii: "["), UInt8(ascii: "\\"),
             UInt8(ascii: "]"), UInt8(ascii: "^"), UInt8(ascii: "|"):
            return true
        default:
            return false
        }
    }

    static func describeByte(_ b: UInt8) -> String {
        b > 0x20 && b < 0x7f ? "'\(Character(Unicode.Scalar(b)))'" : "0x" + String(b, radix: 16)
    }
}
