import HTTPClientCodec

/// What `VIDD_INGEST_ALLOW` admits past the SSRF guard: address blocks (`10.1.0.0/16`,
/// `127.0.0.2/32`, `fd00::/8`, a bare address) and exact host names (`minio.internal`). A listed
/// name is reached whatever it resolves to; a listed block admits addresses inside it — also
/// through the IPv4-mapped form of an IPv4 address.
public struct OutboundAllowList: Sendable, Equatable {
    public var networks: [IPNetwork]
    /// Lower case, without a trailing dot.
    public var names: Set<String>

    public init(networks: [IPNetwork] = [], names: Set<String> = []) {
        self.networks = networks
        self.names = names
    }

    public var isEmpty: Bool { networks.isEmpty && names.isEmpty }

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var entry: String
        public var description: String {
            "\(entry) is neither an address block (10.0.0.0/8, fd00::/8, 127.0.0.2) nor a host name"
        }
    }

    /// Comma-separated entries; blanks around them are ignored.
    public init(parsing text: String) throws(ParseError) {
        self.init()
        for raw in text.split(separator: ",") {
            let entry = String(raw).trimmingBlanks()
            if entry.isEmpty { continue }
            if let network = IPNetwork(cidr: entry) {
                networks.append(network)
                continue
            }
            // A name, by the same rules as a URL's host; anything that parses as an address
            // here (127.1, 0x7f000001) was not a valid block above and is refused.
            guard !entry.contains("/"), case .domain(let name)? = try? HTTPHost.parse(entry) else {
                throw ParseError(entry: entry)
            }
            names.insert(name.hasSuffix(".") ? String(name.dropLast()) : name)
        }
    }

    public func admits(name: String) -> Bool { names.contains(name) }

    public func admits(_ address: IPAddress) -> Bool {
        if networks.contains(where: { $0.contains(address) }) { return true }
        if case .v6(let a) = address, IPNetwork(cidr: "::ffff:0:0/96")!.contains(address) {
            return networks.contains { $0.contains(.v4(a.lastIPv4)) }
        }
        return false
    }

    public var description: String {
        (networks.map(\.description) + names.sorted()).joined(separator: ",")
    }
}
