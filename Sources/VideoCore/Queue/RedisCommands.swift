/// The Redis commands the queue and progress publishing send, as argument vectors — what any RESP
/// client's `send(_ arguments: [String])` takes — so the wiring only has to send them and read
/// the replies.
public struct RedisCommands: Sendable {
    public let keys: Configuration.KeyNames
    public let consumer: String
    public let streamMaxLength: Int
    public let progressTTL: Duration
    /// How many events each video's history stream keeps, and the feed's (`Last-Event-ID`).
    public let progressHistory: ProgressHistoryLimits

    public init(keys: Configuration.KeyNames, consumer: String, streamMaxLength: Int = 100_000, progressTTL: Duration = .seconds(86_400),
                progressHistory: ProgressHistoryLimits = ProgressHistoryLimits()) {
        self.keys = keys
        self.consumer = consumer
        self.streamMaxLength = streamMaxLength
        self.progressTTL = progressTTL
        self.progressHistory = progressHistory
    }

    public init(_ c: Configuration, consumer: String) {
        self.init(keys: c.keys, consumer: consumer, streamMaxLength: c.streamMaxLength, progressTTL: c.progressTTL,
                  progressHistory: c.progressHistory)
    }

    /// At start; a `BUSYGROUP` error means it exists already (fine). `0`: a new group sees every
    /// entry already in the stream (jobs enqueued before the first worker ever started).
    public var createGroup: [String] { ["XGROUP", "CREATE", keys.jobStream, keys.consumerGroup, "0", "MKSTREAM"] }

    /// `POST /jobs`: the stream stays bounded (approximate trimming is O(1) amortised).
    public func enqueue(_ job: JobMessage) -> [String] {
        ["XADD", keys.jobStream, "MAXLEN", "~", String(streamMaxLength), "*"] + job.fields.flatMap { [$0.0, $0.1] }
    }

    /// `WorkerStateMachine.Action.read`.
    public func read(count: Int, block: Duration) -> [String] {
        ["XREADGROUP", "GROUP", keys.consumerGroup, consumer, "COUNT", String(count), "BLOCK", String(block.wholeMilliseconds),
         "STREAMS", keys.jobStream, ">"]
    }

    /// `.autoclaim`: entries idle longer than the lease move to this consumer (delivery count + 1).
    public func autoclaim(minIdle: Duration, count: Int, cursor: String = "0-0") -> [String] {
        ["XAUTOCLAIM", keys.jobStream, keys.consumerGroup, consumer, String(minIdle.wholeMilliseconds), cursor, "COUNT", String(count)]
    }

    /// Delivery count of one entry (XAUTOCLAIM does not return it): reply [[id, consumer, idle, count]].
    public func pending(entryID: String) -> [String] {
        ["XPENDING", keys.jobStream, keys.consumerGroup, "IDLE", "0", entryID, entryID, "1"]
    }

    /// `.heartbeat`: re-claim our own entries with min-idle 0 — resets their idle time; JUSTID
    /// does not count a delivery.
    public func heartbeat(entryIDs: [String]) -> [String] {
        ["XCLAIM", keys.jobStream, keys.consumerGroup, consumer, "0"] + entryIDs + ["JUSTID"]
    }

    /// `.heartbeat` as the worker sends it: the same `XCLAIM … 0 id JUSTID`, but only for entries
    /// still pending under this consumer, checked and claimed atomically in one script. A plain
    /// XCLAIM with min-idle 0 takes an entry from whoever holds it: a worker that stalled past its
    /// lease (and was taken over) would steal its job back and both would run it. The reply lists
    /// the entries still ours; a job whose entry is missing lost its lease and must stop.
    public func heartbeatOwned(entryIDs: [String]) -> [String] {
        ["EVAL", Self.heartbeatScript, "1", keys.jobStream, keys.consumerGroup, consumer] + entryIDs
    }

