/// One round of Sentinel service discovery, without I/O: which sentinel to ask next, what its
/// answer means, and what to report when nobody could name a usable master.
///
/// It follows the Sentinel client specification: ask the sentinels in order (the last one that
/// answered first), take the first address one of them names, check that the server there calls
/// itself a master — a sentinel that has not heard of a failover yet names the old master, which
/// is by then a replica or gone — and move on to the next sentinel when any of that fails. A round
/// ends at the first master found or when every sentinel was asked; the caller retries a failed
/// round after a pause (the pool's backoff).
///
///     var round = SentinelDiscovery(sentinels: order, masterName: "mymaster")
///     while let sentinel = round.nextSentinel() {
///         reply = SENTINEL get-master-addr-by-name mymaster   (or round.sentinelFailed)
///         if case .tryMaster(let address) = round.received(reply, from: sentinel) {
///             connect, read the role                          (or round.masterFailed)
///             if round.masterRole(role, at: address) == .found { done }
///         }
///     }
///     throw round.failure
public struct SentinelDiscovery: Sendable {
    public typealias Address = RESPSentinelAddress

    /// What the caller does after a sentinel's answer.
    public enum Step: Sendable, Equatable {
        /// Connect to this address and read its role.
        case tryMaster(Address)
        /// Ask the next sentinel.
        case askNext
    }

    /// What a master candidate's role means.
    public enum Verdict: Sendable, Equatable {
        /// It is the master: use it (and ask `answeredBy` first next time).
        case found
        /// Not the master (stale sentinel): ask the next sentinel.
        case askNext
    }

    public let masterName: String
    public let sentinels: [Address]
    private var index = 0
    private var current: Address?
    private var candidatesTried: Set<Address> = []
    /// What went wrong, per sentinel or candidate, in order: the round's error message.
    public private(set) var problems: [String] = []
    /// Server error replies (wrong sentinel password, NOPERM): if every sentinel answered with
    /// one, the round fails with it instead of a connection error, so it is not retried blindly.
    private var serverErrors: [RESPServerError] = []
    private var masterServerError: RESPServerError?
    /// The sentinel whose answer led to the master (the caller moves it to the front).
    public private(set) var answeredBy: Address?

    public init(sentinels: [Address], masterName: String) {
        self.sentinels = sentinels
        self.masterName = masterName
    }

    /// The next sentinel to ask, or nil when the round is over.
    public mutating func nextSentinel() -> Address? {
        guard answeredBy == nil, index < sentinels.count else { return nil }
        defer { index += 1 }
        current = sentinels[index]
        return current
    }

    /// The sentinel could not be reached or asked (refused, timed out, TLS, closed).
    public mutating func sentinelFailed(_ sentinel: Address, _ error: any Error) {
        if let e = error as? RESPServerError { serverErrors.append(e) }
        problems.append("sentinel \(sentinel): \(error)")
    }

    /// The reply of `SENTINEL GET-MASTER-ADDR-BY-NAME name` from `sentinel`.
    public mutating func received(_ reply: RESPValue, from sentinel: Address) -> Step {
        switch Self.masterAddress(in: reply) {
        case .success(nil):
            problems.append("sentinel \(sentinel) does not know a master named \(masterName)")
            return .askNext
        case .success(let address?):
            // Two sentinels naming the same dead or demoted server: one try is enough.
            guard candidatesTried.insert(address).inserted else { return .askNext }
            return .tryMaster(address)
        case .failure(let error):
            if case .error(let e) = reply.withoutAttributes { serverErrors.append(e) }
            problems.append("sentinel \(sentinel): \(error)")
            return .askNext
        }
    }

    /// Connecting to the named master failed. A server error (wrong password, NOPERM) ends the
    /// round: every sentinel would name the same server, and it would refuse the same way.
    public mutating func masterFailed(_ address: Address, _ error: any Error) {
        if let e = error as? RESPServerError {
            masterServerError = e
            index = sentinels.count
        }
        problems.append("master \(address) named by sentinel \(current.map { "\($0)" } ?? "?"): \(error)")
    }

    /// The role the candidate reported (HELLO's `role` field, or the first element of ROLE).
    public mutating func masterRole(_ role: String?, at address: Address) -> Verdict {
        if role == "master" {
            answeredBy = current
            return .found
        }
        problems.append("\(address) named by sentinel \(current.map { "\($0)" } ?? "?") is \(role.map { "a \($0)" } ?? "of unknown role"), not the master (the sentinel has not seen the failover yet)")
        return .askNext
    }

    /// Why the round failed: the server's own error when the master or every sentinel refused
    /// with one (authentication: not worth retrying), else a connection error listing each problem.
    public var failure: any Error {
        if let masterServerError { return masterServerError }
        if !sentinels.isEmpty, serverErrors.count == sentinels.count, let first = serverErrors.first { return first }
        let detail = problems.isEmpty ? "no sentinel configured" : problems.joined(separator: "; ")
        return RESPClientError.connectFailed(endpoint: "master \(masterName) via sentinels \(sentinels.map(\.description).joined(separator: ","))",
                                             underlying: detail)
    }

