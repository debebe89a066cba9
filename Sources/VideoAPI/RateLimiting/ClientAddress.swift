import HTTPClientCodec
import VideoCore

/// Who sent a request, for rate limiting: the peer's address — or, when the peer is a
/// configured trusted proxy, the right-most `X-Forwarded-For` address that is not one (the
/// entries left of it were written by whoever the client is, and can be anything).
enum ClientAddress {
    static func resolve(peer rawPeer: IPAddress?, forwardedFor: [String], trustedProxies: [IPNetwork]) -> IPAddress? {
        let peer = rawPeer.map(unmapped)
        guard let peer, isTrusted(peer, trustedProxies) else { return peer }
        var nearest = peer
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }
        for raw in hops.reversed() {
            // A malformed entry ends what can be known: the last trusted hop stands for the client.
            guard let hop = parseHop(String(raw).trimmingBlanks()).map(unmapped) else { return nearest }
            if !isTrusted(hop, trustedProxies) { return hop }
            nearest = hop
        }
        return nearest
    }

    /// The peer as `Connection.remoteAddress` prints it: `1.2.3.4:5678` or `[::1]:5678`.
    static func peer(_ remote: String?) -> IPAddress? {
        guard let remote else { return nil }
        if remote.hasPrefix("["), let close = remote.firstIndex(of: "]") {
            return IPAddress(numeric: remote[remote.index(after: remote.startIndex)..<close])
        }
        return IPAddress(numeric: remote.split(separator: ":").first ?? "")
    }

    /// `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]:80`.
    static func parseHop(_ text: String) -> IPAddress? {
        if let a = IPAddress(numeric: text) { return a }
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            return IPAddress(numeric: text[text.index(after: text.startIndex)..<close])
        }
        let parts = text.split(separator: ":")
        if parts.count == 2, parts[1].allSatisfy(\.isNumber), case .v4(let a)? = IPAddress(numeric: parts[0]) { return .v4(a) }
        return nil
    }

    /// An IPv4 client of a dual-stack listener (`[::]`) arrives as `::ffff:a.b.c.d`; it is that
    /// IPv4 address, for the trusted proxies (written as IPv4) and for its budget alike.
    static func unmapped(_ address: IPAddress) -> IPAddress {
        guard case .v6(let a) = address, a.high == 0, a.low >> 32 == 0xFFFF else { return address }
        return .v4(IPv4Address(UInt32(truncatingIfNeeded: a.low)))
    }

    static func isTrusted(_ address: IPAddress, _ networks: [IPNetwork]) -> Bool {
        networks.contains { $0.contains(address) }
    }
}
