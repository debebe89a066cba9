/// An IPv4 address as a 32-bit number (`127.0.0.1` is `0x7f00_0001`).
public struct IPv4Address: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Strict dotted-decimal (`a.b.c.d`, each 0–255, no leading zeros): the form resolvers and
    /// `inet_ntop` print. URL hosts use `HTTPHost`'s WHATWG parser, which accepts more.
    public init?(dotted text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for part in parts {
            guard let n = IPv4Address.strictOctet(part) else { return nil }
            v = v << 8 | UInt32(n)
        }
        value = v
    }

    static func strictOctet(_ s: some StringProtocol) -> UInt8? {
        guard (1...3).contains(s.utf8.count), s.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
              s.utf8.count == 1 || s.utf8.first != 48, let n = Int(s), n <= 255 else { return nil }
        return UInt8(n)
    }

    public var octets: [UInt8] { [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)] }
    public var description: String { octets.map(String.init).joined(separator: ".") }
    public static func < (a: Self, b: Self) -> Bool { a.value < b.value }
}

/// An IPv6 address as two 64-bit halves (network order: `high` holds the first 8 bytes).
public struct IPv6Address: Sendable, Hashable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// From eight 16-bit pieces.
    public init(pieces: [UInt16]) {
        precondition(pieces.count == 8)
        var h: UInt64 = 0, l: UInt64 = 0
        for i in 0..<4 { h = h << 16 | UInt64(pieces[i]) }
        for i in 4..<8 { l = l << 16 | UInt64(pieces[i]) }
        high = h
        low = l
    }

    public var pieces: [UInt16] {
        (0..<4).map { UInt16(truncatingIfNeeded: high >> (48 - 16 * UInt64($0))) }
            + (0..<4).map { UInt16(truncatingIfNeeded: low >> (48 - 16 * UInt64($0))) }
    }

    public var bytes: [UInt8] { pieces.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] } }

    /// The address text without brackets, as the WHATWG URL standard serializes it (RFC 5952:
    /// lower case, no leading zeros, the first longest run of two or more zero pieces as `::`).
    public var description: String {
        let p = pieces
        var bestStart = -1, bestLength = 1
        var i = 0
        while i < 8 {
            guard p[i] == 0 else { i += 1; continue }
            var j = i
            while j < 8 && p[j] == 0 { j += 1 }
            if j - i > bestLength { bestStart = i; bestLength = j - i }
            i = j
        }
        var out = ""
        i = 0
        while i < 8 {
            if i == bestStart {
                out += i == 0 ? "::" : ":"
                i += bestLength
                continue
            }
            out += String(p[i], radix: 16)
            if i < 7 { out += ":" }
            i += 1
        }
        return out
    }

    /// The strict textual form (`inet_ntop` output, allow-list entries): hex pieces, at most one
    /// `::`, an optional dotted IPv4 tail; no zone id.
    public init?(text: some StringProtocol) {
        guard let a = IPv6Address.parse(Array(text.utf8)) else { return nil }
        self = a
    }

    /// The WHATWG URL standard's IPv6 parser (also RFC 4291's text forms).
    static func parse(_ input: [UInt8]) -> IPv6Address? {
        var address = [UInt16](repeating: 0, count: 8)
        var pieceIndex = 0
        var compress: Int?
        var p = 0
        func at(_ i: Int) -> UInt8? { i < input.count ? input[i] : nil }
        if at(p) == UInt8(ascii: ":") {
            guard at(p + 1) == UInt8(ascii: ":") else { return nil }
            p += 2
            pieceIndex += 1
            compress = pieceIndex
        }
        while let c = at(p) {
            guard pieceIndex < 8 else { return nil }
            if c == UInt8(ascii: ":") {
                guard compress == nil else { return nil }
                p += 1
                pieceIndex += 1
                compress = pieceIndex
                continue
            }
            var value: UInt16 = 0
            var length = 0
            while length < 4, let h = at(p), let d = hexDigit(h) {
                value = value << 4 | UInt16(d)
                p += 1
                length += 1
            }
            if at(p) == UInt8(ascii: ".") {
                // A dotted IPv4 tail fills the last two pieces.
                guard length > 0 else { return nil }
                p -= length
                guard pieceIndex <= 6 else { return nil }
                var numbersSeen = 0
                while at(p) != nil {
                    var ipv4Piece: Int?
                    if numbersSeen > 0 {
                        guard at(p) == UInt8(ascii: "."), numbersSeen < 4 else { return nil }
                        p += 1
                    }
                    guard let first = at(p), first >= 48, first <= 57 else { return nil }
                    while let d = at(p), d >= 48, d <= 57 {
                        let n = Int(d - 48)
                        if let v = ipv4Piece {
                            guard v != 0 else { return nil }  // no leading zeros
                            ipv4Piece = v * 10 + n
                        } else {
                            ipv4Piece = n
                        }
                        guard ipv4Piece! <= 255 else { return nil }
                        p += 1
                    }
                    address[pieceIndex] = address[pieceIndex] << 8 | UInt16(ipv4Piece!)
                    numbersSeen += 1
                    if numbersSeen == 2 || numbersSeen == 4 { pieceIndex += 1 }
                }
                guard numbersSeen == 4 else { return nil }
                break
            } else if at(p) == UInt8(ascii: ":") {
                p += 1
                guard at(p) != nil else { return nil }
            } else if at(p) != nil {
                return nil
            }
            address[pieceIndex] = value
            pieceIndex += 1
        }
        if let compress {
            var swaps = pieceIndex - compress
            pieceIndex = 7
            while pieceIndex != 0 && swaps > 0 {
                address.swapAt(pieceIndex, compress + swaps - 1)
                pieceIndex -= 1
                swaps -= 1
            }
        } else if pieceIndex != 8 {
            return nil
        }
        return IPv6Address(pieces: address)
    }

    static func hexDigit(_ b: UInt8) -> UInt8? {
        switch b {
        case 48...57: b - 48
        case 97...102: b - 87
        case 65...70: b - 55
        default: nil
        }
    }

    /// The IPv4 address in the last 32 bits (for IPv4-mapped, NAT64 and similar forms).
    public var lastIPv4: IPv4Address { IPv4Address(UInt32(truncatingIfNeeded: low)) }
}

/// An IPv4 or IPv6 address.
public enum IPAddress: Sendable, Hashable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// A numeric address in the strict forms a resolver prints (`10.0.0.1`, `::ffff:127.0.0.1`,
    /// brackets allowed around IPv6); nil for anything else, zone ids included.
    public init?(numeric text: some StringProtocol) {
        var t = Substring(text)
        if t.hasPrefix("["), t.hasSuffix("]") { t = t.dropFirst().dropLast() }
        if let v4 = IPv4Address(dotted: t) {
            self = .v4(v4)
        } else if t.contains(":"), let v6 = IPv6Address(text: t) {
            self = .v6(v6)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .v4(let a): a.description
        case .v6(let a): a.description
        }
    }
}