    /// KEYS[1] stream; ARGV[1] group, ARGV[2] consumer, ARGV[3…] entry ids → the ids re-claimed.
    public static let heartbeatScript = """
        local owned = {}
        for i = 3, #ARGV do
          local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
          if p[1] ~= nil and p[1][2] == ARGV[2] then
            redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
            owned[#owned + 1] = ARGV[i]
          end
        end
        return owned
        """

    /// `.release` and jobs cancelled at shutdown: gives the entry the idle time of one delivered
    /// at the epoch (`XCLAIM … TIME 0 JUSTID`: no delivery counted), which every worker's
    /// XAUTOCLAIM takes at once — only if it is still pending under this consumer, checked and
    /// claimed in one script as the heartbeat is, so a job another worker took over is never
    /// touched. With `announcing`, the `queued` event is published (`publishProgress`) in the same
    /// script: before any worker can take the entry, so it cannot overwrite that worker's progress.
    /// Replies 1 when handed back, 0 when the entry was not ours.
    public func release(entryID: String, announcing event: ProgressEvent? = nil) -> [String] {
        let videoID = event?.videoID ?? ""
        return ["EVAL", Self.releaseScript, "4", keys.jobStream] + progressKeys(videoID: videoID)
            + [keys.consumerGroup, consumer, entryID] + progressArguments(event?.jsonString() ?? "", videoID: videoID)
    }

    /// KEYS[1] stream, KEYS[2…4] as `publishProgressScript`'s KEYS[1…3]; ARGV[1] group, ARGV[2]
    /// consumer, ARGV[3] entry id, ARGV[4…9] as `publishProgressScript`'s ARGV[1…6] (event JSON "": none).
    public static let releaseScript = progressPublisherLua + """
        local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
        if p[1] == nil or p[1][2] ~= ARGV[2] then return 0 end
        redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'TIME', 0, 'JUSTID')
        if ARGV[4] ~= '' then
          publish_progress(KEYS[2], KEYS[3], KEYS[4], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9])
        end
        return 1
        """

    /// `.sweep`: deletes the group's consumers that have nothing pending and have been idle for
    /// `minIdle` (or only `consumer`, when given). XGROUP DELCONSUMER drops a consumer's pending
    /// entries with it, so the check and the delete run in one script: no entry can be delivered
    /// to a consumer between them. Replies with the names removed.
    public func removeIdleConsumers(minIdle: Duration, only consumer: String? = nil) -> [String] {
        ["EVAL", Self.removeIdleConsumersScript, "1", keys.jobStream, keys.consumerGroup, String(minIdle.wholeMilliseconds)]
            + (consumer.map { [$0] } ?? [])
    }

    /// KEYS[1] stream; ARGV[1] group, ARGV[2] minimum idle ms, ARGV[3] optional consumer name.
    public static let removeIdleConsumersScript = """
        local ok, consumers = pcall(redis.call, 'XINFO', 'CONSUMERS', KEYS[1], ARGV[1])
        if not ok then return {} end
        local removed = {}
        for _, c in ipairs(consumers) do
          local info = {}
          for i = 1, #c, 2 do info[c[i]] = c[i + 1] end
          if (ARGV[3] == nil or info['name'] == ARGV[3]) and info['pending'] == 0 and info['idle'] >= tonumber(ARGV[2]) then
            redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
            removed[#removed + 1] = info['name']
          end
        end
        return removed
        """

    /// `.acknowledge` (after the database has recorded the outcome).
    public func acknowledge(entryID: String) -> [String] {
        ["XACK", keys.jobStream, keys.consumerGroup, entryID]
    }

    /// `.deadLetter`: the job's fields plus why and where from; then mark failed, then acknowledge.
    public func deadLetter(_ job: JobMessage, entryID: String, deliveries: Int, reason: String, at timestamp: String) -> [String] {
        deadLetter(fields: job.fields, entryID: entryID, deliveries: deliveries, reason: reason, at: timestamp)
    }

    /// An entry that is not a job at all (no video id, bad key) keeps its fields as they were.
    public func deadLetter(fields: [(String, String)], entryID: String, deliveries: Int, reason: String, at timestamp: String) -> [String] {
        ["XADD", keys.deadLetterStream, "MAXLEN", "~", String(streamMaxLength), "*"]
            + fields.flatMap { [$0.0, $0.1] }
            + ["original_entry_id", entryID, "deliveries", String(deliveries), "reason", reason, "dead_lettered_at", timestamp]
    }

