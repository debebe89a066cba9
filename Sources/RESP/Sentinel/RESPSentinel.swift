import Reactor
import Synchronization

/// A Redis master found through Redis Sentinel, for every connection made with a configuration
/// that carries it (`RESPConfiguration.sentinel`, from a `redis-sentinel://` URL): the command
/// pool's, pub/sub's, and any a program opens itself (a blocking stream reader).
///
/// - **Discovery** (`SentinelDiscovery`): each new connection asks the sentinels, in order, for the
///   master's address, connects there, and keeps the connection only if the server calls itself
///   a master (HELLO's `role`, or ROLE on a RESP2 server) — a sentinel that has not seen a
///   failover yet names the old master.
/// - **Failover**: when a discovery finds a new address, or a sentinel announces `+switch-master`
///   on the subscription kept by `watch`, every connection still open to another address is
///   closed; commands in flight there fail with `connectionClosed`, and the pool, pub/sub and the
///   stream reader reconnect — to the new master. A `READONLY` or `UNBLOCKED` reply (the server
///   was demoted under us) closes its connection too (`RESPConnection`).
/// - **Credentials**: sentinels often have a password of their own (or none) and may have TLS
///   settings of their own; the master's are the configuration's (user, password, TLS, database).
///
/// One instance is shared by every copy of the configuration made from one URL. `stop()` ends the
/// `+switch-master` subscription (`RESPClient.shutdown()` calls it).
public final class RESPSentinel: Sendable {
    public struct Settings: Sendable {
        /// The name the sentinels monitor the master under (`sentinel monitor NAME …`).
        public var masterName: String
        /// Where the sentinels listen (26379 by default).
        public var sentinels: [RESPSentinelAddress]
        /// ACL user and password of the sentinels (`requirepass`/`user` in sentinel.conf); nil: none.
        public var username: String?
        public var password: String?
        /// TLS to the sentinels; nil: plaintext.
        public var tls: TLSConfiguration?
        /// Connect and command timeout per sentinel: short, so a dead one costs little (the
        /// specification suggests a few hundred milliseconds).
        public var timeout: Duration
        /// Keep a `+switch-master` subscription on one sentinel, to leave an old master at once.
        public var watchFailovers: Bool
        /// Delays between attempts to reach a sentinel for the subscription.
        public var reconnectBackoff: RESPBackoff

        public init(masterName: String, sentinels: [RESPSentinelAddress], username: String? = nil, password: String? = nil,
                    tls: TLSConfiguration? = nil, timeout: Duration = .milliseconds(1000), watchFailovers: Bool = true,
                    reconnectBackoff: RESPBackoff = RESPBackoff(initial: .milliseconds(100), maximum: .seconds(2))) {
            self.masterName = masterName
            self.sentinels = sentinels
            self.username = username
            self.password = password
            self.tls = tls
            self.timeout = timeout
            self.watchFailovers = watchFailovers
            self.reconnectBackoff = reconnectBackoff
        }
    }

    /// A connection to a master, remembered so a failover can close it.
    private struct Registered: Sendable {
        weak var connection: RESPConnection?
        let address: RESPSentinelAddress
    }

    private struct State: Sendable {
        var list: SentinelList
        var master: RESPSentinelAddress?
        /// How the last verified master connection was made (credentials, TLS, database): the
        /// watcher's catch-up checks a named master's role with it.
        var masterConfiguration: RESPConfiguration?
        var registered: [ObjectIdentifier: Registered] = [:]
        var watcher: Task<Void, Never>?
        var watcherConnection: RESPConnection?
        var stopped = false
        var switches = 0
        var discoveries = 0
        var catchUps = 0
    }

    public let settings: Settings
    private let state: Mutex<State>

    public init(_ settings: Settings) {
        self.settings = settings
        self.state = Mutex(State(list: SentinelList(settings.sentinels)))
    }

    /// The master's address as last found or announced (nil before the first connection).
    public var currentMaster: RESPSentinelAddress? { state.withLock { $0.master } }

    /// The sentinels in the order the next discovery asks them.
    public var sentinelOrder: [RESPSentinelAddress] { state.withLock { $0.list.addresses } }

    /// Times the master changed while connections were open to it (a discovery or `+switch-master`).
    public var masterChanges: Int { state.withLock { $0.switches } }

    /// Masters found by discovery (one per new connection).
    public var discoveries: Int { state.withLock { $0.discoveries } }

    /// Catch-ups the watcher finished after subscribing (tests wait for one).
    var catchUps: Int { state.withLock { $0.catchUps } }

