import VideoCore
import RESP

extension JobQueue {
    /// XADD the job, SET its `queued` snapshot and PUBLISH it on both channels, in one MULTI/EXEC:
    /// either the entry and the snapshot both exist or neither does. The API relies on that to
    /// tell a recorded-but-never-enqueued video (no snapshot) from an enqueued one when the same
    /// id is submitted again. Returns the entry id.
    ///
    /// Behind Sentinel, the entry is also on a replica before the API answers 202 (`WAIT`, see
    /// `replicationWait`): replication is asynchronous, and a master that dies right after EXEC
    /// would otherwise take an accepted job with it when its replica is promoted.
    @discardableResult
    func enqueueAnnouncingQueued(_ job: JobMessage, event: ProgressEvent, logger: Logger? = nil) async throws -> String {
        let batch = [commands.enqueue(job), commands.storeProgress(event)] + commands.publishProgress(event)
        let wait = redis.configuration.sentinel != nil ? Self.replicationWait : nil
        let replies = try await redis.withConnection { connection -> [RESPValue]? in
            let replies = try await connection.transaction(batch.map { RESPCommand($0) })
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

    /// DEL progress:{id} (a deleted video's snapshot).
    func deleteSnapshot(videoID: String) async throws {
        _ = try await redis.send(RESPCommand(commands.deleteProgress(videoID: videoID)))
    }
}