    // MARK: Replies

    /// `[ip, port]`, or nil for the null reply of a sentinel that does not monitor that name.
    static func masterAddress(in reply: RESPValue) -> Result<Address?, RESPClientError> {
        let value = reply.withoutAttributes
        if value.isNull { return .success(nil) }
        if case .error(let e) = value { return .failure(.connectionClosed(reason: "error reply: \(e)")) }
        guard let items = value.elements, items.count == 2, let host = items[0].string, !host.isEmpty,
              let portText = items[1].string, let port = Int(portText), (1...65535).contains(port) else {
            return .failure(.unexpectedReply(command: "SENTINEL GET-MASTER-ADDR-BY-NAME", reply: reply))
        }
        return .success(Address(host: host, port: port))
    }

    /// The role in a HELLO 3 reply (`role` is `master` or `replica`); nil when absent (RESP2
    /// servers: ask ROLE instead).
    public static func role(inHello hello: RESPValue) -> String? {
        guard let pairs = hello.pairs else { return nil }
        return pairs.first { $0.key.string == "role" }?.value.string.map(normalizedRole)
    }

    /// The role in a ROLE reply: its first element (`master`, `slave`, `sentinel`).
    public static func role(inROLE reply: RESPValue) -> String? {
        reply.elements?.first?.string.map(normalizedRole)
    }

    static func normalizedRole(_ role: String) -> String {
        let r = role.lowercased()
        return r == "slave" ? "replica" : r
    }
}

/// A sentinel's or a master's `host:port`.
public struct RESPSentinelAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Sentinel's announcements, read from pub/sub messages of a sentinel.
public enum SentinelEvent: Sendable, Equatable {
    /// `+switch-master <name> <old-ip> <old-port> <new-ip> <new-port>`: a failover ended.
    case switchMaster(name: String, from: RESPSentinelAddress, to: RESPSentinelAddress)

    /// Parses a message published on `+switch-master`; nil for anything else or a malformed one.
    public init?(channel: String, payload: String) {
        guard channel == "+switch-master" else { return nil }
        let parts = payload.split(separator: " ")
        guard parts.count == 5, let oldPort = Int(parts[2]), let newPort = Int(parts[4]),
              (1...65535).contains(oldPort), (1...65535).contains(newPort) else { return nil }
        self = .switchMaster(name: String(parts[0]), from: RESPSentinelAddress(host: String(parts[1]), port: oldPort),
                             to: RESPSentinelAddress(host: String(parts[3]), port: newPort))
    }

    /// The other sentinels of `SENTINEL SENTINELS name` (an array of maps with `ip` and `port`).
    public static func sentinels(in reply: RESPValue) -> [RESPSentinelAddress] {
        (reply.elements ?? []).compactMap { entry in
            guard let pairs = entry.pairs else { return nil }
            func field(_ name: String) -> String? { pairs.first { $0.key.string == name }?.value.string }
            guard let ip = field("ip"), !ip.isEmpty, let port = field("port").flatMap({ Int($0) }), (1...65535).contains(port) else { return nil }
            return RESPSentinelAddress(host: ip, port: port)
        }
    }
}

/// The sentinels in the order to ask them: the one that last answered first (so a reconnect does
/// not wait on a dead one), then the others as configured, then those learned from
/// `SENTINEL SENTINELS` (the specification's optional list refresh).
public struct SentinelList: Sendable, Equatable {
    public private(set) var addresses: [RESPSentinelAddress]

    public init(_ addresses: [RESPSentinelAddress]) {
        var seen: Set<RESPSentinelAddress> = []
        self.addresses = addresses.filter { seen.insert($0).inserted }
    }

    /// `sentinel` answered: ask it first from now on.
    public mutating func promote(_ sentinel: RESPSentinelAddress) {
        guard let i = addresses.firstIndex(of: sentinel), i > 0 else { return }
        addresses.insert(addresses.remove(at: i), at: 0)
    }

    /// Appends sentinels not in the list yet; returns how many were new.
    @discardableResult
    public mutating func learn(_ others: [RESPSentinelAddress]) -> Int {
        var added = 0
        for s in others where !addresses.contains(s) {
            addresses.append(s)
            added += 1
        }
        return added
    }
}

extension SentinelDiscovery {
    /// Error replies that mean the server we talk to is no longer the master: it was demoted
    /// (`READONLY`: "You can't write against a read only replica"), or it unblocked a blocking
    /// command because it was turned into a replica (`UNBLOCKED`). The connection is closed so
    /// that the next one is made after asking the sentinels again.
    public static func meansDemoted(_ error: RESPServerError) -> Bool {
        error.code == "READONLY" || error.code == "UNBLOCKED"
    }
}