    /// Ends the `+switch-master` subscription. Connections made earlier stay open; new ones still
    /// ask the sentinels.
    public func stop() {
        let (watcher, connection) = state.withLock { s in
            s.stopped = true
            defer { s.watcher = nil; s.watcherConnection = nil }
            return (s.watcher, s.watcherConnection)
        }
        watcher?.cancel()
        connection?.close()
    }

    // MARK: Discovery

    /// Asks the sentinels for the master, connects with `configuration`'s credentials, TLS and
    /// database, and checks the role. Throws the round's failure when no sentinel named a
    /// working master (see `SentinelDiscovery.failure`).
    func connectToMaster(_ configuration: RESPConfiguration) async throws -> RESPConnection {
        var round = SentinelDiscovery(sentinels: sentinelOrder, masterName: settings.masterName)
        while let sentinel = round.nextSentinel() {
            let reply: RESPValue
            do {
                reply = try await ask(sentinel, RESPCommand("SENTINEL", "GET-MASTER-ADDR-BY-NAME", settings.masterName))
            } catch {
                round.sentinelFailed(sentinel, error)
                continue
            }
            guard case .tryMaster(let address) = round.received(reply, from: sentinel) else { continue }
            var target = configuration
            target.sentinel = nil
            target.sentinelManaged = true
            target.endpoint = .tcp(host: address.host, port: address.port)
            let connection: RESPConnection
            do {
                connection = try await RESPConnection.connect(target)
            } catch {
                round.masterFailed(address, error)
                continue
            }
            guard round.masterRole(await Self.role(of: connection), at: address) == .found else {
                connection.close()
                continue
            }
            adopt(connection, at: address, answeredBy: sentinel, configuration: target)
            return connection
        }
        throw round.failure
    }

    /// The role a server reports: HELLO's `role`, or ROLE's first element on a RESP2 server.
    private static func role(of connection: RESPConnection) async -> String? {
        if let role = SentinelDiscovery.role(inHello: connection.helloReply) { return role }
        guard let reply = try? await connection.send("ROLE") else { return nil }
        return SentinelDiscovery.role(inROLE: reply)
    }

    /// A configuration for talking to one sentinel: its own credentials and TLS, short timeouts.
    func sentinelConfiguration(_ sentinel: RESPSentinelAddress) -> RESPConfiguration {
        RESPConfiguration(endpoint: .tcp(host: sentinel.host, port: sentinel.port), username: settings.username,
                          password: settings.password, tls: settings.tls, connectTimeout: settings.timeout,
                          commandTimeout: settings.timeout)
    }

    /// One command on a short-lived connection to `sentinel`.
    private func ask(_ sentinel: RESPSentinelAddress, _ command: RESPCommand) async throws -> RESPValue {
        let connection = try await RESPConnection.connect(sentinelConfiguration(sentinel))
        defer { connection.close() }
        return try await connection.execute(command, timeout: .default)
    }

    /// Registers a verified master connection; a new address closes the connections to the old one.
    private func adopt(_ connection: RESPConnection, at address: RESPSentinelAddress, answeredBy sentinel: RESPSentinelAddress?,
                       configuration: RESPConfiguration) {
        let (stale, startWatcher) = state.withLock { s -> ([RESPConnection], Bool) in
            s.discoveries += 1
            s.masterConfiguration = configuration
            if let sentinel { s.list.promote(sentinel) }
            let stale = Self.switchMaster(&s, to: address)
            s.registered = s.registered.filter { $0.value.connection.map { !$0.isClosed } ?? false }
            s.registered[ObjectIdentifier(connection)] = Registered(connection: connection, address: address)
            let start = settings.watchFailovers && s.watcher == nil && !s.stopped
            return (stale, start)
        }
        for c in stale { c.close(reason: .connectionClosed(reason: "the master moved to \(address) (Sentinel failover)")) }
        if startWatcher { startWatching() }
    }

    /// Records `address` as the master; returns the open connections to any other address.
    private static func switchMaster(_ s: inout State, to address: RESPSentinelAddress) -> [RESPConnection] {
        guard s.master != address else { return [] }
        if s.master != nil { s.switches += 1 }
        s.master = address
        var stale: [RESPConnection] = []
        for (id, entry) in s.registered where entry.address != address {
            if let c = entry.connection, !c.isClosed { stale.append(c) }
            s.registered[id] = nil
        }
        return stale
    }

