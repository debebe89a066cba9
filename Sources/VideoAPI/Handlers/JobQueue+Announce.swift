import VideoCore
import RESP

extension JobQueue {
    /// XADD the job, SET its `queued` snapshot and PUBLISH it on both channels, in one MULTI/EXEC:
    /// either the entry and the snapshot both exist or neither does. The API relies on that to
    /// tell a recorded-but-never-enqueued video (no snapshot) from an enqueued one when the same
    /// id is submitted again. Returns the entry id.
    @discardableResult
    func enqueueAnnouncingQueued(_ job: JobMessage, event: ProgressEvent) async throws -> String {
        let batch = [commands.enqueue(job), commands.storeProgress(event)] + commands.publishProgress(event)
        guard let replies = try await redis.transaction(batch.map { RESPCommand($0) }) else {
            throw RESPClientError.unexpectedReply(command: "EXEC", reply: .null)
        }
        for case .error(let e) in replies.map(\.withoutAttributes) { throw e }
        guard let id = replies.first?.string else {
            throw RESPClientError.unexpectedReply(command: "XADD", reply: replies.first ?? .null)
        }
        return id
    }

    /// DEL progress:{id} (a deleted video's snapshot).
    func deleteSnapshot(videoID: String) async throws {
        _ = try await redis.send(RESPCommand(commands.deleteProgress(videoID: videoID)))
    }
}
