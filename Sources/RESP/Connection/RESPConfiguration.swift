import Reactor

/// Where and how to connect: endpoint, credentials, database, TLS, timeouts and decoder limits.
/// Usually built from a URL: `redis://user:pass@host:port/db`, `rediss://…` (TLS),
/// `unix:///path/to/redis.sock?db=2` (also `redis+unix://`), or
/// `redis-sentinel://user:pass@host1:26379,host2:26379/mymaster` (the master found through
/// Sentinel: `RESPSentinel`; `rediss-sentinel://` for TLS).
public struct RESPConfiguration: Sendable {
    public enum Endpoint: Sendable, Hashable, CustomStringConvertible {
        case tcp(host: String, port: Int)
        case unix(path: String)

        public var description: String {
            switch self {
            case .tcp(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            case .unix(let path): return "unix:\(path)"
            }
        }
    }

    public var endpoint: Endpoint
    /// ACL user; nil means `default` (AUTH with only a password).
    public var username: String?
    public var password: String?
    public var database: Int
    /// Sent as CLIENT SETNAME (in the HELLO) so the connection shows up in CLIENT LIST.
    public var clientName: String?
    /// TLS settings (`rediss://`), nil for plaintext. Built once and shared by every connection made
    /// with this configuration (the reactor caches the OpenSSL context in it). From a URL:
    /// `ca_file=` (default: system bundle) and `insecure=true` (no verification; tests only).
    public var tls: TLSConfiguration?
    /// Host name sent as SNI and checked against the certificate; defaults to the endpoint's host.
    public var tlsServerName: String?
    public var useTLS: Bool { tls != nil }
    public var connectTimeout: Duration
    /// Default per-command timeout, from sending to the last byte of the reply. nil = wait forever.
    /// A command that times out closes its connection (the late reply would otherwise answer the
    /// next command: go-redis #1113).
    public var commandTimeout: Duration?
    /// Added to a blocking command's own server-side timeout (BLOCK ms, BLPOP seconds) to get its
    /// client-side deadline, so the server's empty answer arrives before the client gives up.
    public var blockingTimeoutMargin: Duration
    public var decoderLimits: RESPDecoderLimits
    /// Set: the master is found through these sentinels (and followed through failovers), and
    /// `endpoint` is only the first sentinel's address. Shared by every copy of the configuration.
    public var sentinel: RESPSentinel?
    /// A master's address that a sentinel named: its connections close on `READONLY`.
    var sentinelManaged = false

    public init(endpoint: Endpoint, username: String? = nil, password: String? = nil, database: Int = 0,
                clientName: String? = nil, tls: TLSConfiguration? = nil,
                tlsServerName: String? = nil, connectTimeout: Duration = .seconds(10),
                commandTimeout: Duration? = .seconds(30), blockingTimeoutMargin: Duration = .seconds(5),
                decoderLimits: RESPDecoderLimits = .default, sentinel: RESPSentinel? = nil) {
        self.endpoint = endpoint
        self.username = username
        self.password = password
        self.database = database
        self.clientName = clientName
        self.tls = tls
        self.tlsServerName = tlsServerName
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.blockingTimeoutMargin = blockingTimeoutMargin
        self.decoderLimits = decoderLimits
        self.sentinel = sentinel
    }

