import HTTPClientCodec

/// An address block in CIDR form (`10.0.0.0/8`, `fc00::/7`; a bare address is a /32 or /128).
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    /// `address` is reduced to the block's first address.
    public init?(_ address: IPAddress, prefixLength: Int) {
        switch address {
        case .v4(let a):
            guard (0...32).contains(prefixLength) else { return nil }
            self.address = .v4(IPv4Address(a.value & Self.mask32(prefixLength)))
        case .v6(let a):
            guard (0...128).contains(prefixLength) else { return nil }
            let (h, l) = Self.mask128(prefixLength)
            self.address = .v6(IPv6Address(high: a.high & h, low: a.low & l))
        }
        self.prefixLength = prefixLength
    }

    /// `a.b.c.d/n`, `x::y/n`, or a bare address; strict numeric forms only.
    public init?(cidr text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(numeric: parts[0]) else { return nil }
        var length: Int
        switch address {
        case .v4: length = 32
        case .v6: length = 128
        }
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].utf8.count <= 3, parts[1].utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                  let n = Int(parts[1]) else { return nil }
            length = n
        }
        self.init(address, prefixLength: length)
    }

    public func contains(_ other: IPAddress) -> Bool {
        switch (address, other) {
        case (.v4(let net), .v4(let a)):
            return a.value & Self.mask32(prefixLength) == net.value
        case (.v6(let net), .v6(let a)):
            let (h, l) = Self.mask128(prefixLength)
            return a.high & h == net.high && a.low & l == net.low
        default:
            return false
        }
    }

    public var description: String { "\(address)/\(prefixLength)" }

    static func mask32(_ n: Int) -> UInt32 { n == 0 ? 0 : UInt32.max << (32 - UInt32(n)) }

    static func mask128(_ n: Int) -> (UInt64, UInt64) {
        if n == 0 { return (0, 0) }
        if n <= 64 { return (UInt64.max << (64 - UInt64(n)), 0) }
        return (UInt64.max, n == 128 ? UInt64.max : UInt64.max << (128 - UInt64(n)))
    }
}
