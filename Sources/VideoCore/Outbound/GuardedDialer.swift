import HTTPClientCodec
import HTTPFetch
import Reactor

/// The dialer for user-given URLs: checks the URL, looks its name up (getaddrinfo on a Dispatch
/// worker, off the event loop), checks every address it got, and returns exactly those — which
/// `HTTPFetcher` then connects to without a second lookup, so a name that changes its answer
/// between check and connection (DNS rebinding) reaches nothing new. Used for every hop of a
/// redirect chain.
public struct GuardedDialer: HTTPDialer {
    public typealias Resolver = @Sendable (_ host: String, _ port: Int) async throws -> [SocketAddress]

    public let policy: OutboundPolicy
    let resolve: Resolver

    public init(policy: OutboundPolicy, resolve: @escaping Resolver = { try await SocketAddress.resolve(host: $0, port: $1) }) {
        self.policy = policy
        self.resolve = resolve
    }

    public func addresses(for url: HTTPURL) async throws -> [SocketAddress] {
        try policy.check(url)
        if let literal = url.host.address {
            // Checked above; connect to it as written.
            return [SocketAddress(ipAddress: literal.description, port: url.port)!]
        }
        let found = try await resolve(url.host.nameForLookup, url.port)
        var addresses: [IPAddress] = []
        for socketAddress in found {
            guard let address = IPAddress(numeric: socketAddress.host) else {
                throw OutboundRefusal(.invalidURL, "\(url.host.nameForLookup) resolved to \(socketAddress.host), which is not an IP address")
            }
            addresses.append(address)
        }
        try policy.check(url, resolved: addresses)
        return found
    }
}
