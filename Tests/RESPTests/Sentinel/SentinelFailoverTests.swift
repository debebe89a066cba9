import Reactor
import RESP
import Testing
import TestSupport
@testable import RESP

/// Against a real primary, replica and three sentinels started by each test: discovery, the
/// command pool, the blocking stream reader and pub/sub across a failover, a forced switch with
/// the old master alive, TLS + ACL users + a sentinel password of its own, and the errors a
/// person sees when nothing is reachable.
@Suite(.serialized) struct SentinelFailoverTests {
    static let pool = RESPPoolOptions(maxConnections: 4, waitTimeout: .seconds(20),
                                      reconnectBackoff: RESPBackoff(initial: .milliseconds(50), maximum: .milliseconds(500)))

    /// Starts a cluster, runs `body` with a client for it, records any error with the cluster's
    /// logs, and always stops the cluster before returning (no server outlives its test).
    static func withCluster(_ options: RedisSentinelCluster.Options = RedisSentinelCluster.Options(),
                            _ body: (RedisSentinelCluster, RESPConfiguration, RESPClient) async throws -> Void) async throws {
        guard let cluster = try await RedisSentinelCluster.start(options) else { return }
        do {
            let config = try RESPConfiguration(url: cluster.url())
            let client = RESPClient(configuration: config, options: pool)
            do {
                try await body(cluster, config, client)
            } catch {
                Issue.record("\(error)\n\(cluster.logs)")
            }
            await client.shutdown()
        } catch {
            Issue.record("\(error)")
        }
        await cluster.stop()
    }

    /// The port a connection of the pool is on now.
    static func serverPort(_ client: RESPClient) async throws -> Int {
        try await client.withConnection { c in
            guard case .tcp(_, let port) = c.configuration.endpoint else { return -1 }
            return port
        }
    }

    @Test func poolBlockingReaderAndPubSubFollowAKilledPrimary() async throws {
        try await Self.withCluster { cluster, config, client in
            try await client.set("k", "before")
            #expect(try await Self.serverPort(client) == cluster.primaryPort, "discovery found the primary")
            #expect(config.sentinel?.currentMaster?.port == cluster.primaryPort)

            // A subscriber, and a blocking reader on a connection of its own (as vidd's worker has).
            let subscription = try await client.pubSub.subscribe("news")
            _ = try await client.xgroupCreate("jobs", group: "g", id: "$", makeStream: true)
            let reader = Task(executorPreference: EventLoop.shared) { () -> (reconnects: Int, entry: String?) in
                var reconnects = 0
                while !Task.isCancelled {
                    do {
                        let c = try await RESPConnection.connect(config)
                        defer { c.close() }
                        while true {
                            let reads = try await c.xreadgroup(group: "g", consumer: "c1", streams: [("jobs", ">")], count: 1, block: .seconds(1))
                            if let e = reads.first?.entries.first { return (reconnects, e.string("n")) }
                        }
                    } catch {
                        reconnects += 1
                        try? await EventLoop.shared.sleep(for: .milliseconds(100))
                    }
                }
                return (reconnects, nil)
            }
            // Replicated before the kill (WAIT), so the promoted replica has it.
            #expect(try await client.send("WAIT", 1, 5000).int == 1)

            let killedAt = ContinuousClock.now
            try await cluster.kill(port: cluster.primaryPort)
            let promoted = try await cluster.waitForFailover(awayFrom: cluster.primaryPort)

            // The pool: commands wait (or fail once) while the sentinels decide, then go to the new master.
            var failures = 0
            while (try? await client.set("k", "after")) != true { failures += 1 }
            let recovered = ContinuousClock.now - killedAt
            #expect(try await Self.serverPort(client) == cluster.replicaPort)
            #expect(try await client.getString("k") == "after")
            #expect(try await client.get("k") != nil)

            // The blocking reader reconnected to the new master and gets what is added there.
            _ = try await client.xadd("jobs", fields: [("n", "1")])
            let read = await reader.value
            #expect(read.entry == "1", "the reader got the entry from the new master")
            #expect(read.reconnects >= 1)

            // Pub/sub re-subscribed on the new master.
            try await TestSupport.waitUntil("pub/sub re-subscribed on the new master", timeout: .seconds(20)) {
                try await client.send("PUBSUB", "NUMSUB", "news").elements?.last?.int == 1
            }
            _ = try await client.send("PUBLISH", "news", "hello")
            var messages = subscription.makeAsyncIterator()
            #expect(await messages.next()?.string == "hello")
            print("[sentinel] killed primary: sentinels promoted in \(promoted), pool writing again \(recovered) after the kill, \(failures) failed attempt(s)")
        }
    }