    /// A sentinel announced a new master (or a watcher found one after reconnecting).
    func masterMoved(to address: RESPSentinelAddress) {
        let stale = state.withLock { s in Self.switchMaster(&s, to: address) }
        for c in stale { c.close(reason: .connectionClosed(reason: "the master moved to \(address) (Sentinel +switch-master)")) }
    }

    // MARK: +switch-master

    private func startWatching() {
        let task = Task(executorPreference: EventLoop.shared) { [self] in await self.watch() }
        let keep = state.withLock { s -> Bool in
            guard s.watcher == nil, !s.stopped else { return false }
            s.watcher = task
            return true
        }
        if !keep { task.cancel() }
    }

    /// Keeps a `+switch-master` subscription on the first sentinel that takes it: subscribe, then
    /// ask for the master (a switch announced while no sentinel was subscribed is caught up with
    /// here, see `SentinelCatchUp`), learn the other sentinels, wait until the connection drops,
    /// repeat.
    private func watch() async {
        var attempt = 0
        while !Task.isCancelled, !state.withLock({ $0.stopped }) {
            for sentinel in sentinelOrder {
                if Task.isCancelled || state.withLock({ $0.stopped }) { return }
                guard let connection = try? await RESPConnection.connect(sentinelConfiguration(sentinel)) else { continue }
                guard connection.protocolVersion == 3 else { connection.close(); continue }
                let registered = state.withLock { s -> Bool in
                    guard !s.stopped else { return false }
                    s.watcherConnection = connection
                    return true
                }
                guard registered else { connection.close(); return }
                connection.setPushHandler { [weak self] push in self?.route(push) }
                do {
                    try await connection.sendSubscription(RESPCommand("SUBSCRIBE", "+switch-master"), confirmations: 1)
                    let reply = try await connection.send("SENTINEL", "GET-MASTER-ADDR-BY-NAME", settings.masterName)
                    await catchUp(with: reply)
                    if let others = try? await connection.send("SENTINEL", "SENTINELS", settings.masterName) {
                        let learned = SentinelEvent.sentinels(in: others)
                        state.withLock { _ = $0.list.learn(learned) }
                    }
                    attempt = 0
                    _ = await connection.waitUntilClosed()
                } catch {
                    connection.close()
                }
            }
            try? await EventLoop.shared.sleep(for: settings.reconnectBackoff.delay(attempt: attempt))
            attempt += 1
        }
    }

    /// Moves to the master a freshly subscribed sentinel names, if that server says it is the
    /// master (a lagging sentinel names the old one).
    private func catchUp(with reply: RESPValue) async {
        let (master, configuration) = state.withLock { ($0.master, $0.masterConfiguration) }
        var catchUp = SentinelCatchUp(currentMaster: master)
        if case .checkRole(let address) = catchUp.named(reply), var target = configuration {
            target.endpoint = .tcp(host: address.host, port: address.port)
            target.connectTimeout = settings.timeout
            target.commandTimeout = settings.timeout
            var role: String?
            if let connection = try? await RESPConnection.connect(target) {
                role = await Self.role(of: connection)
                connection.close()
            }
            if case .move(let address) = catchUp.role(role) {
                // Only from the master the check started from: a `+switch-master` that arrived
                // while the role was being read is newer than this sentinel's answer.
                let stale = state.withLock { s in s.master == master ? Self.switchMaster(&s, to: address) : [] }
                for c in stale { c.close(reason: .connectionClosed(reason: "the master moved to \(address) (a sentinel named it after a failover)")) }
            }
        }
        state.withLock { $0.catchUps += 1 }
    }

    /// Runs on the sentinel connection's reader: a `+switch-master` for our master moves us.
    private func route(_ push: RESPValue) {
        guard case .push(let items) = push.withoutAttributes, let message = RESPPubSubMessage(push: items),
              case .switchMaster(let name, _, let to)? = SentinelEvent(channel: message.channel, payload: message.string),
              name == settings.masterName else { return }
        masterMoved(to: to)
    }
}

extension RESPConnection {
    /// A master found through Sentinel that answers `READONLY` or `UNBLOCKED` was demoted: close
    /// the connection, so that the next one is made after asking the sentinels again (redis-py's
    /// SentinelManagedConnection does the same). Plain connections keep their error replies.
    func noteErrorReply(_ error: RESPServerError) {
        guard configuration.sentinelManaged, SentinelDiscovery.meansDemoted(error) else { return }
        close(reason: .connectionClosed(reason: "the server is no longer the master (\(error.code)); the sentinels will be asked again"))
    }
}
