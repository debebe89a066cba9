/// How to reach and log in to a PostgreSQL server; parsed from a libpq-style URL or built in code.
public struct PGConfiguration: Sendable {
    /// libpq's sslmode. `allow` is treated as `disable` (plaintext; libpq's fallback to TLS when
    /// the server insists on it is not implemented).
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        /// A Unix-domain socket file (libpq's host=/dir resolves to /dir/.s.PGSQL.<port>).
        case unixSocket(path: String)
    }

    /// Where to connect, tried in order (libpq's host list); see `targetSessionAttributes`.
    public var endpoints: [Endpoint]
    /// The first (usually the only) host. Setting it replaces the whole list.
    public var endpoint: Endpoint {
        get { endpoints[0] }
        set { endpoints = [newValue] }
    }
    /// Which of the hosts will do (libpq's `target_session_attrs`); `.any` takes the first that
    /// accepts the connection.
    public var targetSessionAttributes: PGTargetSessionAttributes = .any
    /// libpq's `load_balance_hosts=random`: try the hosts in a random order on each connection.
    public var loadBalanceHosts = false
    public var user: String
    public var password: String?
    public var database: String?
    public var sslMode: SSLMode = .prefer
    /// CA file for verify-ca/verify-full ("system" = the system bundle). With `require`, libpq
    /// verifies the chain when this is set; so does this client.
    public var sslRootCert: String?
    /// libpq's hostaddr: the numeric address to connect to, while `host` stays the name used
    /// for TLS verification (SNI and verify-full).
    public var hostAddress: String?
    public var channelBinding: StartupStateMachine.ChannelBindingMode = .prefer
    public var applicationName: String?
    /// Extra run-time parameters sent in the StartupMessage (e.g. search_path, TimeZone).
    public var runtimeParameters: [(String, String)] = []
    public var connectTimeout: Duration = .seconds(10)
    /// Default timeout of each query (nil: none); on expiry the query is cancelled on the server.
    public var queryTimeout: Duration?
    /// Cache prepared statements per connection (named statements). False: unnamed statements
    /// only, one round trip per query, safe behind PgBouncer in transaction mode.
    public var statementCache: Bool = true
    /// Largest backend message accepted.
    public var maxMessageLength: Int = 256 << 20

    public init(host: String = "127.0.0.1", port: Int = 5432, user: String, password: String? = nil, database: String? = nil) {
        endpoints = [.tcp(host: host, port: port)]
        self.user = user
        self.password = password
        self.database = database
    }

    public init(unixSocketPath: String, user: String, password: String? = nil, database: String? = nil) {
        endpoints = [.unixSocket(path: unixSocketPath)]
        self.user = user
        self.password = password
        self.database = database
    }

    /// Parses libpq's URL form: `postgres://user:password@host:port/database?sslmode=…&sslrootcert=…
    /// &channel_binding=…&application_name=…&connect_timeout=…&statement_cache=…&host=/socket/dir`,
    /// with several hosts as libpq takes them: `postgres://u@h1:5432,h2:5433/db`, or
    /// `?host=h1,h2&port=5432,5433` (one port for all, or one per host; an empty item is the
    /// default), IPv6 in brackets, `target_session_attrs=read-write|read-only|primary|standby|
    /// prefer-standby|any` and `load_balance_hosts=disable|random`.
    /// Unknown query keys become run-time parameters (as pgx does), e.g. `search_path=app`.
    public init(url: String) throws(PGError) {
        let scheme: Substring
        if url.hasPrefix("postgres://") { scheme = "postgres://" } else if url.hasPrefix("postgresql://") { scheme = "postgresql://" } else {
            throw PGError.invalidConfiguration("URL must start with postgres:// or postgresql://")
        }
        var rest = Substring(url.dropFirst(scheme.count))
        var query = Substring("")
        if let q = rest.firstIndex(of: "?") { query = rest[rest.index(after: q)...]; rest = rest[..<q] }
        var path = Substring("")
        if let slash = rest.firstIndex(of: "/") { path = rest[rest.index(after: slash)...]; rest = rest[..<slash] }
        var userInfo: Substring?
        if let at = rest.lastIndex(of: "@") { userInfo = rest[..<at]; rest = rest[rest.index(after: at)...] }

        // libpq turns `h1:p1,h2` into host "h1,h2" and port "p1," before reading the parameters,
        // which may replace either list.
        var hosts: [String] = []
        var ports: [String] = []
        if !rest.isEmpty {
            for item in try Self.splitHostList(rest) {
                let (host, port) = try Self.hostAndPort(item)
                hosts.append(host)
                ports.append(port)
            }
            if ports.allSatisfy(\.isEmpty) { ports = [] }
        }
        var user = "postgres"
        var password: String?
        if let userInfo {
            if let colon = userInfo.firstIndex(of: ":") {
                user = try Self.percentDecode(userInfo[..<colon])
                password = try Self.percentDecode(userInfo[userInfo.index(after: colon)...])
            } else {
                user = try Self.percentDecode(userInfo)
            }
        }
        let database = path.isEmpty ? nil : try Self.percentDecode(path)
        self.init(host: "localhost", port: 5432, user: user, password: password, database: database ?? user)

        for pair in query.split(separator: "&") where !pair.isEmpty {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = try Self.percentDecode(kv[0])
            let value = kv.count > 1 ? try Self.percentDecode(kv[1]) : ""
            switch key {
            case "sslmode":
                guard let m = SSLMode(rawValue: value) else { throw PGError.invalidConfiguration("sslmode \(value) (expected disable, allow, prefer, require, verify-ca, verify-full)") }
                sslMode = m
            case "sslrootcert": sslRootCert = value
            case "channel_binding":
                guard let m = StartupStateMachine.ChannelBindingMode(rawValue: value) else { throw PGError.invalidConfiguration("channel_binding \(value) (expected disable, prefer, require)") }
                channelBinding = m
            case "application_name": applicationName = value
            case "connect_timeout":
                guard let s = Int(value), s >= 0 else { throw PGError.invalidConfiguration("connect_timeout \(value)") }
                if s > 0 { connectTimeout = .seconds(s) }
            case "statement_cache", "statement_cache_mode":
                statementCache = !(value == "false" || value == "0" || value == "off" || value == "describe" || value == "none")
            case "host": hosts = value.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            case "port": ports = value.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            case "hostaddr": hostAddress = value
            case "user": self.user = value
            case "password": self.password = value
            case "dbname": self.database = value
            case "target_session_attrs":
                guard let t = PGTargetSessionAttributes(rawValue: value) else {
                    throw PGError.invalidConfiguration("target_session_attrs \(value) (expected \(PGTargetSessionAttributes.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                targetSessionAttributes = t
            case "load_balance_hosts":
                guard value == "disable" || value == "random" else { throw PGError.invalidConfiguration("load_balance_hosts \(value) (expected disable or random)") }
                loadBalanceHosts = value == "random"
            case "sslcert", "sslkey":
                throw PGError.invalidConfiguration("\(key): client certificates are not supported")
            default:
                runtimeParameters.append((key, value))
            }
        }
        endpoints = try Self.endpoints(hosts: hosts, ports: ports)
        if hostAddress != nil, endpoints.count > 1 {
            throw PGError.invalidConfiguration("hostaddr with several hosts is not supported: list the addresses as hosts")
        }
    }

    /// Splits `h1:p1,[::1]:p2,h3` at the commas outside brackets.
    static func splitHostList(_ text: Substring) throws(PGError) -> [Substring] {
        var items: [Substring] = []
        var start = text.startIndex
        var inBrackets = false
        var i = text.startIndex
        while i < text.endIndex {
            switch text[i] {
            case "[": inBrackets = true
            case "]": inBrackets = false
            case "," where !inBrackets:
                items.append(text[start..<i])
                start = text.index(after: i)
            default: break
            }
            i = text.index(after: i)
        }
        if inBrackets { throw PGError.invalidConfiguration("unterminated [IPv6] host in \(text)") }
        items.append(text[start...])
        return items
    }

    /// One item of a URL's host list: `host`, `host:port`, `[v6]`, `[v6]:port`, `:port` or empty.
    static func hostAndPort(_ item: Substring) throws(PGError) -> (host: String, port: String) {
        if item.hasPrefix("[") {
            guard let close = item.firstIndex(of: "]") else { throw PGError.invalidConfiguration("unterminated [IPv6] host") }
            let host = String(item[item.index(after: item.startIndex)..<close])
            let after = item[item.index(after: close)...]
            if after.isEmpty { return (host, "") }
            guard after.hasPrefix(":") else { throw PGError.invalidConfiguration("unexpected \(after) after [\(host)]") }
            return (host, String(after.dropFirst()))
        }
        if let colon = item.lastIndex(of: ":") {
            return (try percentDecode(item[..<colon]), String(item[item.index(after: colon)...]))
        }
        return (try percentDecode(item), "")
    }

    /// libpq's pairing of the host and port lists: one port for every host, or one per host; an
    /// empty host is localhost, an empty port 5432, and a host starting with `/` a socket directory.
    static func endpoints(hosts: [String], ports: [String]) throws(PGError) -> [Endpoint] {
        let hosts = hosts.isEmpty ? [""] : hosts
        let ports = ports.isEmpty ? [""] : ports
        guard ports.count == 1 || ports.count == hosts.count else {
            throw PGError.invalidConfiguration("could not match \(ports.count) port numbers to \(hosts.count) hosts")
        }
        return try hosts.enumerated().map { (i, host) throws(PGError) -> Endpoint in
            let portText = ports.count == 1 ? ports[0] : ports[i]
            var port = 5432
            if !portText.isEmpty {
                guard let p = Int(portText), (1...65535).contains(p) else { throw PGError.invalidConfiguration("invalid port \(portText)") }
                port = p
            }
            if host.hasPrefix("/") { return .unixSocket(path: "\(host)/.s.PGSQL.\(port)") }
            return .tcp(host: host.isEmpty ? "localhost" : host, port: port)
        }
    }

    static func percentDecode<S: StringProtocol>(_ s: S) throws(PGError) -> String {
        var out = [UInt8]()
        var it = Array(s.utf8).makeIterator()
        while let c = it.next() {
            if c == UInt8(ascii: "%") {
                guard let h = it.next(), let l = it.next(), let hi = hexNibble(h), let lo = hexNibble(l) else {
                    throw PGError.invalidConfiguration("invalid percent-encoding in \(s)")
                }
                out.append(hi << 4 | lo)
            } else {
                out.append(c)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Startup parameters sent with every connection. DateStyle/IntervalStyle are pinned so
    /// that text-format values (simple queries, unknown-type fallbacks) parse reliably.
    var startupOptions: [(String, String)] {
        var o: [(String, String)] = [("client_encoding", "UTF8"), ("DateStyle", "ISO, MDY"), ("IntervalStyle", "postgres")]
        if let applicationName { o.append(("application_name", applicationName)) }
        o += runtimeParameters
        return o
    }
}
