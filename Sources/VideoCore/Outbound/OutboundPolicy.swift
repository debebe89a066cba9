import HTTPClientCodec

/// The SSRF guard's decision, as a pure function: URL text → parsed URL → (after a lookup the
/// caller does) its addresses → allowed, or the rule that refused. No I/O here, so every rule is
/// tested with vectors; `GuardedDialer` adds the lookup and hands `HTTPFetcher` exactly the
/// addresses that passed.
///
/// Refused unless `allowList` admits them: schemes other than http and https, credentials in
/// the URL, `localhost` names, and every address in `SpecialAddresses` (loopback, private,
/// link-local, CGNAT, multicast, unspecified, cloud metadata, documentation, reserved…),
/// written in any form a URL parser accepts. Every address a name resolves to must pass: one
/// refused address refuses the URL (a name that resolves to a public and a private address is
/// a classic rebinding setup).
public struct OutboundPolicy: Sendable, Equatable {
    public var allowList: OutboundAllowList

    public init(allowList: OutboundAllowList = OutboundAllowList()) {
        self.allowList = allowList
    }

    /// Parses `text` and applies every rule that needs no lookup.
    public func check(text: String) throws(OutboundRefusal) -> HTTPURL {
        let url: HTTPURL
        do {
            url = try HTTPURL(text)
        } catch {
            if case .unsupportedScheme(let scheme) = error {
                throw OutboundRefusal(.scheme, "scheme \(scheme) is not allowed: only http and https URLs can be fetched")
            }
            throw OutboundRefusal(.invalidURL, error.description)
        }
        try check(url)
        return url
    }

    /// The rules that need no lookup: credentials, local names, literal addresses.
    public func check(_ url: HTTPURL) throws(OutboundRefusal) {
        // The host first: `http://good@127.0.0.1/` is refused for where it points.
        switch url.host {
        case .domain:
            let name = url.host.nameForLookup
            if (name == "localhost" || name.hasSuffix(".localhost")) && !allowList.admits(name: name) {
                throw OutboundRefusal(.localName, "\(name) is a loopback name (RFC 6761)" + Self.hint)
            }
        case .ipv4(let a):
            try check(address: .v4(a), of: url)
        case .ipv6(let a):
            try check(address: .v6(a), of: url)
        }
        if url.userinfo != nil {
            throw OutboundRefusal(.userinfo, "credentials in the URL (user:password@) are not accepted")
        }
    }

    /// Every address the host resolved to must pass (a listed host name admits them all).
    public func check(_ url: HTTPURL, resolved: [IPAddress]) throws(OutboundRefusal) {
        try check(url)
        if case .domain = url.host, allowList.admits(name: url.host.nameForLookup) { return }
        for address in resolved { try check(address: address, of: url) }
    }

    /// The whole decision for vectors: text and the addresses a lookup would return.
    public func decide(text: String, resolved: [IPAddress]) -> Result<HTTPURL, OutboundRefusal> {
        do {
            let url = try check(text: text)
            try check(url, resolved: resolved)
            return .success(url)
        } catch {
            return .failure(error)
        }
    }

    private func check(address: IPAddress, of url: HTTPURL) throws(OutboundRefusal) {
        guard !allowList.admits(address), let verdict = SpecialAddresses.verdict(for: address) else { return }
        let subject = url.host.address == nil ? "\(url.host.nameForLookup) resolves to \(address): " : ""
        throw OutboundRefusal(verdict.rule, subject + verdict.description + Self.hint)
    }

    static let hint = "; an operator can admit it with VIDD_INGEST_ALLOW"
}
