import HTTPClientCodec

/// Why a fetch failed. Errors thrown by the `HTTPDialer` (a policy's refusal, a failed lookup)
/// and `CancellationError` are passed through as they are, not wrapped.
public enum HTTPFetchError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Phase: String, Sendable {
        case connect, tls = "TLS handshake", request = "sending the request", response = "waiting for the response", body = "reading the body"
    }

    /// A `Location` that is not an acceptable URL.
    case invalidRedirect(location: String, reason: HTTPURLError)
    case redirectWithoutLocation(status: Int, url: String)
    /// More than the request's `maxRedirects` hops.
    case tooManyRedirects(limit: Int, url: String)
    /// The dialer returned no address to try.
    case noAddresses(host: String)
    /// Every address refused or failed; one line per address.
    case connectFailed(url: String, attempts: [String])
    case tls(url: String, reason: String)
    /// Nothing arrived (or could be sent) for the stall timeout.
    case stalled(phase: Phase, after: Duration, url: String)
    /// The whole exchange ran past its deadline.
    case deadlineExceeded(phase: Phase, url: String)
    case malformedResponse(url: String, reason: HTTPMessageError)
    /// The peer closed or reset the connection before the response ended.
    case connectionLost(phase: Phase, url: String, reason: String)
    /// The body is (or is declared to be) larger than the limit.
    case bodyTooLarge(limit: Int64, declared: Int64?, url: String)

    public var description: String {
        switch self {
        case .invalidRedirect(let location, let reason): "redirect to an invalid URL (\(location.prefix(200))): \(reason)"
        case .redirectWithoutLocation(let status, let url): "\(url) answered \(status) without a Location"
        case .tooManyRedirects(let limit, let url): "more than \(limit) redirects (the last to \(url))"
        case .noAddresses(let host): "no address to connect to for \(host)"
        case .connectFailed(let url, let attempts): "cannot connect to \(url): \(attempts.joined(separator: "; "))"
        case .tls(let url, let reason): "TLS with \(url) failed: \(reason)"
        case .stalled(let phase, let after, let url): "\(url): nothing happened for \(after) while \(phase.rawValue)"
        case .deadlineExceeded(let phase, let url): "\(url): the time limit ran out while \(phase.rawValue)"
        case .malformedResponse(let url, let reason): "\(url) sent a malformed response: \(reason)"
        case .connectionLost(let phase, let url, let reason): "\(url): connection lost while \(phase.rawValue) (\(reason))"
        case .bodyTooLarge(let limit, let declared, let url):
            declared.map { "\(url) declares \($0) bytes, more than the limit of \(limit)" }
                ?? "\(url) sent more than the limit of \(limit) bytes"
        }
    }
}