    /// Publishes one progress event, atomically (one script): appended to the video's capped
    /// history stream and to the feed's, stored as the `progress:{id}` snapshot and PUBLISHed on
    /// both channels. The feed's entry id is the event's id everywhere (the video's entry reuses
    /// it), and the stored and published JSON carry it as `event_id`, so an SSE client's
    /// `Last-Event-ID` names a position in either history. Replies the event id.
    public func publishProgress(_ event: ProgressEvent) -> [String] {
        ["EVAL", Self.publishProgressScript, "3"] + progressKeys(videoID: event.videoID)
            + progressArguments(event.jsonString(), videoID: event.videoID)
    }

    /// The snapshot key, the video's history stream and the feed stream.
    func progressKeys(videoID: String) -> [String] {
        [keys.progressKey(videoID), keys.progressHistory(videoID), keys.progressFeed]
    }

    func progressArguments(_ json: String, videoID: String) -> [String] {
        [json, String(progressTTL.wholeMilliseconds), String(progressHistory.perVideo), String(progressHistory.feed),
         keys.progressChannel(videoID), keys.progressAllChannel]
    }

    /// KEYS[1] snapshot key, KEYS[2] video history, KEYS[3] feed; ARGV[1] event JSON (an object),
    /// ARGV[2] TTL ms, ARGV[3] video history length, ARGV[4] feed length, ARGV[5] video channel,
    /// ARGV[6] feed channel.
    public static let publishProgressScript = progressPublisherLua
        + "return publish_progress(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])"

    /// The one definition of publishing, shared by the scripts that publish. The video's history
    /// takes the feed's id: the feed holds every event, so its new id is above any the video's
    /// stream holds — unless the feed was removed behind vidd's back, and then the video's own
    /// next id is used (its SSE clients still resume; only the two ids differ). Both streams
    /// live as long as the snapshot after their last event (the same TTL).
    static let progressPublisherLua = """
        local function publish_progress(snapshot, history, feed, json, ttl, history_len, feed_len, channel, feed_channel)
          local id = redis.call('XADD', feed, 'MAXLEN', '~', feed_len, '*', 'e', json)
          local ok = pcall(redis.call, 'XADD', history, 'MAXLEN', '~', history_len, id, 'e', json)
          if not ok then redis.call('XADD', history, 'MAXLEN', '~', history_len, '*', 'e', json) end
          redis.call('PEXPIRE', history, ttl)
          redis.call('PEXPIRE', feed, ttl)
          local message = '{"event_id":"' .. id .. '",' .. string.sub(json, 2)
          redis.call('SET', snapshot, message, 'PX', ttl)
          redis.call('PUBLISH', channel, message)
          redis.call('PUBLISH', feed_channel, message)
          return id
        end

        """

    /// The events after `lastEventID` in a history stream (the video's or the feed's), read in
    /// one script with the check that `lastEventID` itself is still there — only then is what
    /// follows it complete (trimming removes the oldest entries first). Reply: nil when it is
    /// not (unknown, expired, trimmed away, or a Redis that lost its data), else
    /// `[entry at lastEventID, [entries after it…]]`.
    public func progressReplay(stream: String, after lastEventID: String) -> [String] {
        ["EVAL", Self.progressReplayScript, "1", stream, lastEventID]
    }

    public static let progressReplayScript = """
        local at = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
        if #at == 0 then return false end
        return {at[1], redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+')}
        """

    public func readProgress(videoID: String) -> [String] { ["GET", keys.progressKey(videoID)] }

    public func subscribe(videoID: String?) -> [String] {
        ["SUBSCRIBE", videoID.map(keys.progressChannel) ?? keys.progressAllChannel]
    }

    public func deleteProgress(videoID: String) -> [String] { ["DEL", keys.progressKey(videoID), keys.progressHistory(videoID)] }
}
