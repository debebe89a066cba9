import Foundation
import Reactor
import RESP
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

/// The worker's lease renewal on the real Redis: the checked heartbeat script, and a live job that
/// outlives its lease many times over while another worker keeps trying to claim.
@Suite(.serialized) struct HeartbeatTests {
    /// `heartbeatOwned` renews only entries pending under the caller, never takes one back from
    /// the worker that took it over, and does not count a delivery.
    @Test func checkedHeartbeatRenewsOnlyOwnEntries() async throws {
        guard let env = try await WorkerTestEnvironment.make("hb-script") else { return }
        do {
            let (_, mine) = try await env.submit("no_audio.mp4", store: false)
            let (_, theirs) = try await env.submit("no_audio.mp4", store: false)
            let me = RedisCommands(keys: env.keys, consumer: "me-1-a")
            let other = RedisCommands(keys: env.keys, consumer: "other-2-b")
            _ = try await env.redis.send(RESPCommand(me.read(count: 2, block: .milliseconds(100))))
            // `theirs` was taken over by the other worker (as XAUTOCLAIM would after the lease).
            _ = try await env.redis.send(RESPCommand(["XCLAIM", env.keys.jobStream, env.keys.consumerGroup, other.consumer, "0", theirs]))
            // Long enough apart that a busy machine cannot blur "renewed" and "not renewed".
            try await EventLoop.shared.sleep(for: .seconds(1))

            let reply = try await env.redis.send(RESPCommand(me.heartbeatOwned(entryIDs: [mine, theirs])))
            #expect((reply.elements ?? []).compactMap(\.string) == [mine], "only the entry still ours is renewed")
            let pending = Dictionary(uniqueKeysWithValues: try await env.pending().map { ($0.id, $0) })
            #expect(pending[mine]?.consumer == me.consumer && pending[mine]?.deliveryCount == 1, "renewal is not a delivery")
            #expect(pending[mine].map { $0.idle < .seconds(1) } == true, "idle time reset")
            #expect(pending[theirs]?.consumer == other.consumer, "never taken back")
            #expect(pending[theirs].map { $0.idle >= .seconds(1) } == true, "the other worker's lease is not renewed by us")

            let none = try await env.redis.send(RESPCommand(me.heartbeatOwned(entryIDs: ["0-1"])))
            #expect(none.elements?.isEmpty == true, "an id that is not pending is not created")
        } catch {
            await env.close()
            throw error
        }
        await env.close()
    }

    /// A job that runs for several leases under a live worker is never taken by another worker
    /// that claims every lease/2: it is delivered once and run once.
    @Test func liveJobOutlivingItsLeaseIsNeverTaken() async throws {
        let lease = LeasePolicy(lease: .seconds(1), maxAttempts: 3, shutdownGrace: .seconds(60))
        guard let env = try await WorkerTestEnvironment.make("hb-live") else { return }
        var ids: [String] = []
        do {
            // A 20 s 720p source: its ladder takes several seconds to encode.
            let source = env.storageRoot + "/long-source.mp4"
            let ff = try await TestProcess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                                                "testsrc2=size=1280x720:rate=30", "-t", "20", "-c:v", "libx264", "-preset", "ultrafast",
                                                "-crf", "30", "-pix_fmt", "yuv420p", source])
            try #require(ff.status == 0, "ffmpeg: \(String(decoding: ff.errorOutput, as: UTF8.self))")
            let id = VideoID.generate()
            ids = [id]
            let key = ObjectKeys.source(videoID: id, originalName: "long.mp4")
            _ = try await env.storage.put(key: key, fromFile: source, contentType: nil)
            _ = try await env.store.createVideo(id: id, title: nil, sourceKey: key, originalName: "long.mp4")
            let queue = JobQueue(context: env.context, consumer: "producer")
            try await queue.ensureGroup()
            let entryID = try await queue.enqueue(JobMessage(videoID: id, sourceKey: key))

            let owner = Worker(context: env.context, lease: lease)
            let runningOwner = env.start(owner)
            try await env.eventually("processing") { try await env.video(id).status == .processing }
            let rival = Worker(context: env.sibling(), lease: lease)
            let runningRival = env.start(rival)

            // While the job runs: always pending under its owner, delivered once.
            let began = ContinuousClock.now
            var lastSeenProcessing = began
            var observations = 0
            var segmentStoredWhileTranscoding = false
            while try await env.video(id).status == .processing {
                lastSeenProcessing = ContinuousClock.now
                if !segmentStoredWhileTranscoding, try await env.progressSnapshot(id)?.stage == .transcoding {
                    let objects = try await env.storage.list(prefix: ObjectKeys.processedDirectory(videoID: id))
                    // Listed, then the stage read again: the segment was there before transcoding ended.
                    if objects.contains(where: { $0.key.hasSuffix(".m4s") }), try await env.progressSnapshot(id)?.stage == .transcoding {
                        segmentStoredWhileTranscoding = true
                    }
                }
                if let entry = try await env.pending().first {
                    #expect(entry.id == entryID && entry.consumer == owner.consumer && entry.deliveryCount == 1)
                    observations += 1
                }
                try await EventLoop.shared.sleep(for: .milliseconds(100))
            }
            try #require(lastSeenProcessing - began > lease.lease * 2,
                         "the job must outlive its lease for this test to mean anything (it ran \(lastSeenProcessing - began))")
            #expect(observations > 10)
            #expect(segmentStoredWhileTranscoding, "outputs are uploaded as they are produced, not after the transcode")
            try await env.eventually("acknowledged") { try await env.pending().isEmpty }
            await rival.stop(grace: .seconds(10))
            await owner.stop(grace: .seconds(10))
            try await runningRival.value
            try await runningOwner.value

            let video = try await env.video(id)
            #expect(video.status == .completed && video.attempts == 1)
            #expect(WorkerTestEnvironment.metric(env.context.metrics, ServiceMetrics.jobsStarted) == 1)
            #expect(WorkerTestEnvironment.metric(rival.context.metrics, ServiceMetrics.jobsStarted) == 0, "the rival never ran it")
            #expect(!env.logs.lines.contains { $0.contains("lease lost") })
        } catch {
            env.dumpLogs()
            await env.close(videoIDs: ids)
            throw error
        }
        await env.close(videoIDs: ids)
    }
}