    /// `SENTINEL FAILOVER`: the old master stays up and becomes a replica. The `+switch-master`
    /// subscription closes every connection to it — idle pool connections and the pub/sub one —
    /// so nothing keeps talking to a replica.
    @Test func switchMasterClosesConnectionsToTheOldMaster() async throws {
        try await Self.withCluster { cluster, config, client in
            let sentinel = try #require(config.sentinel)
            // Two blocking pops at once: two connections in the pool, both to the primary.
            async let a = client.send("BLPOP", "none", "0.3", timeout: .blocking(server: .milliseconds(300)))
            async let b = client.send("BLPOP", "none", "0.3", timeout: .blocking(server: .milliseconds(300)))
            _ = try await (a, b)
            let subscription = try await client.pubSub.subscribe("news")
            #expect(client.openConnections == 2)

            _ = try await cluster.cli(port: cluster.sentinelPorts[0], ["SENTINEL", "FAILOVER", cluster.options.masterName], sentinel: true)
            _ = try await cluster.waitForFailover(awayFrom: cluster.primaryPort)
            try await TestSupport.waitUntil("the watcher heard +switch-master", timeout: .seconds(20)) {
                sentinel.currentMaster?.port == cluster.replicaPort
            }
            #expect(sentinel.masterChanges == 1)
            // Writes go to the new master, without a READONLY from the old one.
            try await client.set("k", "v")
            #expect(try await Self.serverPort(client) == cluster.replicaPort)
            try await TestSupport.waitUntil("pub/sub moved to the new master", timeout: .seconds(20)) {
                try await client.send("PUBSUB", "NUMSUB", "news").elements?.last?.int == 1
            }
            _ = try await client.send("PUBLISH", "news", "moved")
            var messages = subscription.makeAsyncIterator()
            #expect(await messages.next()?.string == "moved")
            #expect(client.pubSub.reconnectCount >= 1)
        }
    }

    /// The sentinel the `+switch-master` subscription is on dies: the watcher subscribes on
    /// another one, and still hears of (or catches up with) the next failover.
    /// The ports of the sentinels that have a subscribed client: the watcher's (sentinels do not
    /// subscribe to each other).
    static func watchedSentinels(_ cluster: RedisSentinelCluster) async -> [Int] {
        var ports: [Int] = []
        for port in cluster.sentinelPorts {
            if let list = try? await cluster.cli(port: port, ["CLIENT", "LIST"], sentinel: true), list.contains(" sub=1 ") { ports.append(port) }
        }
        return ports
    }

    @Test func watcherMovesOnWhenItsSentinelDies() async throws {
        try await Self.withCluster { cluster, config, client in
            let sentinel = try #require(config.sentinel)
            try await client.set("k", "v")
            @Sendable func subscribed() async -> [Int] { await Self.watchedSentinels(cluster) }
            try await TestSupport.waitUntil("the watcher subscribed", timeout: .seconds(20)) { await subscribed().count == 1 }
            let first = await subscribed()[0]
            let index = try #require(cluster.sentinelPorts.firstIndex(of: first))
            try await cluster.killSentinel(index)
            try await TestSupport.waitUntil("the watcher subscribed on another sentinel", timeout: .seconds(20)) {
                let now = await subscribed()
                return now.count == 1 && now[0] != first
            }
            let other = try #require(cluster.sentinelPorts.first { $0 != first })
            _ = try await cluster.cli(port: other, ["SENTINEL", "FAILOVER", cluster.options.masterName], sentinel: true)
            _ = try await cluster.waitForFailover(awayFrom: cluster.primaryPort, skipping: [first])
            try await TestSupport.waitUntil("the watcher heard +switch-master", timeout: .seconds(20)) {
                sentinel.currentMaster?.port == cluster.replicaPort
            }
            try await client.set("k", "after")
            #expect(try await Self.serverPort(client) == cluster.replicaPort)
        }
    }

