import RESP

/// The Redis side both the API and the worker use: the job stream's group, enqueueing, and
/// progress publishing (the snapshot key and both channels, one pipelined round trip).
public struct JobQueue: Sendable {
    public let redis: RESPClient
    public let commands: RedisCommands

    public init(redis: RESPClient, commands: RedisCommands) {
        self.redis = redis
        self.commands = commands
    }

    public init(context: ServiceContext, consumer: String) {
        self.init(redis: context.redis, commands: RedisCommands(context.configuration, consumer: consumer))
    }

    /// Creates the consumer group (and the stream) unless it exists. The group starts at `0`, so
    /// jobs enqueued before any worker ever started are still delivered. Both the API and the
    /// worker call this at start: whichever comes first creates it.
    public func ensureGroup() async throws {
        let keys = commands.keys
        _ = try await redis.xgroupCreate(keys.jobStream, group: keys.consumerGroup, id: "0", makeStream: true)
    }

    /// XADD with MAXLEN ~: returns the entry id.
    @discardableResult
    public func enqueue(_ job: JobMessage) async throws -> String {
        let reply = try await redis.send(RESPCommand(commands.enqueue(job)))
        guard let id = reply.string else { throw RESPClientError.unexpectedReply(command: "XADD", reply: reply) }
        return id
    }

    /// XADD the job, SET its `queued` snapshot and PUBLISH it on both channels, in one MULTI/EXEC:
    /// either the entry and the snapshot both exist or neither does. `EnqueueOutbox` relies on
    /// that to tell a recorded-but-never-enqueued video (no live snapshot) from an enqueued one.
    /// Returns the entry id.
    ///
    /// Behind Sentinel, the entry is also on a replica before this returns (`WAIT`, see
    /// `replicationWait`): replication is asynchronous, and a master that dies right after EXEC
    /// would otherwise take an accepted job with it when its replica is promoted.
    @discardableResult
    package func enqueueAnnouncingQueued(_ job: JobMessage, event: ProgressEvent, timeout: RESPTimeout = .default,
                                         logger: Logger? = nil) async throws -> String {
        let batch = [commands.enqueue(job), commands.storeProgress(event)] + commands.publishProgress(event)
        let wait = redis.configuration.sentinel != nil ? Self.replicationWait : nil
        let replies = try await redis.withConnection { connection -> [RESPValue]? in
            let replies = try await connection.transaction(batch.map { RESPCommand($0) }, timeout: timeout)
            // WAIT answers how many replicas have everything this connection wrote so far.
            if let wait, replies != nil {
                let acknowledged = try await connection.send("WAIT", wait.replicas, wait.milliseconds,
                                                             timeout: .blocking(server: .milliseconds(wait.milliseconds)))
                if (acknowledged.int ?? 0) < wait.replicas {
                    logger?.warning("no replica confirmed the enqueue within \(wait.milliseconds) ms: a failover now could lose it")
                }
            }
            return replies
        }
        guard let replies else {
            throw RESPClientError.unexpectedReply(command: "EXEC", reply: .null)
        }
        for case .error(let e) in replies.map(\.withoutAttributes) { throw e }
        guard let id = replies.first?.string else {
            throw RESPClientError.unexpectedReply(command: "XADD", reply: replies.first ?? .null)
        }
        return id
    }

    /// `WAIT 1 1000` after an enqueue behind Sentinel: one replica (the one Sentinel would promote
    /// has the highest replication offset, so it has the entry) within a second. A replica that is
    /// down costs each enqueue that second, not the job: the entry is on the master either way.
    static let replicationWait = (replicas: 1, milliseconds: 1000)

    /// SET progress:{id} PX ttl, PUBLISH video:progress:{id}, PUBLISH video:progress:all.
    public func publish(_ event: ProgressEvent) async throws {
        let all = [commands.storeProgress(event)] + commands.publishProgress(event)
        let replies = try await redis.pipeline(all.map { RESPCommand($0) })
        for case .error(let e) in replies.map(\.withoutAttributes) { throw e }
    }

    /// The latest progress JSON, or nil (never started, or expired).
    public func snapshot(videoID: String, timeout: RESPTimeout = .default) async throws -> String? {
        let reply = try await redis.send(RESPCommand(commands.readProgress(videoID: videoID)), timeout: timeout)
        return reply.isNull ? nil : reply.string
    }

    /// The latest progress event, or nil (never started, expired, or not a progress event).
    public func latestProgress(videoID: String, timeout: RESPTimeout = .default) async throws -> ProgressEvent? {
        try await snapshot(videoID: videoID, timeout: timeout).flatMap { try? ProgressEvent.decode(Array($0.utf8)) }
    }
}
