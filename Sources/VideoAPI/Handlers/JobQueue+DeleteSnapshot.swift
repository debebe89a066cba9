import VideoCore
import RESP

extension JobQueue {
    /// DEL progress:{id} (a deleted video's snapshot).
    func deleteSnapshot(videoID: String) async throws {
        _ = try await redis.send(RESPCommand(commands.deleteProgress(videoID: videoID)))
    }

    /// Tells the video's open progress streams (on every instance) that it is gone, so they end
    /// instead of sending heartbeats for ever: no progress event will ever come for it again.
    func announceDeleted(videoID: String, channel: String) async throws {
        _ = try await redis.publish(channel, VideoDeletedNotice.payload(videoID: videoID))
    }
}

/// What `DELETE /videos/{id}` publishes on the video's progress channel: not a progress event
/// (a video has no "deleted" status), so the relay recognises it before decoding one.
enum VideoDeletedNotice {
    static func payload(videoID: String) -> String {
        JSONValue.object([("video_id", .string(videoID)), ("deleted", .bool(true))]).text
    }

    static func isNotice(_ payload: [UInt8], videoID: String) -> Bool {
        payload == Array(Self.payload(videoID: videoID).utf8)
    }
}