    /// A sentinel that was down during a failover comes back alone, still naming the old master
    /// (a replica by then). The watcher, subscribing there, asks it for the master to catch up
    /// with a switch it may have missed: the named server says it is a replica, so the client
    /// stays on the real master and keeps its connections there.
    @Test func aLaggingSentinelDoesNotMoveTheClientToTheOldMaster() async throws {
        try await Self.withCluster { cluster, config, client in
            let sentinel = try #require(config.sentinel)
            let name = cluster.options.masterName
            try await client.set("k", "v")
            try await TestSupport.waitUntil("the watcher subscribed", timeout: .seconds(20)) { await Self.watchedSentinels(cluster).count == 1 }
            let watched = await Self.watchedSentinels(cluster)[0]
            let lagging = try #require(cluster.sentinelPorts.firstIndex { $0 != watched })
            let laggingPort = cluster.sentinelPorts[lagging]
            let others = cluster.sentinelPorts.indices.filter { $0 != lagging }
            try await cluster.killSentinel(lagging)

            _ = try await cluster.cli(port: cluster.sentinelPorts[others[0]], ["SENTINEL", "FAILOVER", name], sentinel: true)
            _ = try await cluster.waitForFailover(awayFrom: cluster.primaryPort, skipping: [laggingPort])
            try await TestSupport.waitUntil("the watcher heard +switch-master", timeout: .seconds(20)) {
                sentinel.currentMaster?.port == cluster.replicaPort
            }
            try await TestSupport.waitUntil("the old master is a replica", timeout: .seconds(20)) {
                try await cluster.cli(port: cluster.primaryPort, ["ROLE"]).hasPrefix("slave")
            }
            let changes = sentinel.masterChanges
            let kept = try await client.withConnection { $0 }   // to the new master; must stay open
            #expect(try await Self.serverPort(client) == cluster.replicaPort)

            // The lagging sentinel, alone, cannot learn of the failover from the others.
            let catchUps = sentinel.catchUps
            for i in others { try await cluster.killSentinel(i) }
            try await cluster.restartSentinel(lagging)
            try await TestSupport.waitUntil("the restarted sentinel names the old master", timeout: .seconds(20)) {
                try await cluster.cli(port: laggingPort, ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", name], sentinel: true)
                    .hasSuffix("\n\(cluster.primaryPort)")
            }
            try await TestSupport.waitUntil("the watcher subscribed on the lagging sentinel and caught up", timeout: .seconds(30)) {
                await Self.watchedSentinels(cluster) == [laggingPort] && sentinel.catchUps > catchUps
            }
            #expect(sentinel.currentMaster?.port == cluster.replicaPort)
            #expect(sentinel.masterChanges == changes)
            #expect(!kept.isClosed, "a connection to the real master was closed")
            try await client.set("k", "after")
            #expect(try await Self.serverPort(client) == cluster.replicaPort)
        }
    }

    /// A master named by a sentinel that answers READONLY was demoted: its connection closes so
    /// the next one asks the sentinels again. A plain connection keeps its error replies.
    @Test func readOnlyReplyClosesASentinelManagedConnection() async throws {
        try await Self.withCluster { cluster, _, _ in
            var managed = try RESPConfiguration(url: cluster.directURL(port: cluster.replicaPort))
            managed.sentinelManaged = true
            let demoted = try await RESPConnection.connect(managed)
            await #expect(throws: RESPServerError.self) { try await demoted.set("k", "v") }
            #expect(demoted.isClosed, "READONLY closed it")

            let plain = try await RESPConnection.connect(try RESPConfiguration(url: cluster.directURL(port: cluster.replicaPort)))
            await #expect(throws: RESPServerError.self) { try await plain.set("k", "v") }
            #expect(!plain.isClosed)
            // In a MULTI the refusal is queued: EXECABORT, and the READONLY behind it closes too.
            let managedAgain = try await RESPConnection.connect(managed)
            await #expect(throws: RESPServerError.self) { try await managedAgain.transaction([RESPCommand("SET", "k", "v")]) }
            #expect(managedAgain.isClosed)
            plain.close()
        }
    }

    /// TLS to the sentinels and the data nodes, an ACL user on the data nodes, and a sentinel
    /// password that is not the master's: discovery, a failover, and wrong credentials refused
    /// with the server's own error (not retried for ever).
    @Test func tlsAclUserAndSentinelPassword() async throws {
        guard let ca = try TestServices.require(TestServices.caFile, "VIDD_TEST_CA_FILE"),
              let cert = TestServices.serverCertFile, let key = TestServices.serverKeyFile else { return }
        var options = RedisSentinelCluster.Options()
        options.tls = (ca, cert, key)
        options.aclUser = ("app", "app-secret")
        options.sentinelPassword = "sentinel-secret"
        try await Self.withCluster(options) { cluster, config, client in
            #expect(config.useTLS && config.sentinel?.settings.tls != nil)
            try await client.set("k", "v")
            #expect(try await client.send("ACL", "WHOAMI").string == "app")
            try await cluster.kill(port: cluster.primaryPort)
            _ = try await cluster.waitForFailover(awayFrom: cluster.primaryPort)
            while (try? await client.set("k", "after")) != true {}
            #expect(try await Self.serverPort(client) == cluster.replicaPort)
            #expect(try await client.send("ACL", "WHOAMI").string == "app")

            // Wrong sentinel password: every sentinel refuses; the error is theirs, at once.
            let wrongSentinel = RESPClient(configuration: try RESPConfiguration(url: cluster.url().replacing("sentinel-secret", with: "nope")),
                                           options: Self.pool)
            let started = ContinuousClock.now
            await #expect(throws: RESPServerError.self) { try await wrongSentinel.ping() }
            #expect(ContinuousClock.now - started < .seconds(10), "authentication errors are not retried until the pool gives up")
            await wrongSentinel.shutdown()
            // Wrong master password.
            let wrongMaster = RESPClient(configuration: try RESPConfiguration(url: cluster.url(userinfo: "app:nope@")), options: Self.pool)
            let error = await #expect(throws: RESPServerError.self) { try await wrongMaster.ping() }
            #expect(error?.code == "WRONGPASS")
            await wrongMaster.shutdown()
        }
    }

    @Test func unreachableSentinelsAndUnknownNamesAreExplained() async throws {
        let ports = try FreePorts.take(2)
        let nobody = try RESPConfiguration(url: "redis-sentinel://127.0.0.1:\(ports[0]),127.0.0.1:\(ports[1])/mymaster?sentinel_timeout_ms=300")
        let error = await #expect(throws: RESPClientError.self) { try await RESPConnection.connect(nobody) }
        let text = error.map { "\($0)" } ?? ""
        #expect(text.contains("master mymaster via sentinels 127.0.0.1:\(ports[0]),127.0.0.1:\(ports[1])"), "\(text)")
        #expect(text.contains("sentinel 127.0.0.1:\(ports[0]):") && text.contains("sentinel 127.0.0.1:\(ports[1]):"), "\(text)")

        try await Self.withCluster { cluster, _, _ in
            let unknown = try RESPConfiguration(url: cluster.url().replacing("/mymaster", with: "/other"))
            let e2 = await #expect(throws: RESPClientError.self) { try await RESPConnection.connect(unknown) }
            #expect("\(e2.map { "\($0)" } ?? "")".contains("does not know a master named other"))

            // A dead sentinel first in the list: skipped, and the one that answered is asked first next.
            let mixed = try RESPConfiguration(url: "redis-sentinel://:\(cluster.options.password!)@127.0.0.1:\(ports[0]),127.0.0.1:\(cluster.sentinelPorts[1])/mymaster?sentinel_timeout_ms=300")
            let c = try await RESPConnection.connect(mixed)
            #expect(try await c.ping() == "PONG")
            #expect(mixed.sentinel?.sentinelOrder.first?.port == cluster.sentinelPorts[1])
            c.close()
            mixed.sentinel?.stop()
        }
    }
}
