/// Which host to try next when a configuration lists several or asks for a kind of server
/// (`target_session_attrs`), and what to report when none will do — without I/O, as libpq
/// decides it:
///
/// - the hosts are tried in order (shuffled first with `load_balance_hosts=random`), each with the
///   full connect timeout;
/// - a host that cannot be reached, or that refuses for a reason of its own (starting up, shutting
///   down, too many connections, in recovery with hot standby off), is passed over;
/// - a failed *authentication* ends the search: the other hosts would refuse the same credentials
///   (libpq: "the remaining hosts in the list are not tried"), as does a configuration error;
/// - a session that is not the kind asked for is closed and the next host tried;
/// - `prefer-standby` makes a second pass accepting any server, over the hosts that answered in
///   the first (one that could not be reached a moment ago is not waited for twice).
public struct PGHostSelection: Sendable {
    public let target: PGTargetSessionAttributes
    public let endpoints: [PGConfiguration.Endpoint]
    private var pass = 1
    private var index = 0
    private var answered: [PGConfiguration.Endpoint] = []
    /// One line per host tried: why it was not used.
    public private(set) var problems: [String] = []

    public init(endpoints: [PGConfiguration.Endpoint], target: PGTargetSessionAttributes) {
        self.endpoints = endpoints
        self.target = target
    }

    /// The next host and the pass it belongs to, or nil when every host was tried.
    public mutating func next() -> (endpoint: PGConfiguration.Endpoint, pass: Int)? {
        let list = pass == 1 ? endpoints : answered
        if index < list.count {
            defer { index += 1 }
            return (list[index], pass)
        }
        guard pass < target.passes, !answered.isEmpty else { return nil }
        pass += 1
        index = 0
        return next()
    }

    /// What to do after connecting to a host failed.
    public enum AfterFailure: Sendable, Equatable {
        case tryNext
        /// Rethrow: no other host can do better.
        case stop
    }

    public mutating func connectFailed(_ endpoint: PGConfiguration.Endpoint, _ error: PGError) -> AfterFailure {
        problems.append("\(Self.describe(endpoint)): \(error)")
        return Self.endsSearch(error) ? .stop : .tryNext
    }

    /// The host answered but is not what the target asks for (or the check query failed).
    public mutating func rejected(_ endpoint: PGConfiguration.Endpoint, pass: Int, _ reason: String) {
        if pass == 1 { answered.append(endpoint) }
        problems.append("\(Self.describe(endpoint)): \(reason)")
    }

    /// The error when no host would do.
    public var failure: PGError {
        let want = target == .any ? "" : " (target_session_attrs=\(target.rawValue))"
        return .noUsableServer("none of \(endpoints.count) host\(endpoints.count == 1 ? "" : "s") could be used\(want): "
            + problems.joined(separator: "; "))
    }

    /// Errors the next host would meet as well: credentials and configuration.
    static func endsSearch(_ error: PGError) -> Bool {
        switch error {
        case .authentication, .invalidConfiguration, .misuse, .encoding:
            return true
        case .server(let e):
            // 28000 invalid_authorization_specification, 28P01 invalid_password.
            return e.sqlState.hasPrefix("28")
        default:
            return false
        }
    }

    static func describe(_ endpoint: PGConfiguration.Endpoint) -> String {
        switch endpoint {
        case .tcp(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unixSocket(let path): return path
        }
    }
}
