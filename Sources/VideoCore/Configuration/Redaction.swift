/// Hides secrets before a value reaches a log line or an error message.
public struct Redactor: Sendable {
    public static let mask = "***"
    private let secrets: [String]

    /// `secrets`: literal values (passwords, keys, tokens) to mask wherever they appear.
    public init(secrets: [String] = []) {
        // Longest first, so a secret that contains another is masked whole. Very short values
        // (≤ 3 characters) would mask innocent text, so they are only hidden inside URLs.
        self.secrets = Set(secrets.filter { $0.count > 3 }).sorted { $0.count > $1.count }
    }

    public func redact(_ text: String) -> String {
        var out = Self.redactURLPasswords(in: text)
        for secret in secrets where out.contains(secret) {
            out = out.replacing(secret, with: Self.mask)
        }
        return out
    }

    /// `scheme://user:password@host` → `scheme://user:***@host`, and `…password=secret` query
    /// parameters (`password=`, `sentinel_password=`) → `…password=***`, anywhere in `text`.
    public static func redactURLPasswords(in text: String) -> String {
        redactPasswordParameters(in: redactUserinfoPasswords(in: text))
    }

    static func redactPasswordParameters(in text: String) -> String {
        guard text.contains("password=") else { return text }
        var out = ""
        var rest = Substring(text)
        while let r = rest.firstRange(of: "password=") {
            out += rest[..<r.upperBound]
            rest = rest[r.upperBound...]
            let end = rest.firstIndex { $0 == "&" || $0 == " " || $0 == "\"" || $0 == "\n" || $0 == "#" } ?? rest.endIndex
            if end > rest.startIndex { out += mask }
            rest = rest[end...]
        }
        return out + rest
    }

    static func redactUserinfoPasswords(in text: String) -> String {
        guard text.contains("://") else { return text }
        var out = ""
        var rest = Substring(text)
        while let sep = rest.firstRange(of: "://") {
            out += rest[..<sep.upperBound]
            rest = rest[sep.upperBound...]
            // Userinfo ends at the last '@' before the authority ends.
            let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" || $0 == " " || $0 == "\"" || $0 == "\n" } ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                out += authority[...colon]
                out += mask
                out += authority[at...]
                rest = rest[authorityEnd...]
            }
        }
        out += rest
        return out
    }
}
