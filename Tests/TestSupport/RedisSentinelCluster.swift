import Foundation

/// A throw-away Redis primary, one replica and three sentinels on free loopback ports, as a
/// failover test needs them (the recipe of the project's services.md): started by the test,
/// killed and deleted by `stop()`.
///
/// Sentinels declare the primary down after `downAfterMilliseconds` and promote the replica;
/// with the defaults a killed primary is replaced in ~2–3 s on this machine.
public final class RedisSentinelCluster: @unchecked Sendable {
    public struct Options: Sendable {
        public var masterName = "mymaster"
        /// `requirepass` of the data nodes (and their `masterauth`); nil: none.
        public var password: String? = "cluster-pw"
        /// An ACL user on the data nodes (`user NAME on >PASSWORD ~* &* +@all`), for ACL tests.
        public var aclUser: (name: String, password: String)?
        /// `requirepass` of the sentinels (they authenticate to each other with it too).
        public var sentinelPassword: String?
        /// TLS everywhere (clients, replication, sentinels): the CA, server certificate and key.
        public var tls: (ca: String, certificate: String, key: String)?
        public var downAfterMilliseconds = 1000
        public var failoverTimeoutMilliseconds = 5000
        public init() {}
    }

    public let options: Options
    public let directory: String
    public let primaryPort: Int
    public let replicaPort: Int
    public let sentinelPorts: [Int]

    private init(options: Options, directory: String, ports: [Int]) {
        self.options = options
        self.directory = directory
        self.primaryPort = ports[0]
        self.replicaPort = ports[1]
        self.sentinelPorts = Array(ports[2...])
    }

    /// nil (a loud skip; a failure in CI) when redis-server is not installed.
    public static func start(_ options: Options = Options()) async throws -> RedisSentinelCluster? {
        guard (try? await TestProcess.run(["redis-server", "--version"]))?.status == 0 else {
            _ = try TestServices.require(nil, "redis-server binary")
            return nil
        }
        let directory = "/tmp/" + TestServices.uniqueName("vidd-sentinel-")
        let cluster = RedisSentinelCluster(options: options, directory: directory, ports: try FreePorts.take(5))
        do {
            try await cluster.launch()
        } catch {
            await cluster.stop()
            throw error
        }
        return cluster
    }

    /// The `redis-sentinel://` URL of the cluster; `userinfo` is the master's (default: the
    /// cluster password, or the ACL user when there is one).
    public func url(userinfo: String? = nil, parameters: [String] = []) -> String {
        let auth = userinfo ?? {
            if let user = options.aclUser { return "\(user.name):\(user.password)@" }
            return options.password.map { ":\($0)@" } ?? ""
        }()
        var query = parameters
        if let p = options.sentinelPassword { query.append("sentinel_password=\(p)") }
        if let tls = options.tls { query.append("ca_file=\(tls.ca)") }
        let scheme = options.tls == nil ? "redis-sentinel" : "rediss-sentinel"
        let hosts = sentinelPorts.map { "127.0.0.1:\($0)" }.joined(separator: ",")
        return "\(scheme)://\(auth)\(hosts)/\(options.masterName)" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
    }

    /// A plain `redis://` (or `rediss://`) URL of one data node, for checks behind the client's back.
    public func directURL(port: Int) -> String {
        let scheme = options.tls == nil ? "redis" : "rediss"
        let tail = options.tls.map { "?ca_file=\($0.ca)" } ?? ""
        return "\(scheme)://\(options.password.map { ":\($0)@" } ?? "")127.0.0.1:\(port)\(tail)"
    }

    // MARK: Processes

    private func tlsArguments(port: Int) -> [String] {
        guard let tls = options.tls else { return ["--port", String(port)] }
        return ["--port", "0", "--tls-port", String(port), "--tls-cert-file", tls.certificate, "--tls-key-file", tls.key,
                "--tls-ca-cert-file", tls.ca, "--tls-replication", "yes", "--tls-auth-clients", "no"]
    }

    private func dataNodeArguments(port: Int, name: String) -> [String] {
        var args = ["redis-server"] + tlsArguments(port: port) + [
            "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", "\(directory)/\(name)",
            "--logfile", "\(directory)/\(name)/redis.log", "--pidfile", "\(directory)/\(name)/redis.pid", "--daemonize", "yes",
        ]
        if let p = options.password { args += ["--requirepass", p, "--masterauth", p] }
        if let user = options.aclUser { args += ["--user", user.name, "on", ">\(user.password)", "~*", "&*", "+@all"] }
        return args
    }

