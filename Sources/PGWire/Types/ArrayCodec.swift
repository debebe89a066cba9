// One-dimensional arrays, binary and text.

extension Array: PGEncodable where Element: PGArrayElement {
    public static var pgType: PGOID { Element.pgArrayType }
    public static var pgFormat: PGFormat { .binary }

    public func encode(into out: inout [UInt8]) throws(PGError) {
        // Elements are written in binary; for String (the only text-format encoder) the binary
        // form of `text` is the same UTF-8 bytes.
        let hasNull = contains { !$0.isNotNull }
        out.appendBigEndian(Int32(isEmpty ? 0 : 1))
        out.appendBigEndian(Int32(hasNull ? 1 : 0))
        out.appendBigEndian(Int32(bitPattern: Element.pgElementType.rawValue))
        if isEmpty { return }
        out.appendBigEndian(Int32(count))
        out.appendBigEndian(Int32(1))  // lower bound
        for e in self {
            guard e.isNotNull else { out += [0xff, 0xff, 0xff, 0xff]; continue }
            let at = out.count
            out += [0, 0, 0, 0]
            try e.encode(into: &out)
            let n = UInt32(out.count - at - 4)
            out[at] = UInt8(n >> 24); out[at + 1] = UInt8(n >> 16 & 0xff); out[at + 2] = UInt8(n >> 8 & 0xff); out[at + 3] = UInt8(n & 0xff)
        }
    }
}

extension Array: PGDecodable where Element: PGDecodable {
    public static func decode(from value: PGValue) throws(PGError) -> [Element] {
        let b = try value.nonNull()
        return value.format == .binary ? try decodeBinary(b, value) : try decodeText(b, value)
    }

    static func decodeBinary(_ b: UnsafeRawBufferPointer, _ value: PGValue) throws(PGError) -> [Element] {
        guard b.count >= 12 else { throw value.failure("array header of \(b.count) bytes") }
        let ndim = value.bigEndian(Int32.self, b, at: 0)
        let elementType = PGOID(rawValue: value.bigEndian(UInt32.self, b, at: 8))
        if ndim == 0 { return [] }
        guard ndim == 1 else { throw value.failure("\(ndim)-dimensional arrays are not supported") }
        guard b.count >= 20 else { throw value.failure("array header of \(b.count) bytes") }
        let count = Int(value.bigEndian(Int32.self, b, at: 12))
        // Each element needs at least its 4-byte length: bound the count by the bytes present.
        guard count >= 0, count <= (b.count - 20) / 4 else { throw value.failure("array count \(count)") }
        var out = [Element]()
        out.reserveCapacity(count)
        var at = 20
        for _ in 0..<count {
            guard at + 4 <= b.count else { throw value.failure("truncated array") }
            let len = Int(value.bigEndian(Int32.self, b, at: at))
            at += 4
            if len < 0 {
                out.append(try Element.decode(from: PGValue(bytes: nil, type: elementType, format: .binary)))
            } else {
                guard at + len <= b.count else { throw value.failure("truncated array element") }
                let e = UnsafeRawBufferPointer(rebasing: b[at..<(at + len)])
                out.append(try Element.decode(from: PGValue(bytes: e, type: elementType, format: .binary)))
                at += len
            }
        }
        guard at == b.count else { throw value.failure("trailing bytes after array") }
        return out
    }

    /// "{1,2,NULL,\"a b\",\"q\\\"x\"}" (optionally prefixed by "[lo:hi]=").
    static func decodeText(_ b: UnsafeRawBufferPointer, _ value: PGValue) throws(PGError) -> [Element] {
        let elementType = value.type.arrayElementType ?? .unknown
        var i = 0
        if b.first == UInt8(ascii: "[") {
            while i < b.count && b[i] != UInt8(ascii: "=") { i += 1 }
            i += 1
        }
        guard i < b.count, b[i] == UInt8(ascii: "{"), b.last == UInt8(ascii: "}") else { throw value.failure("array text must be {…}") }
        i += 1
        let end = b.count - 1
        var out = [Element]()
        if i == end { return out }
        while i <= end {
            var item = [UInt8]()
            var quoted = false
            if b[i] == UInt8(ascii: "{") { throw value.failure("multi-dimensional arrays are not supported") }
            if b[i] == UInt8(ascii: "\"") {
                quoted = true
                i += 1
                while i < end && b[i] != UInt8(ascii: "\"") {
                    if b[i] == UInt8(ascii: "\\") { i += 1; guard i < end else { break } }
                    item.append(b[i]); i += 1
                }
                guard i < end else { throw value.failure("unterminated quoted array element") }
                i += 1
            } else {
                while i < end && b[i] != UInt8(ascii: ",") {
                    if b[i] == UInt8(ascii: "\\") { i += 1; guard i < end else { break } }
                    item.append(b[i]); i += 1
                }
            }
            let isNull = !quoted && item.count == 4 && String(decoding: item, as: UTF8.self).uppercased() == "NULL"
            if isNull {
                out.append(try Element.decode(from: PGValue(bytes: nil, type: elementType, format: .text)))
            } else {
                let r: Result<Element, PGError> = item.withUnsafeBytes { raw in
                    do throws(PGError) { return .success(try Element.decode(from: PGValue(bytes: raw, type: elementType, format: .text))) } catch { return .failure(error) }
                }
                out.append(try r.get())
            }
            if i == end { break }
            guard b[i] == UInt8(ascii: ",") else { throw value.failure("expected , in array text") }
            i += 1
        }
        return out
    }
}
