import Reactor

/// Percent-encoding as SigV4 defines it: every byte outside RFC 3986's unreserved set
/// (`A-Z a-z 0-9 - _ . ~`) becomes `%XX` with upper-case hex, applied once to the UTF-8 bytes.
///
/// The same encoding is used on the wire and in the canonical request, so what is signed is
/// exactly what is sent (soto #601: a key with `@` signed one way and sent another).
public enum URIEncoding {
    private static let hex: [UInt8] = Array("0123456789ABCDEF".utf8)

    private static let unreservedTable: [Bool] = {
        var t = [Bool](repeating: false, count: 256)
        for c in UInt8(ascii: "A")...UInt8(ascii: "Z") { t[Int(c)] = true }
        for c in UInt8(ascii: "a")...UInt8(ascii: "z") { t[Int(c)] = true }
        for c in UInt8(ascii: "0")...UInt8(ascii: "9") { t[Int(c)] = true }
        for c in "-_.~".utf8 { t[Int(c)] = true }
        return t
    }()

    @inline(__always)
    static func isUnreserved(_ b: UInt8) -> Bool { unreservedTable[Int(b)] }

    /// Appends `text` encoded; with `keepSlash`, `/` stays literal (for paths).
    static func append(_ text: some StringProtocol, to out: inout [UInt8], keepSlash: Bool) {
        for b in text.utf8 {
            if unreservedTable[Int(b)] || (keepSlash && b == UInt8(ascii: "/")) {
                out.append(b)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0x0f)])
            }
        }
    }

    /// Encodes a query name or value (everything but the unreserved set, including `/`).
    public static func encode(_ text: some StringProtocol) -> String {
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count)
        append(text, to: &out, keepSlash: false)
        return String(decoding: out, as: UTF8.self)
    }

    /// Encodes a decoded path: each `/`-separated segment encoded once, slashes kept.
    /// Nothing is normalized (`.`, `..` and `//` are meaningful in S3 keys).
    public static func encodePath(_ path: some StringProtocol) -> String {
        var out = [UInt8]()
        out.reserveCapacity(path.utf8.count)
        append(path, to: &out, keepSlash: true)
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes `%XX` sequences (and nothing else: `+` stays `+`). Nil on a malformed escape or
    /// invalid UTF-8.
    public static func decode(_ text: some StringProtocol) -> String? {
        let s = Array(text.utf8)
        var out = [UInt8]()
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            if s[i] == UInt8(ascii: "%") {
                guard i + 2 < s.count, let v = Hex.decodeByte(s[i + 1], s[i + 2]) else { return nil }
                out.append(v)
                i += 3
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return String(validating: out, as: UTF8.self)
    }
}

extension Hex {
    static func decodeByte(_ hi: UInt8, _ lo: UInt8) -> UInt8? {
        func nib(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        guard let h = nib(hi), let l = nib(lo) else { return nil }
        return h << 4 | l
    }
}
