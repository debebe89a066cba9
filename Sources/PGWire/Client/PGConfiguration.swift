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

    public var endpoint: Endpoint
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
        endpoint = .tcp(host: host, port: port)
        self.user = user
        self.password = password
        self.database = database
    }

    public init(unixSocketPath: String, user: String, password: String? = nil, database: String? = nil) {
        endpoint = .unixSocket(path: unixSocketPath)
        self.user = user
        self.password = password
        self.database = database
    }

    /// Parses `postgres://user:password@host:port/database?sslmode=…&sslrootcert=…&channel_binding=…
    /// &application_name=…&connect_timeout=…&statement_cache=…&host=/socket/dir`.
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

        var host = "localhost"
        var port = 5432
        if !rest.isEmpty {
            var hostPart = rest
            if rest.hasPrefix("[") {  // [IPv6]:port
                guard let close = rest.firstIndex(of: "]") else { throw PGError.invalidConfiguration("unterminated [IPv6] host") }
                host = String(rest[rest.index(after: rest.startIndex)..<close])
                hostPart = rest[rest.index(after: close)...]
                if hostPart.hasPrefix(":") {
                    guard let p = Int(hostPart.dropFirst()), (1...65535).contains(p) else { throw PGError.invalidConfiguration("invalid port in \(rest)") }
                    port = p
                }
            } else if let colon = rest.lastIndex(of: ":") {
                host = try Self.percentDecode(rest[..<colon])
                guard let p = Int(rest[rest.index(after: colon)...]), (1...65535).contains(p) else { throw PGError.invalidConfiguration("invalid port in \(rest)") }
                port = p
            } else {
                host = try Self.percentDecode(rest)
            }
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
        self.init(host: host, port: port, user: user, password: password, database: database ?? user)
        if host.hasPrefix("/") { endpoint = .unixSocket(path: "\(host)/.s.PGSQL.\(port)") }

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
            case "host":
                if value.hasPrefix("/") { endpoint = .unixSocket(path: "\(value)/.s.PGSQL.\(port)") } else { endpoint = .tcp(host: value, port: port) }
            case "port":
                guard let p = Int(value), (1...65535).contains(p) else { throw PGError.invalidConfiguration("port \(value)") }
                switch endpoint {
                case .tcp(let h, _): endpoint = .tcp(host: h, port: p)
                case .unixSocket(let path):
                    let dir = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
                    endpoint = .unixSocket(path: "\(dir)/.s.PGSQL.\(p)")
                }
            case "hostaddr": hostAddress = value
            case "user": self.user = value
            case "password": self.password = value
            case "dbname": self.database = value
            case "sslcert", "sslkey":
                throw PGError.invalidConfiguration("\(key): client certificates are not supported")
            default:
                runtimeParameters.append((key, value))
            }
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
