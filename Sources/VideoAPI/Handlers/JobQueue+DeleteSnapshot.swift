import VideoCore
import RESP

extension JobQueue {
    /// DEL progress:{id} (a deleted video's snapshot).
    func deleteSnapshot(videoID: String) async throws {
        _ = try await redis.send(RESPCommand(commands.deleteProgress(videoID: videoID)))
    }
}
