import Reactor

/// `redis-sentinel://` URLs:
///
///     redis-sentinel://[user[:password]@]host[:port][,host[:port]…]/master-name[/db][?parameters]
///     rediss-sentinel://…                      TLS to the master and (by default) to the sentinels
///
/// The userinfo, `db`, `client_name`, `ca_file`, `server_name` and `insecure` are the master's,
/// as in a `redis://` URL; a sentinel's port defaults to 26379; IPv6 hosts go in brackets. The
/// sentinels' own settings (redis-py's `sentinel_kwargs`, go-redis's `Sentinel*` options):
///
/// - `sentinel_username`, `sentinel_password`: their ACL user and password (default: none — a
///   sentinel's `requirepass` is usually not the master's);
/// - `sentinel_tls=true|false`: TLS to the sentinels (default: as the master);
/// - `sentinel_timeout_ms`: connect and reply timeout per sentinel (default 1000);
/// - `watch_failovers=false`: no `+switch-master` subscription (connections then leave an old
///   master when it fails or refuses a write).
extension RESPConfiguration {
    struct SentinelTarget {
        var sentinels: [RESPSentinelAddress]
        var masterName: String
        var database: Int
    }

    static let defaultSentinelPort = 26379
    static let sentinelParameters: Set<String> = [
        "sentinel_username", "sentinel_user", "sentinel_password", "sentinel_tls", "sentinel_timeout_ms", "watch_failovers",
    ]

    /// The part after `scheme://` and the userinfo, without the query: hosts, master name, database.
    static func sentinelTarget(_ rest: Substring, url: String) throws(RESPConfigurationError) -> SentinelTarget {
        guard let slash = rest.firstIndex(of: "/") else {
            throw .invalidURL(url, "a sentinel URL names the master after the hosts: redis-sentinel://host:26379/mymaster")
        }
        let path = rest[rest.index(after: slash)...].split(separator: "/", omittingEmptySubsequences: false)
        guard let first = path.first, !first.isEmpty, let name = percentDecode(first) else {
            throw .invalidURL(url, "the master name is missing: redis-sentinel://host:26379/mymaster")
        }
        var database = 0
        if path.count == 2, !path[1].isEmpty {
            guard let db = Int(path[1]), db >= 0 else { throw .invalidURL(url, "database must be a number") }
            database = db
        } else if path.count > 2 {
            throw .invalidURL(url, "expected /master-name or /master-name/db after the hosts")
        }
        var sentinels: [RESPSentinelAddress] = []
        for item in rest[..<slash].split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { throw .invalidURL(url, "empty host in the sentinel list") }
            sentinels.append(try sentinelAddress(item, url: url))
        }
        return SentinelTarget(sentinels: SentinelList(sentinels).addresses, masterName: name, database: database)
    }

    /// `host`, `host:port`, `[v6]` or `[v6]:port`.
    static func sentinelAddress(_ item: Substring, url: String) throws(RESPConfigurationError) -> RESPSentinelAddress {
        var host: Substring
        var port = defaultSentinelPort
        var portText: Substring?
        if item.hasPrefix("[") {
            guard let close = item.firstIndex(of: "]") else { throw .invalidURL(url, "unterminated IPv6 address") }
            host = item[item.index(after: item.startIndex)..<close]
            let after = item[item.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                throw .invalidURL(url, "unexpected text after IPv6 address")
            }
        } else if let colon = item.lastIndex(of: ":") {
            guard item.firstIndex(of: ":") == colon else { throw .invalidURL(url, "IPv6 addresses go in brackets: [::1]:26379") }
            host = item[..<colon]
            portText = item[item.index(after: colon)...]
        } else {
            host = item
        }
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else { throw .invalidURL(url, "bad port \(portText)") }
            port = p
        }
        guard !host.isEmpty, let decoded = percentDecode(host) else { throw .invalidURL(url, "empty host in the sentinel list") }
        return RESPSentinelAddress(host: decoded, port: port)
    }

    static func sentinel(_ target: SentinelTarget, options: [String: String], tls: TLSConfiguration?,
                         caFile: String?, insecure: Bool, url: String) throws(RESPConfigurationError) -> RESPSentinel {
        func flag(_ key: String) throws(RESPConfigurationError) -> Bool? {
            guard let v = options[key] else { return nil }
            switch v.lowercased() {
            case "true", "1", "yes", "on": return true
            case "false", "0", "no", "off": return false
            default: throw .invalidURL(url, "\(key) must be true or false")
            }
        }
        var settings = RESPSentinel.Settings(masterName: target.masterName, sentinels: target.sentinels)
        settings.username = options["sentinel_username"] ?? options["sentinel_user"]
        settings.password = options["sentinel_password"]
        // The same TLS settings (CA file, verification) as the master's, unless turned off or on.
        let sentinelTLS = try flag("sentinel_tls") ?? (tls != nil)
        settings.tls = sentinelTLS ? (tls ?? .client(caFile: caFile, verification: insecure ? .none : .full)) : nil
        if let ms = options["sentinel_timeout_ms"] {
            guard let n = Int(ms), (1...600_000).contains(n) else { throw .invalidURL(url, "sentinel_timeout_ms must be 1…600000") }
            settings.timeout = .milliseconds(n)
        }
        settings.watchFailovers = try flag("watch_failovers") ?? true
        return RESPSentinel(settings)
    }
}
