/// Why a URL was not accepted.
public enum HTTPURLError: Error, Sendable, Hashable, CustomStringConvertible {
    case empty
    case tooLong(limit: Int)
    /// No `scheme:` (a relative reference where an absolute URL is needed).
    case notAbsolute
    case unsupportedScheme(String)
    /// `http:host` or `http:/host`: accepted by browsers, refused here.
    case missingSlashes
    case controlCharacter
    case backslash
    case emptyHost
    case invalidHost(String, String)
    case internationalizedHost(String)
    case invalidPort(String)

    public var description: String {
        switch self {
        case .empty: "the URL is empty"
        case .tooLong(let limit): "the URL is longer than \(limit) bytes"
        case .notAbsolute: "not an absolute URL (it must start with http:// or https://)"
        case .unsupportedScheme(let s): "scheme \(s) is not supported (only http and https)"
        case .missingSlashes: "the scheme must be followed by // and the host"
        case .controlCharacter: "the URL contains a control character, a tab or a line break"
        case .backslash: "the URL contains a backslash"
        case .emptyHost: "the URL has no host"
        case .invalidHost(let host, let why): "invalid host \(host): \(why)"
        case .internationalizedHost(let host): "host \(host) is not ASCII: write it in its xn-- (punycode) form"
        case .invalidPort(let p): "invalid port \(p)"
        }
    }
}

/// An absolute http or https URL, parsed strictly: the WHATWG URL standard's host parsing (so
/// the host is what any browser or library would connect to), and a refusal for what a browser
/// would silently repair (backslashes, missing slashes, tabs and line breaks inside).
///
/// The path and query are kept percent-encoded, ready for a request line; the fragment is
/// dropped (it never goes on the wire).
public struct HTTPURL: Sendable, Hashable, CustomStringConvertible {
    public enum Scheme: String, Sendable, Hashable {
        case http, https
        public var defaultPort: Int { self == .http ? 80 : 443 }
    }

    public var scheme: Scheme
    /// `user:password` before `@`, as written (nil when absent).
    public var userinfo: String?
    public var host: HTTPHost
    /// The port written in the URL, nil when absent or the scheme's default.
    public var explicitPort: Int?
    /// Starts with `/`; dot segments removed.
    public var path: String
    /// Without the `?`.
    public var query: String?

    /// The longest URL accepted, in bytes: as written, and as serialized (`description`, the
    /// request target), which percent-encoding can make up to three times longer.
    public static let maximumLength = 8192

    public var port: Int { explicitPort ?? scheme.defaultPort }
    public var isSecure: Bool { scheme == .https }
    /// The request target (origin form).
    public var target: String { query.map { path + "?" + $0 } ?? path }
    /// The Host header's value.
    public var hostHeader: String { explicitPort.map { "\(host):\($0)" } ?? host.description }
    /// `scheme://host[:port]`.
    public var origin: String { "\(scheme.rawValue)://\(hostHeader)" }
    /// The URL without its userinfo (what may be logged or shown).
    public var description: String { origin + target }

    public init(scheme: Scheme, userinfo: String? = nil, host: HTTPHost, port: Int? = nil, path: String = "/", query: String? = nil) {
        self.scheme = scheme
        self.userinfo = userinfo
        self.host = host
        self.explicitPort = port == scheme.defaultPort ? nil : port
        self.path = path
        self.query = query
    }

