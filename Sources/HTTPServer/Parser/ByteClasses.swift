// Character classes from RFC 9110 §5.6.2 (tchar), §5.5 (field-vchar) and RFC 3986 (visible ASCII
// for the request-target), as bit sets so the hot loops do one shift and one AND per byte.

let CR: UInt8 = 13
let LF: UInt8 = 10
let SP: UInt8 = 32
let HTAB: UInt8 = 9

private func mask(_ chars: String) -> (UInt64, UInt64) {
    var low: UInt64 = 0, high: UInt64 = 0
    for c in chars.utf8 {
        if c < 64 { low |= 1 << UInt64(c) } else { high |= 1 << UInt64(c - 64) }
    }
    return (low, high)
}

private let tcharMask = mask("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

/// token = 1*tchar
@inline(__always) func isTokenChar(_ c: UInt8) -> Bool {
    if c < 64 { return tcharMask.0 & (1 << UInt64(c)) != 0 }
    if c < 128 { return tcharMask.1 & (1 << UInt64(c &- 64)) != 0 }
    return false
}

/// field-value characters: VCHAR, obs-text, SP, HTAB (no CTLs, no DEL).
@inline(__always) func isFieldValueChar(_ c: UInt8) -> Bool {
    (c >= 0x20 && c != 0x7F) || c == HTAB
}

/// request-target characters: visible ASCII only (no spaces, controls or raw non-ASCII).
@inline(__always) func isTargetChar(_ c: UInt8) -> Bool {
    c > 0x20 && c < 0x7F
}

@inline(__always) func hexValue(_ c: UInt8) -> Int? {
    switch c {
    case 0x30...0x39: Int(c - 0x30)
    case 0x41...0x46: Int(c - 0x41 + 10)
    case 0x61...0x66: Int(c - 0x61 + 10)
    default: nil
    }
}

/// ASCII case-insensitive comparison of raw bytes with a lowercase literal.
@inline(__always) func bytesEqualLowercase(_ bytes: UnsafeRawBufferPointer, _ lower: StaticString) -> Bool {
    guard bytes.count == lower.utf8CodeUnitCount else { return false }
    let l = lower.utf8Start
    for i in 0..<bytes.count where asciiLower(bytes[i]) != l[i] { return false }
    return true
}