    private func launch() async throws {
        try await TestProcess.check(["mkdir", "-p", "\(directory)/primary", "\(directory)/replica"] + (1...3).map { "\(directory)/s\($0)" })
        try await TestProcess.check(dataNodeArguments(port: primaryPort, name: "primary"))
        try await TestProcess.check(dataNodeArguments(port: replicaPort, name: "replica") + ["--replicaof", "127.0.0.1", String(primaryPort)])
        try await TestSupport.waitUntil("the replica is in sync", timeout: .seconds(20), context: { self.logs }) {
            let info = try await self.cli(port: self.replicaPort, ["INFO", "replication"])
            return info.contains("master_link_status:up")
        }
        for (i, port) in sentinelPorts.enumerated() {
            var conf = [
                "bind 127.0.0.1",
                "dir \(directory)/s\(i + 1)",
                "logfile \(directory)/s\(i + 1)/sentinel.log",
                "pidfile \(directory)/s\(i + 1)/sentinel.pid",
                "daemonize yes",
                "sentinel monitor \(options.masterName) 127.0.0.1 \(primaryPort) 2",
                "sentinel down-after-milliseconds \(options.masterName) \(options.downAfterMilliseconds)",
                "sentinel failover-timeout \(options.masterName) \(options.failoverTimeoutMilliseconds)",
                "sentinel parallel-syncs \(options.masterName) 1",
            ]
            if let tls = options.tls {
                conf += ["port 0", "tls-port \(port)", "tls-cert-file \(tls.certificate)", "tls-key-file \(tls.key)",
                         "tls-ca-cert-file \(tls.ca)", "tls-replication yes", "tls-auth-clients no"]
            } else {
                conf.append("port \(port)")
            }
            if let p = options.password { conf.append("sentinel auth-pass \(options.masterName) \(p)") }
            if let p = options.sentinelPassword { conf += ["requirepass \(p)", "sentinel sentinel-pass \(p)"] }
            let path = "\(directory)/s\(i + 1)/sentinel.conf"
            try (conf.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            try await TestProcess.check(["redis-server", path, "--sentinel"])
        }
        // Ready when every sentinel knows the primary and its replica, and the other sentinels
        // (a failover needs the quorum of 2 to agree).
        try await TestSupport.waitUntil("the sentinels see the primary, the replica and each other", timeout: .seconds(30), context: { self.logs }) {
            for port in self.sentinelPorts {
                let master = try await self.cli(port: port, ["SENTINEL", "MASTER", self.options.masterName], sentinel: true)
                let lines = master.split(separator: "\n").map(String.init)
                func field(_ name: String) -> String? { lines.firstIndex(of: name).flatMap { $0 + 1 < lines.count ? lines[$0 + 1] : nil } }
                guard field("num-slaves") == "1", field("num-other-sentinels") == "2" else { return false }
            }
            return true
        }
    }

    /// The port of the master the sentinels name now (asked of the first that answers).
    public func masterPort() async -> Int? {
        for port in sentinelPorts {
            if let reply = try? await cli(port: port, ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", options.masterName], sentinel: true) {
                let lines = reply.split(separator: "\n")
                if lines.count == 2, let p = Int(lines[1]) { return p }
            }
        }
        return nil
    }

    /// SIGKILL the data node on `port` (the primary, normally): no shutdown, no goodbye.
    public func kill(port: Int) async throws {
        let name = port == primaryPort ? "primary" : "replica"
        try await TestProcess.check(["sh", "-c", "kill -9 $(cat \(directory)/\(name)/redis.pid)"])
    }

    /// SIGKILL sentinel `index` (0-based): the others go on without it.
    public func killSentinel(_ index: Int) async throws {
        try await TestProcess.check(["sh", "-c", "kill -9 $(cat \(directory)/s\(index + 1)/sentinel.pid)"])
    }

    /// Starts sentinel `index` (0-based) again from its configuration file, which it rewrote with
    /// what it knew when it stopped (the master it monitored then, say).
    public func restartSentinel(_ index: Int) async throws {
        try await TestProcess.check(["redis-server", "\(directory)/s\(index + 1)/sentinel.conf", "--sentinel"])
    }

    /// Waits until every sentinel names a master other than `port`; returns how long that took.
    public func waitForFailover(awayFrom port: Int, timeout: Duration = .seconds(30), skipping dead: Set<Int> = []) async throws -> Duration {
        let start = ContinuousClock.now
        try await TestSupport.waitUntil("a sentinel promoted the replica", timeout: timeout, context: { self.logs }) {
            for s in self.sentinelPorts where !dead.contains(s) {
                let reply = try await self.cli(port: s, ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.options.masterName], sentinel: true)
                guard let last = reply.split(separator: "\n").last, let p = Int(last), p != port else { return false }
            }
            return true
        }
        return ContinuousClock.now - start
    }

    /// redis-cli against one node: its output (RESP2-style, one element per line).
    public func cli(port: Int, _ arguments: [String], sentinel: Bool = false) async throws -> String {
        var args = ["redis-cli", "-h", "127.0.0.1", "-p", String(port), "--no-auth-warning"]
        if let tls = options.tls { args += ["--tls", "--cacert", tls.ca] }
        if sentinel {
            if let p = options.sentinelPassword { args += ["-a", p] }
        } else if let p = options.password {
            args += ["-a", p]
        }
        let r = try await TestProcess.run(args + arguments)
        guard r.status == 0 else { throw ThrowawayServerError("redis-cli \(arguments.joined(separator: " ")) on \(port): \(String(decoding: r.errorOutput, as: UTF8.self))") }
        return r.text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Kills every process and deletes the directory.
    public func stop() async {
        _ = try? await TestProcess.run(["sh", "-c", "for f in \(directory)/*/*.pid; do [ -f \"$f\" ] && kill -9 $(cat \"$f\") 2>/dev/null; done; rm -rf \(directory)"])
    }

    public var logs: String {
        serverLogs(in: directory, ["primary/redis.log", "replica/redis.log", "s1/sentinel.log", "s2/sentinel.log", "s3/sentinel.log"])
    }
}
