/// Turns a request path into a path relative to a served directory, or nil when it could escape it.
/// Percent-decoding happens first, then every segment is checked: no `..`, no `.`, no encoded `/`
/// or `\`, no NUL; so `/%2e%2e/etc/passwd` and `/a/..%2f..%2f` are refused. (Symlinks are checked
/// separately, against the resolved real path.)
public enum SafePath {
    public static func relativePath(forRequestPath path: Substring) -> String? {
        var segments: [String] = []
        for raw in path.split(separator: "/", omittingEmptySubsequences: true) {
            guard let bytes = percentDecode(raw) else { return nil }
            guard !bytes.isEmpty, !bytes.contains(0), !bytes.contains(0x2F), !bytes.contains(0x5C) else { return nil }
            if bytes == [0x2E] || bytes == [0x2E, 0x2E] { return nil }
            guard let segment = String(validating: bytes, as: UTF8.self) else { return nil }
            segments.append(segment)
        }
        return segments.joined(separator: "/")
    }

    public static func percentDecode(_ s: Substring) -> [UInt8]? {
        var out: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let c = it.popFirst() {
            if c == 0x25 {
                guard it.count >= 2, let h = hexValue(it[it.startIndex]), let l = hexValue(it[it.startIndex + 1]) else { return nil }
                out.append(UInt8(h * 16 + l))
                it = it.dropFirst(2)
            } else {
                out.append(c)
            }
        }
        return out
    }
}
