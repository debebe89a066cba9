import Testing
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

@Suite struct RedisCommandsTests {
    static let id = "0f8e3c9a-1111-4222-8333-444455556666"
    let commands = RedisCommands(keys: Configuration.KeyNames(), consumer: "host-1-ab", streamMaxLength: 1000, progressTTL: .seconds(86_400))
    let job = JobMessage(videoID: id, sourceKey: "source/\(id)/a.mp4", attempt: 1, enqueuedAt: "T")

    @Test func queueCommands() throws {
        #expect(commands.createGroup == ["XGROUP", "CREATE", "video:jobs", "video-workers", "0", "MKSTREAM"])
        #expect(commands.enqueue(job) == ["XADD", "video:jobs", "MAXLEN", "~", "1000", "*", "video_id", Self.id,
                                          "source_key", "source/\(Self.id)/a.mp4", "attempt", "1", "enqueued_at", "T"])
        #expect(commands.read(count: 2, block: .seconds(5)) == ["XREADGROUP", "GROUP", "video-workers", "host-1-ab", "COUNT", "2", "BLOCK", "5000", "STREAMS", "video:jobs", ">"])
        #expect(commands.autoclaim(minIdle: .seconds(60), count: 1) == ["XAUTOCLAIM", "video:jobs", "video-workers", "host-1-ab", "60000", "0-0", "COUNT", "1"])
        #expect(commands.pending(entryID: "1-0") == ["XPENDING", "video:jobs", "video-workers", "IDLE", "0", "1-0", "1-0", "1"])
        #expect(commands.heartbeat(entryIDs: ["1-0", "2-0"]) == ["XCLAIM", "video:jobs", "video-workers", "host-1-ab", "0", "1-0", "2-0", "JUSTID"])
        #expect(commands.acknowledge(entryID: "1-0") == ["XACK", "video:jobs", "video-workers", "1-0"])
        let dead = commands.deadLetter(job, entryID: "1-0", deliveries: 4, reason: "gave up", at: "T2")
        #expect(dead.prefix(6) == ["XADD", "video:jobs:dead", "MAXLEN", "~", "1000", "*"])
        #expect(dead.suffix(8) == ["original_entry_id", "1-0", "deliveries", "4", "reason", "gave up", "dead_lettered_at", "T2"])
        // The dead-lettered entry is still a readable job message (for a manual replay).
        let pairs = stride(from: 6, to: dead.count, by: 2).map { (dead[$0], dead[$0 + 1]) }
        #expect(try JobMessage(fields: pairs) == job)
    }

    @Test func progressCommands() {
        let e = ProgressEvent(videoID: Self.id, status: .processing, percent: 5, timestamp: "T")
        let publish = commands.publishProgress(e)
        #expect(publish.first == "EVAL" && publish[1] == RedisCommands.publishProgressScript)
        #expect(Array(publish.dropFirst(2)) == ["3", "progress:\(Self.id)", "progress:\(Self.id):events", "video:progress:all:events",
                                                e.jsonString(), "86400000", "1000", "10000", "video:progress:\(Self.id)", "video:progress:all"])
        #expect(commands.progressReplay(stream: "s", after: "5-1") == ["EVAL", RedisCommands.progressReplayScript, "1", "s", "5-1"])
        #expect(commands.deleteProgress(videoID: Self.id) == ["DEL", "progress:\(Self.id)", "progress:\(Self.id):events"])
        #expect(commands.readProgress(videoID: Self.id) == ["GET", "progress:\(Self.id)"])
        #expect(commands.subscribe(videoID: Self.id) == ["SUBSCRIBE", "video:progress:\(Self.id)"])
        #expect(commands.subscribe(videoID: nil) == ["SUBSCRIBE", "video:progress:all"])
    }
}