    /// Parses `redis://[user[:password]@]host[:port][/db][?client_name=…&ca_file=…&insecure=true]`,
    /// `rediss://…` (TLS, default port 6379 as well), `unix://[user[:password]@]/path?db=N` and
    /// `redis-sentinel://[user[:password]@]host[:port][,host[:port]…]/master-name[/db]` (see
    /// `RESPConfiguration+Sentinel.swift` for its parameters).
    public init(url: String) throws(RESPConfigurationError) {
        guard let schemeEnd = url.firstRange(of: "://") else { throw .invalidURL(url, "missing scheme://") }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        var rest = Substring(url[schemeEnd.upperBound...])

        var query: [(String, String)] = []
        if let q = rest.firstIndex(of: "?") {
            for item in rest[rest.index(after: q)...].split(separator: "&") where !item.isEmpty {
                let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                query.append((String(parts[0]), parts.count > 1 ? Self.percentDecode(parts[1]) ?? "" : ""))
            }
            rest = rest[..<q]
        }

        var username: String?
        var password: String?
        let isUnix = scheme == "unix" || scheme == "redis+unix"
        // userinfo ends at the last '@' before the path (passwords may contain '@' unencoded).
        let authorityEnd = isUnix ? rest.endIndex : (rest.firstIndex(of: "/") ?? rest.endIndex)
        if let at = rest[..<authorityEnd].lastIndex(of: "@") {
            let userinfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userinfo.firstIndex(of: ":") {
                let user = userinfo[..<colon]
                username = user.isEmpty ? nil : Self.percentDecode(user)
                password = Self.percentDecode(userinfo[userinfo.index(after: colon)...])
                if password == nil { throw .invalidURL(url, "bad percent-encoding in password") }
            } else if !userinfo.isEmpty {
                // `redis://secret@host`: a lone userinfo is the password, as redis-cli and go-redis read it.
                password = Self.percentDecode(userinfo)
            }
        }

        var database = 0
        let endpoint: Endpoint
        var sentinelTarget: SentinelTarget?
        switch scheme {
        case "redis", "rediss":
            var hostPort = rest
            if let slash = rest.firstIndex(of: "/") {
                hostPort = rest[..<slash]
                let dbText = rest[rest.index(after: slash)...]
                if !dbText.isEmpty {
                    guard let db = Int(dbText), db >= 0 else { throw .invalidURL(url, "database must be a number") }
                    database = db
                }
            }
            var host: Substring
            var port = 6379
            if hostPort.hasPrefix("[") {
                guard let close = hostPort.firstIndex(of: "]") else { throw .invalidURL(url, "unterminated IPv6 address") }
                host = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
                let after = hostPort[hostPort.index(after: close)...]
                if after.hasPrefix(":") {
                    guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { throw .invalidURL(url, "bad port") }
                    port = p
                } else if !after.isEmpty {
                    throw .invalidURL(url, "unexpected text after IPv6 address")
                }
            } else if let colon = hostPort.lastIndex(of: ":") {
                host = hostPort[..<colon]
                guard let p = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(p) else {
                    throw .invalidURL(url, "bad port")
                }
                port = p
            } else {
                host = hostPort
            }
            if host.isEmpty { host = "localhost" }
            endpoint = .tcp(host: String(host), port: port)
        case "unix", "redis+unix":
            guard rest.hasPrefix("/") else { throw .invalidURL(url, "unix socket path must be absolute") }
            endpoint = .unix(path: String(rest))
        case "redis-sentinel", "rediss-sentinel":
            let target = try Self.sentinelTarget(rest, url: url)
            endpoint = .tcp(host: target.sentinels[0].host, port: target.sentinels[0].port)
            database = target.database
            sentinelTarget = target
        default:
            throw .invalidURL(url, "unsupported scheme \(scheme) (redis, rediss, unix, redis-sentinel, rediss-sentinel)")
        }

        self.init(endpoint: endpoint, username: username, password: password, database: database)
        var caFile: String?
        var insecure = false
        var sentinelOptions: [String: String] = [:]
        for (key, value) in query {
            switch key {
            case "db":
                guard let db = Int(value), db >= 0 else { throw .invalidURL(url, "db must be a number") }
                self.database = db
            case "client_name", "name": clientName = value
            case "ca_file", "cacert": caFile = value
            case "server_name", "sni": tlsServerName = value
            case "insecure", "skip_verify": insecure = value == "true" || value == "1"
            case "user", "username": self.username = value
            case "password": self.password = value
            case _ where sentinelTarget != nil && Self.sentinelParameters.contains(key): sentinelOptions[key] = value
            default: throw .invalidURL(url, "unknown parameter \(key)")
            }
        }
        if scheme == "rediss" || scheme == "rediss-sentinel" {
            tls = .client(caFile: caFile, verification: insecure ? .none : .full)
        }
        if let sentinelTarget {
            sentinel = try Self.sentinel(sentinelTarget, options: sentinelOptions, tls: tls, caFile: caFile, insecure: insecure, url: url)
        }
    }

    static func percentDecode<S: StringProtocol>(_ s: S) -> String? {
        guard s.contains("%") else { return String(s) }
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let c = it.popFirst() {
            if c == UInt8(ascii: "%") {
                guard it.count >= 2, let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) else { return nil }
                bytes.append(v)
                it = it.dropFirst(2)
            } else {
                bytes.append(c)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}

public enum RESPConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidURL(String, String)

    public var description: String {
        switch self {
        case .invalidURL(let url, let reason):
            // Never print the password: cut the userinfo out of the URL, and mask password parameters.
            var shown = url
            let authorityEnd = url.firstIndex(of: "?") ?? url.endIndex
            if let scheme = url.firstRange(of: "://"), let at = url[scheme.upperBound..<authorityEnd].lastIndex(of: "@") {
                shown = String(url[..<scheme.upperBound]) + "***@" + String(url[url.index(after: at)...])
            }
            if let q = shown.firstIndex(of: "?") {
                let items = shown[shown.index(after: q)...].split(separator: "&", omittingEmptySubsequences: false).map { item in
                    let key = item.prefix { $0 != "=" }
                    return key.lowercased().hasSuffix("password") && key.count < item.count ? key + "=***" : item
                }
                shown = String(shown[...q]) + items.joined(separator: "&")
            }
            return "invalid Redis URL \(shown): \(reason)"
        }
    }
}
