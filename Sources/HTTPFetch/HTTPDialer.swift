import HTTPClientCodec
import Reactor

/// Decides which addresses a request to `url` may connect to. `HTTPFetcher` asks before every
/// connection — the first and each redirect hop — and connects only to what it returns, in
/// order, never resolving the name again: whatever the dialer checked is what is reached.
///
/// An error thrown here (a refusal, a failed lookup) ends the fetch and is rethrown unchanged,
/// so a policy's own error type reaches the caller.
public protocol HTTPDialer: Sendable {
    func addresses(for url: HTTPURL) async throws -> [SocketAddress]
}

/// Resolves the host and allows every address: for URLs the program itself configured (an
/// object store, a service it trusts), never for URLs a user gave.
public struct SystemDialer: HTTPDialer {
    public init() {}

    public func addresses(for url: HTTPURL) async throws -> [SocketAddress] {
        try await SocketAddress.resolve(host: url.host.nameForLookup, port: url.port)
    }
}