    /// Parses an absolute http(s) URL. Leading and trailing spaces are ignored.
    public init(_ text: String) throws(HTTPURLError) {
        var bytes = Array(text.utf8)[...]
        while let f = bytes.first, f <= 0x20 { bytes = bytes.dropFirst() }
        while let l = bytes.last, l <= 0x20 { bytes = bytes.dropLast() }
        guard !bytes.isEmpty else { throw .empty }
        guard bytes.count <= Self.maximumLength else { throw .tooLong(limit: Self.maximumLength) }
        if bytes.contains(where: { $0 < 0x20 || $0 == 0x7f }) { throw .controlCharacter }
        guard let scheme = Self.schemeOf(bytes) else { throw .notAbsolute }
        guard let known = Scheme(rawValue: scheme) else { throw .unsupportedScheme(scheme) }
        if bytes.contains(UInt8(ascii: "\\")) { throw .backslash }
        var rest = bytes.dropFirst(scheme.utf8.count + 1)
        guard rest.starts(with: "//".utf8) else { throw .missingSlashes }
        rest = rest.dropFirst(2)
        if let hash = rest.firstIndex(of: UInt8(ascii: "#")) { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        let afterAuthority = rest[authorityEnd...]

        var userinfo: String?
        if let at = authority.lastIndex(of: UInt8(ascii: "@")) {
            userinfo = String(decoding: authority[..<at], as: UTF8.self)
            authority = authority[(at + 1)...]
        }
        if authority.contains(0x20) { throw .invalidHost(String(decoding: authority, as: UTF8.self), "contains a space") }
        // The host ends at the first `:` outside brackets.
        var hostEnd = authority.endIndex
        var inBrackets = false
        for i in authority.indices {
            let b = authority[i]
            if b == UInt8(ascii: "[") { inBrackets = true }
            if b == UInt8(ascii: "]") { inBrackets = false }
            if b == UInt8(ascii: ":") && !inBrackets { hostEnd = i; break }
        }
        let hostText = String(decoding: authority[..<hostEnd], as: UTF8.self)
        guard !hostText.isEmpty else { throw .emptyHost }
        let host = try HTTPHost.parse(hostText)
        var port: Int?
        if hostEnd < authority.endIndex {
            let portBytes = authority[(hostEnd + 1)...]
            if !portBytes.isEmpty {
                let portText = String(decoding: portBytes, as: UTF8.self)
                guard portBytes.allSatisfy({ $0 >= 48 && $0 <= 57 }), portBytes.count <= 5,
                      let n = Int(portText), (1...65535).contains(n) else { throw .invalidPort(portText) }
                port = n
            }
        }
        var pathBytes = afterAuthority
        var query: String?
        if let q = afterAuthority.firstIndex(of: UInt8(ascii: "?")) {
            pathBytes = afterAuthority[..<q]
            query = Self.percentEncode(afterAuthority[(q + 1)...], keepingQuote: false)
        }
        let path = Self.removeDotSegments(Self.percentEncode(pathBytes, keepingQuote: true))
        self.init(scheme: known, userinfo: userinfo, host: host, port: port, path: path.isEmpty ? "/" : path, query: query)
        // The limit holds for the form the URL is used in, or a URL could be accepted whose own
        // text (request line, redirect target, what the SSRF guard re-checks) is refused.
        guard description.utf8.count <= Self.maximumLength else { throw .tooLong(limit: Self.maximumLength) }
    }

    /// A `Location` value (absolute, scheme-relative, absolute-path, relative-path or
    /// query-only) resolved against this URL, as RFC 3986 §5.2 and browsers do. The result is
    /// parsed as strictly as any URL; credentials are never carried over.
    public func resolving(_ reference: String) throws(HTTPURLError) -> HTTPURL {
        var ref = Substring(reference)
        while let f = ref.first, f == " " || f == "\t" { ref = ref.dropFirst() }
        while let l = ref.last, l == " " || l == "\t" { ref = ref.dropLast() }
        if let hash = ref.firstIndex(of: "#") { ref = ref[..<hash] }
        if Self.schemeOf(Array(ref.utf8)[...]) != nil { return try HTTPURL(String(ref)) }
        if ref.hasPrefix("//") { return try HTTPURL(scheme.rawValue + ":" + ref) }
        if ref.hasPrefix("/") { return try HTTPURL(origin + ref) }
        if ref.isEmpty { return try HTTPURL(origin + path + (query.map { "?" + $0 } ?? "")) }
        if ref.hasPrefix("?") { return try HTTPURL(origin + path + ref) }
        let directory = path[...path.lastIndex(of: "/")!]
        return try HTTPURL(origin + directory + ref)
    }

    // MARK: helpers

    /// The scheme (lower-cased) when `bytes` starts with `alpha *( alpha / digit / + / - / . ) :`.
    static func schemeOf(_ bytes: ArraySlice<UInt8>) -> String? {
        guard let first = bytes.first, (first | 0x20) >= 97, (first | 0x20) <= 122 else { return nil }
        for i in bytes.indices {
            let b = bytes[i]
            if b == UInt8(ascii: ":") { return String(decoding: bytes[..<i].map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self) }
            let ok = ((b | 0x20) >= 97 && (b | 0x20) <= 122) || (b >= 48 && b <= 57)
                || b == UInt8(ascii: "+") || b == UInt8(ascii: "-") || b == UInt8(ascii: ".")
            if !ok { return nil }
        }
        return nil
    }

    /// Percent-encodes spaces, `"`, `<`, `>`, `` ` ``, `{`, `}` and non-ASCII bytes (the WHATWG
    /// path set; the query set also encodes `'`). An existing `%XX` is kept.
    static func percentEncode(_ bytes: ArraySlice<UInt8>, keepingQuote: Bool) -> String {
        var out = ""
        out.reserveCapacity(bytes.count)
        for b in bytes {
            let encode = b <= 0x20 || b >= 0x7f || b == UInt8(ascii: "\"") || b == UInt8(ascii: "<") || b == UInt8(ascii: ">")
                || b == UInt8(ascii: "`") || b == UInt8(ascii: "{") || b == UInt8(ascii: "}")
                || (!keepingQuote && b == UInt8(ascii: "'"))
            if encode {
                out += "%" + String(b >> 4, radix: 16, uppercase: true) + String(b & 0xf, radix: 16, uppercase: true)
            } else {
                out.unicodeScalars.append(Unicode.Scalar(b))
            }
        }
        return out
    }

    /// RFC 3986 §5.2.4, with `%2e` read as `.` as the WHATWG standard does.
    static func removeDotSegments(_ path: String) -> String {
        guard path.hasPrefix("/") else { return path }
        var output: [Substring] = []
        let segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        for (i, segment) in segments.enumerated() {
            let lower = segment.lowercased()
            let isLast = i == segments.count - 1
            if lower == "." || lower == "%2e" {
                if isLast { output.append("") }
            } else if lower == ".." || lower == ".%2e" || lower == "%2e." || lower == "%2e%2e" {
                if !output.isEmpty { output.removeLast() }
                if isLast { output.append("") }
            } else {
                output.append(segment)
            }
        }
        return "/" + output.joined(separator: "/")
    }
}
