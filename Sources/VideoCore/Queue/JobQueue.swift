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

    /// XADD the job and publish its `queued` event (`RedisCommands.publishProgress`: the snapshot,
    /// both histories, both channels) in one MULTI/EXEC:
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
        let batch = [commands.enqueue(job), commands.publishProgress(event)]
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

    /// One script (`RedisCommands.publishProgress`): both histories, the `progress:{id}`
    /// snapshot, both channels. Returns the event id (the feed's entry id).
    @discardableResult
    public func publish(_ event: ProgressEvent) async throws -> String {
        let reply = try await redis.send(RESPCommand(commands.publishProgress(event)))
        if case .error(let e) = reply.withoutAttributes { throw e }
        guard let id = reply.string else { throw RESPClientError.unexpectedReply(command: "EVAL", reply: reply) }
        return id
    }

    /// The latest progress JSON, or nil (never started, or expired).
    public func snapshot(videoID: String, timeout: RESPTimeout = .default) async throws -> String? {
        let reply = try await redis.send(RESPCommand(commands.readProgress(videoID: videoID)), timeout: timeout)
        return reply.isNull ? nil : reply.string
    }

    /// The latest progress event, or nil (never started, expired, or not a progress event).
    public func latestProgress(videoID: String, timeout: RESPTimeout = .default) async throws -> ProgressEvent? {
        try await latestProgressEntry(videoID: videoID, timeout: timeout)?.event
    }

    /// The latest progress event with its id (nil when it was stored without one).
    public func latestProgressEntry(videoID: String, timeout: RESPTimeout = .default) async throws -> (id: ProgressEventID?, event: ProgressEvent)? {
        try await snapshot(videoID: videoID, timeout: timeout).flatMap { try? ProgressEvent.decodeMessage(Array($0.utf8)) }
    }

    /// The events after `lastEventID` in a history stream (`keys.progressHistory(id)` or
    /// `keys.progressFeed`) with the event at `lastEventID` itself, or nil when that id is no
    /// longer (or never was) in it — then what follows it is not known to be complete.
    public func progressReplay(stream: String, after lastEventID: ProgressEventID) async throws
        -> (at: ProgressEvent?, after: [(id: ProgressEventID, event: ProgressEvent?)])? {
        let reply = try await redis.send(RESPCommand(commands.progressReplay(stream: stream, after: lastEventID.description)))
        guard let parts = reply.elements, parts.count == 2, let following = parts[1].elements else { return nil }
        func entry(_ value: RESPValue) -> (id: ProgressEventID, event: ProgressEvent?)? {
            guard let pair = value.elements, pair.count == 2, let id = pair[0].string.flatMap({ ProgressEventID($0) }),
                  let fields = pair[1].elements else { return nil }
            // Fields are [name, value, …]; the event is under `e`.
            var event: ProgressEvent?
            var i = 0
            while i + 1 < fields.count {
                if fields[i].string == "e", let json = fields[i + 1].string { event = try? ProgressEvent.decode(Array(json.utf8)) }
                i += 2
            }
            return (id, event)
        }
        return (entry(parts[0])?.event, following.compactMap(entry))
    }
}
