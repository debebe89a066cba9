import HTTPClientCodec

/// The address blocks an outgoing request to a user-given URL must not reach: IANA's IPv4 and
/// IPv6 Special-Purpose Address Registries (RFC 6890 and its successors) where they are not
/// globally reachable, plus multicast, broadcast, the cloud metadata endpoints, and — for IPv6 —
/// anything outside 2000::/3. Forms that embed an IPv4 address (IPv4-mapped, NAT64, 6to4) are
/// judged by the address they embed.
public enum SpecialAddresses {
    public typealias Rule = OutboundRefusal.Rule

    /// How a block carries an IPv4 address inside an IPv6 one.
    enum Embedding: Sendable {
        /// The last 32 bits (IPv4-mapped `::ffff:0:0/96`, NAT64 `64:ff9b::/96`).
        case last32
        /// Bits 16–47 (6to4, `2002::/16`).
        case sixToFour
    }

    public struct Block: Sendable {
        public let network: IPNetwork
        public let name: String
        /// nil: the block is refused only for what it embeds (or not at all, see `embedding`).
        public let rule: Rule?
        let embedding: Embedding?
    }

    /// The verdict for one address: the block that refuses it and, for an embedded IPv4 address,
    /// the forms it was reached through (outermost first).
    public struct Verdict: Sendable, Equatable {
        public var rule: Rule
        public var block: String
        public var blockName: String
        public var address: IPAddress
        public var embeddedIn: [String]

        /// `127.0.0.1 is in 127.0.0.0/8 (loopback)`; an embedded address says where it came from.
        public var description: String {
            let inner = "\(address) is in \(block) (\(blockName))"
            guard !embeddedIn.isEmpty else { return inner }
            return embeddedIn.joined(separator: ", which ") + " embeds " + inner.replacing(" is in ", with: ", which is in ")
        }
    }

    static func block(_ cidr: String, _ name: String, _ rule: Rule?, embedding: Embedding? = nil) -> Block {
        Block(network: IPNetwork(cidr: cidr)!, name: name, rule: rule, embedding: embedding)
    }

    /// Most specific first: the first block containing an address decides.
    public static let ipv4: [Block] = [
        block("169.254.169.254/32", "cloud metadata (AWS, GCP, Azure, OpenStack)", .cloudMetadata),
        block("169.254.170.2/32", "cloud metadata (AWS ECS task)", .cloudMetadata),
        block("100.100.100.200/32", "cloud metadata (Alibaba Cloud)", .cloudMetadata),
        block("192.0.0.192/32", "cloud metadata (Oracle Cloud)", .cloudMetadata),
        block("0.0.0.0/8", "unspecified (\"this network\")", .unspecified),
        block("10.0.0.0/8", "private-use", .private),
        block("100.64.0.0/10", "shared (carrier-grade NAT)", .cgnat),
        block("127.0.0.0/8", "loopback", .loopback),
        block("169.254.0.0/16", "link-local", .linkLocal),
        block("172.16.0.0/12", "private-use", .private),
        block("192.0.0.0/24", "IETF protocol assignment", .reserved),
        block("192.0.2.0/24", "documentation (TEST-NET-1)", .documentation),
        block("192.88.99.0/24", "deprecated 6to4 relay anycast", .reserved),
        block("192.168.0.0/16", "private-use", .private),
        block("198.18.0.0/15", "benchmarking", .benchmarking),
        block("198.51.100.0/24", "documentation (TEST-NET-2)", .documentation),
        block("203.0.113.0/24", "documentation (TEST-NET-3)", .documentation),
        block("224.0.0.0/4", "multicast", .multicast),
        block("255.255.255.255/32", "limited broadcast", .broadcast),
        block("240.0.0.0/4", "reserved (future use)", .reserved),
    ]

    public static let ipv6: [Block] = [
        block("::/128", "unspecified", .unspecified),
        block("::1/128", "loopback", .loopback),
        block("::ffff:0:0/96", "IPv4-mapped", nil, embedding: .last32),
        block("::ffff:0:0:0/96", "IPv4-translated", .reserved),
        block("::/96", "deprecated IPv4-compatible", .reserved),
        block("64:ff9b::/96", "NAT64", nil, embedding: .last32),
        block("64:ff9b:1::/48", "local-use NAT64", .private),
        block("100::/64", "discard-only", .reserved),
        block("2001::/32", "Teredo", .reserved),
        block("2001:2::/48", "benchmarking", .benchmarking),
        block("2001:10::/28", "deprecated ORCHID", .reserved),
        block("2001:db8::/32", "documentation", .documentation),
        block("2001::/23", "IETF protocol assignment", .reserved),
        block("2002::/16", "6to4", nil, embedding: .sixToFour),
        block("3fff::/20", "documentation", .documentation),
        block("5f00::/16", "segment routing (SRv6) SID", .reserved),
        block("fd00:ec2::254/128", "cloud metadata (AWS)", .cloudMetadata),
        block("fc00::/7", "unique local", .private),
        block("fe80::/10", "link-local", .linkLocal),
        block("fec0::/10", "deprecated site-local", .private),
        block("ff00::/8", "multicast", .multicast),
    ]

    /// Only 2000::/3 is global unicast; the rest of the IPv6 space is unassigned or special.
    static let globalUnicast = IPNetwork(cidr: "2000::/3")!

    /// nil when the address may be reached; otherwise why not.
    public static func verdict(for address: IPAddress) -> Verdict? {
        switch address {
        case .v4(let a):
            guard let b = ipv4.first(where: { $0.network.contains(address) }), let rule = b.rule else { return nil }
            return Verdict(rule: rule, block: b.network.description, blockName: b.name, address: .v4(a), embeddedIn: [])
        case .v6(let a):
            if let b = ipv6.first(where: { $0.network.contains(address) }) {
                if let embedding = b.embedding {
                    let inner = switch embedding {
                    case .last32: a.lastIPv4
                    case .sixToFour: IPv4Address(UInt32(truncatingIfNeeded: a.high >> 16))
                    }
                    guard var v = verdict(for: .v4(inner)) else { return nil }
                    v.embeddedIn.insert("\(a) (\(b.name) \(b.network))", at: 0)
                    return v
                }
                return Verdict(rule: b.rule!, block: b.network.description, blockName: b.name, address: address, embeddedIn: [])
            }
            if !globalUnicast.contains(address) {
                return Verdict(rule: .reserved, block: "outside 2000::/3", blockName: "non-global-unicast", address: address, embeddedIn: [])
            }
            return nil
        }
    }
}
