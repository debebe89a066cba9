import Foundation
import RESP
import Testing
import TestSupport
@testable import VideoCore
@testable import VideoWorker

/// What a worker leaves behind when it stops or dies: work directories of dead workers are swept,
/// and consumers with nothing pending do not pile up in the group. (A job handed back at shutdown:
/// `WorkerTests.stopMidJobHandsTheJobToTheNextWorkerAtOnce`.)
@Suite struct WorkerHygieneTests {
    static func setModificationTime(_ path: String, secondsAgo: Int) {
        var times = [timespec(tv_sec: time(nil) - secondsAgo, tv_nsec: 0), timespec(tv_sec: time(nil) - secondsAgo, tv_nsec: 0)]
        _ = utimensat(AT_FDCWD, path, &times, 0)
    }

    /// On start a worker removes work directories left by dead workers (older than a lease, no
    /// live owner): never a live worker's, even an old one sharing the work root, never a fresh
    /// one (its owner may be about to lock it), never anything that is not a work directory.
    @Test func sweepRemovesOnlyDeadWorkersOldWorkDirectories() async throws {
        let base = try FileFixture.makeTemporaryDirectory()
        defer { FileFixture.removeTree(base) }
        let dead = base + "/vidd-job-dead01"
        let fresh = base + "/vidd-job-fresh1"
        let other = base + "/someone-elses-dir"
        for dir in [dead, fresh, other] { mkdir(dir, 0o700) }
        try FileFixture.write(dead + "/source-clip.mp4", patternBytes(100))
        mkdir(dead + "/out", 0o700)
        try FileFixture.write(dead + "/out/360p.mp4", patternBytes(100))
        let live = try WorkDirectory.create(in: base)
        try FileFixture.write(live.path + "/source-clip.mp4", patternBytes(100))
        for dir in [dead, other, live.path] { Self.setModificationTime(dir, secondsAgo: 3600) }

        let removed = try await WorkDirectory.sweep(in: base, olderThan: .seconds(60))
        #expect(removed == [dead])
        #expect(!FileFixture.exists(dead))
        #expect(FileFixture.exists(fresh), "younger than a lease")
        #expect(FileFixture.exists(other), "not a work directory")
        #expect(FileFixture.exists(live.path + "/source-clip.mp4"), "a live worker's directory, however old")

        await live.remove()
        #expect(!FileFixture.exists(live.path))
        #expect(try await WorkDirectory.sweep(in: base, olderThan: .seconds(60)).isEmpty)
    }

    /// Consumers of dead workers with nothing pending are removed once idle past the limit; one
    /// that still has a pending entry is kept (deleting it would lose the entry), and so is one
    /// seen recently. The check and the delete are one script, so no entry can slip in between.
    @Test func consumerSweepRemovesOnlyIdleConsumersWithNothingPending() async throws {
        guard let env = try await WorkerTestEnvironment.make("w-consumers") else { return }
        do {
            let keys = env.keys
            try await JobQueue(context: env.context, consumer: "producer").ensureGroup()
            for i in 0..<3 { try await env.redis.send("XADD", keys.jobStream, "*", "n", String(i)) }
            for name in ["dead-pending", "dead-empty", "live"] {
                _ = try await env.redis.send("XREADGROUP", "GROUP", keys.consumerGroup, name, "COUNT", "1", "STREAMS", keys.jobStream, ">")
            }
            let pending = try await env.redis.xpending(keys.jobStream, group: keys.consumerGroup, count: 10)
            for entry in pending where entry.consumer != "dead-pending" {
                _ = try await env.redis.xack(keys.jobStream, group: keys.consumerGroup, ids: [entry.id])
            }
            try await env.eventually("dead consumers idle for 300 ms", timeout: .seconds(10), every: .milliseconds(20)) {
                let idle = try await Self.consumers(env).filter { $0.name.hasPrefix("dead") }.map(\.idle)
                return idle.count == 2 && idle.allSatisfy { $0 >= 300 }
            }
            // Seen now (Redis 7.0 notes a consumer when something is delivered to it), nothing pending.
            try await env.redis.send("XADD", keys.jobStream, "*", "n", "3")
            let fresh = try await env.redis.xreadgroup(group: keys.consumerGroup, consumer: "live", streams: [(keys.jobStream, ">")], count: 1)
            let freshID = try #require(fresh.first?.entries.first?.id)
            _ = try await env.redis.xack(keys.jobStream, group: keys.consumerGroup, ids: [freshID])
            let commands = RedisCommands(env.configuration, consumer: "sweeper")
            let removed = try await env.redis.send(RESPCommand(commands.removeIdleConsumers(minIdle: .milliseconds(250))))
            #expect(removed.elements?.compactMap(\.string) == ["dead-empty"])
            #expect(try await Self.consumers(env).map(\.name).sorted() == ["dead-pending", "live"])
            #expect(try await env.pending().map(\.consumer) == ["dead-pending"], "the pending entry is still pending")
        } catch {
            await env.close()
            throw error
        }
        await env.close()
    }

    static func consumers(_ env: WorkerTestEnvironment) async throws -> [(name: String, pending: Int, idle: Int)] {
        let reply = try await env.redis.send("XINFO", "CONSUMERS", env.keys.jobStream, env.keys.consumerGroup)
        return (reply.elements ?? []).compactMap { c -> (String, Int, Int)? in
            var fields: [String: RESPValue] = [:]
            for pair in c.pairs ?? [] { if let k = pair.key.string { fields[k] = pair.value } }
            guard let name = fields["name"]?.string else { return nil }
            return (name, Int(fields["pending"]?.int ?? -1), Int(fields["idle"]?.int ?? -1))
        }
    }

    /// A worker that stops with nothing pending removes its own consumer from the group.
    @Test func cleanStopRemovesTheWorkersOwnConsumer() async throws {
        guard let env = try await WorkerTestEnvironment.make("w-ownconsumer") else { return }
        var ids: [String] = []
        do {
            let (id, _) = try await env.submit("no_audio.mp4")
            ids = [id]
            let worker = Worker(context: env.context)
            let running = env.start(worker)
            try await env.eventually("completed") { try await env.video(id).status == .completed }
            try await env.eventually("acknowledged") { try await env.pending().isEmpty }
            #expect(try await Self.consumers(env).map(\.name).contains(worker.consumer))
            await worker.stop(grace: .seconds(30))
            try await running.value
            #expect(try await !Self.consumers(env).map(\.name).contains(worker.consumer))
        } catch {
            env.dumpLogs()
            await env.close(videoIDs: ids)
            throw error
        }
        await env.close(videoIDs: ids)
    }
}
