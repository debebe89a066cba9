import HTTPClientCodec

/// Why the SSRF guard refused a URL: the rule (a stable name for clients, logs and metrics) and
/// a sentence a person can act on.
public struct OutboundRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Rule: String, Sendable, CaseIterable {
        /// Not http or https.
        case scheme
        /// Not a URL this guard understands (see `HTTPURLError`).
        case invalidURL = "invalid_url"
        /// `user:password@` in the URL.
        case userinfo
        /// `localhost` and `*.localhost` (RFC 6761): loopback by definition, never looked up.
        case localName = "local_name"
        // The kinds of special address (`SpecialAddresses`):
        case unspecified, loopback
        case `private`
        case linkLocal = "link_local"
        case cgnat
        case cloudMetadata = "cloud_metadata"
        case multicast, broadcast, documentation, benchmarking, reserved
    }

    public var rule: Rule
    public var message: String

    public init(_ rule: Rule, _ message: String) {
        self.rule = rule
        self.message = message
    }

    public var description: String { "refused (rule \(rule.rawValue)): \(message)" }
}
