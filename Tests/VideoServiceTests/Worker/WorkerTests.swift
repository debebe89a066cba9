import Foundation
import PGWire
import Reactor
import RESP
import Synchronization
import Testing
import TestSupport
import Transcode
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

/// The worker against real Redis and PostgreSQL with the file storage backend: whole jobs,
/// failures, retries, dead letters, lease takeover, several workers, and shutdown.
@Suite(.serialized) struct WorkerTests {
    static let stageOrder: [ProgressEvent.Stage] = [.probing, .transcoding, .uploading, .finalizing]

    /// One job of a rotated portrait source with audio, end to end.
    @Test func oneJobEndToEnd() async throws {
        guard let env = try await WorkerTestEnvironment.make("w-e2e") else { return }
        var ids: [String] = []
        do {
            let fixture = "portrait_rotated.mp4"
            let expected = try await OffThread.run { try env.expectedRungs(fixture) }
            #expect(!expected.isEmpty)
            // Subscribe before the job exists, so every event is seen.
            let id = VideoID.generate()
            ids.append(id)
            let subscription = try await env.redis.pubSub.subscribe(env.keys.progressChannel(id))
            let collector = ProgressCollector(subscription)
            let key = ObjectKeys.source(videoID: id, originalName: fixture)
            _ = try await env.storage.put(key: key, fromFile: WorkerTestEnvironment.fixtures + "/" + fixture, contentType: nil)
            _ = try await env.store.createVideo(id: id, title: "portrait", sourceKey: key, originalName: fixture)
            let queue = JobQueue(context: env.context, consumer: "producer")
            try await queue.ensureGroup()
            try await queue.enqueue(JobMessage(videoID: id, sourceKey: key, enqueuedAt: Timestamp.now(), originalName: fixture))

            let worker = Worker(context: env.context)
            let running = env.start(worker)
            try await env.eventually("video completed") { try await env.video(id).status == .completed }
            try await env.eventually("final event received") { collector.sawFinal }
            await worker.stop(grace: .seconds(30))
            try await running.value
            collector.stop()
            await subscription.unsubscribe()

            // The video row.
            let video = try await env.video(id)
            #expect(video.attempts == 1 && video.errorMessage == nil && video.startedAt != nil && video.completedAt != nil)
            #expect(video.source.width == 360 && video.source.height == 640, "display size, rotation applied")
            #expect(video.source.rotation == 90 || video.source.rotation == 270)
            #expect(video.source.videoCodec == "h264" && video.source.audioCodec == "aac")

            // One row per planned rung, matching what ffprobe reads from the stored MP4.
            let rows = try await env.store.renditions(videoID: id)
            #expect(rows.map(\.height).sorted() == expected.map(\.height).sorted())
            for rung in expected {
                let row = try #require(rows.first { $0.height == rung.height })
                #expect(row.width == rung.width)
                #expect(row.mp4Key == ObjectKeys.mp4(videoID: id, height: rung.spec.shortSide))
                #expect(row.hlsPlaylistKey == ObjectKeys.hlsPlaylist(videoID: id, height: rung.spec.shortSide))
                let object = try #require(try await env.storage.head(key: row.mp4Key))
                #expect(row.sizeBytes == object.size && row.sizeBytes > 0)
                #expect(row.bitrate > 0)
                let probed = try await env.probeVideo(key: row.mp4Key)
                #expect(probed.codec == row.codec && probed.width == row.width && probed.height == row.height,
                        "\(row.mp4Key): ffprobe says \(probed)")
            }

            // Objects laid out per ObjectKeys; every playlist reference resolves to a stored object.
            let stored = Set(try await env.storage.list(prefix: ObjectKeys.processedDirectory(videoID: id)).map(\.key))
            for key in [ObjectKeys.hlsMaster(videoID: id), ObjectKeys.poster(videoID: id), ObjectKeys.storyboardImage(videoID: id),
                        ObjectKeys.storyboardVTT(videoID: id)] {
                #expect(stored.contains(key), "missing \(key)")
            }
            let hlsDirectory = ObjectKeys.processedDirectory(videoID: id) + "hls/"
            let master = String(decoding: try await env.storage.get(key: ObjectKeys.hlsMaster(videoID: id)), as: UTF8.self)
            var playlists = master.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }.map { hlsDirectory + $0 }
            for line in master.split(separator: "\n") {
                if let r = line.range(of: "URI=\"") { playlists.append(hlsDirectory + line[r.upperBound...].prefix { $0 != "\"" }) }
            }
            #expect(playlists.count == expected.count + 1, "one playlist per rung and the audio one:\n\(master)")
            for rung in expected { #expect(playlists.contains(ObjectKeys.hlsPlaylist(videoID: id, height: rung.spec.shortSide))) }
            for playlist in playlists {
                #expect(stored.contains(playlist), "master names \(playlist), not stored")
                let text = String(decoding: try await env.storage.get(key: playlist), as: UTF8.self)
                #expect(text.contains("#EXT-X-ENDLIST"), "\(playlist) is the final version")
                let dir = String(playlist[..<playlist.lastIndex(of: "/")!]) + "/"
                var segments = text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }.map { dir + $0 }
                if let map = text.range(of: "#EXT-X-MAP:URI=\"") { segments.append(dir + text[map.upperBound...].prefix { $0 != "\"" }) }
                #expect(segments.count >= 2)
                for s in segments { #expect(stored.contains(s), "\(playlist) names \(s), not stored") }
            }

            // Progress: the key holds the final event; the subscriber saw every stage in order.
            let snapshot = try #require(try await env.progressSnapshot(id))
            #expect(snapshot.status == .completed && snapshot.percent == 100)
            let events = collector.received
            #expect(events.first?.status == .processing && events.first?.stage == .probing)
            #expect(events.last?.status == .completed)
            #expect(events.allSatisfy { $0.videoID == id })
            #expect(zip(events, events.dropFirst()).allSatisfy { $0.percent <= $1.percent }, "percent never goes back: \(events.map(\.percent))")
            // `playable` is a moment, not a step of the work: one event, after the first segments
            // were cut; the events around it are `transcoding`.
            let playableEvents = events.indices.filter { events[$0].stage == .playable }
            #expect(playableEvents.count == 1, "one playable event: \(events.compactMap(\.stage))")
            if let moment = playableEvents.first {
                #expect(events[..<moment].contains { $0.stage == .transcoding } && events[moment...].allSatisfy(\.playable))
            }
            let work = events.compactMap(\.stage).filter { $0 != .playable }
            let stages = work.map { Self.stageOrder.firstIndex(of: $0)! }
            #expect(zip(stages, stages.dropFirst()).allSatisfy { $0 <= $1 }, "stages in order: \(work)")
            #expect(Set(work) == Set(Self.stageOrder))
            #expect(events.last?.renditions.map(\.height).sorted() == expected.map(\.height).sorted())

            // Acknowledged; metrics; every job log line names the video.
            #expect(try await env.pending().isEmpty)
            #expect(WorkerTestEnvironment.metric(env.context.metrics, ServiceMetrics.jobsCompleted) == 1)
            let jobLines = env.logs.lines.filter { $0.contains("entry_id=") && !$0.contains("msg=\"not a job") }
            #expect(!jobLines.isEmpty)
            for line in jobLines { #expect(line.contains("video_id=\(id)"), "\(line)") }
            // The completion line says where the time went, step by step, adding up to the job.
            let done = try #require(jobLines.first { $0.contains("msg=\"outputs recorded\"") })
            func ms(_ key: String) -> Int? {
                done.split(separator: " ").first { $0.hasPrefix(key + "=") }.flatMap { Int($0.dropFirst(key.count + 1)) }
            }
            let steps = ["fetch_ms", "probe_ms", "transcode_ms", "upload_tail_ms", "finalize_ms"].map(ms)
            #expect(steps.allSatisfy { $0 != nil }, "\(done)")
            #expect(try #require(ms("transcode_ms")) > 0, "\(done)")
            let total = try #require(ms("job_ms"))
            let sum = steps.compactMap { $0 }.reduce(0, +)
            #expect(sum <= total && total - sum <= 5, "steps \(sum) ms vs job \(total) ms: \(done)")
        } catch {
            env.dumpLogs()
            await env.close(videoIDs: ids)
            throw error
        }
        await env.close(videoIDs: ids)
    }

    /// Bad media fails at once with a readable message: no retry, acknowledged, not dead-lettered.
    @Test(arguments: ["truncated.mp4", "not_video.mp4"])
    func badMediaFailsWithoutRetry(fixture: String) async throws {
        guard let env = try await WorkerTestEnvironment.make("w-bad") else { return }
        var ids: [String] = []
        do {
            let (id, _) = try await env.submit(fixture)
            ids.append(id)
            try await env.runUntilFailed(id)

            let video = try await env.video(id)
            let message = try #require(video.errorMessage)
            #expect(message.contains(video.sourceKey), "names the source, not a temp path: \(message)")
            #expect(!message.contains(env.storageRoot) && !message.contains("/tmp/"))
            #expect(message.contains(fixture == "truncated.mp4" ? "truncated" : "not a media file"), "\(message)")
            #expect(video.attempts == 1, "no retry")
            #expect(video.failureCode == (fixture == "truncated.mp4" ? .truncated : .notMedia), "the page says why, and offers no retry")
            #expect(try await env.deadLetters().isEmpty)
            #expect(try await env.store.renditions(videoID: id).isEmpty)
            let snapshot = try #require(try await env.progressSnapshot(id))
            #expect(snapshot.status == .failed && snapshot.error == message)
            #expect(WorkerTestEnvironment.metric(env.context.metrics, ServiceMetrics.jobsFailed + "{reason=\"bad_media\"}") == 1)
        } catch {
            env.dumpLogs()
            await env.close(videoIDs: ids)
            throw error
        }
        await env.close(videoIDs: ids)
    }

    /// A 320x240 picture with a 100:1 sample aspect ratio is 32000 pixels wide on screen: bad
    /// media (the size limits), failed at once, not a libav error retried as temporary.
    @Test func aPictureStretchedPastTheLimitsFailsWithoutRetry() async throws {
        guard let env = try await WorkerTestEnvironment.make("w-sar") else { return }
        let directory = try FileFixture.makeTemporaryDirectory()
        defer { FileFixture.removeTree(directory) }
        var ids: [String] = []
        do {
            let made = try TestProcess.runSync(["/usr/bin/ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-nostdin", "-f", "lavfi",
                                                "-i", "testsrc2=size=320x240:rate=25", "-t", "0.2", "-vf", "setsar=100/1", "-c:v", "libx264",
                                                "-preset", "ultrafast", "-pix_fmt", "yuv420p", directory + "/stretched.mp4"])
            #expect(made.status == 0, "\(String(decoding: made.errorOutput, as: UTF8.self))")
            let (id, _) = try await env.submit("stretched.mp4", from: directory)
            ids.append(id)
            try await env.runUntilFailed(id)
            let video = try await env.video(id)
            #expect(video.failureCode == .limitExceeded && video.attempts == 1, "\(video.errorMessage ?? "")")
            #expect(video.errorMessage?.contains("32000") == true, "\(video.errorMessage ?? "")")
            #expect(try await env.deadLetters().isEmpty)
            #expect(try await env.store.renditions(videoID: id).isEmpty)
        } catch {
            env.dumpLogs()
            await env.close(videoIDs: ids)
            throw error
        }
        await env.close(videoIDs: ids)
    }

    /// Two workers running two jobs each at once, ten jobs of a source without audio: each
    /// completed exactly once.
    @Test func twoWorkersTenJobs() async throws {
        guard let env = try await WorkerTestEnvironment.make("w-two", configure: { $0.workerConcurrency = 2 }) else { return }
        var ids: [String] = []
        do {
            let expected = try await OffThread.run { try env.expectedRungs("no_audio.mp4") }
            for _ in 0..<10 { ids.append(try await env.submit("no_audio.mp4").videoID) }
            let contexts = [env.context, env.sibling()]
            let workers = contexts.map { Worker(context: $0) }
            let running = workers.map { env.start($0) }
            try await env.eventually("ten videos completed") {
                var done = 0
                for id in ids where try await env.video(id).status == .completed { done += 1 }
                return done == ids.count
            }
            try await env.eventually("every entry acknowledged") { try await env.pending().isEmpty }
            for w in workers { await w.stop(grace: .seconds(30)) }
            for r in running { try await r.value }

            for id in ids {
                let video = try await env.video(id)
                #expect(video.status == .completed && video.attempts == 1, "\(id) ran once")
                let rows = try await env.store.renditions(videoID: id)
                #expect(rows.map(\.height).sorted() == expected.map(\.height).sorted(), "one row per rung")
                #expect(video.source.audioCodec == nil)
            }
            let started = contexts.map { WorkerTestEnvironment.metric($0.metrics, ServiceMetrics.jobsStarted) }
            let completed = contexts.map { WorkerTestEnvironment.metric($0.metrics, ServiceMetrics.jobsCompleted) }
            #expect(started.reduce(0, +) == 10 && completed.reduce(0, +) == 10, "started \(started), completed \(completed)")
            #expect(try await env.pending().isEmpty)
            #expect(try await env.deadLetters().isEmpty)
        } catch {
            env.dumpLogs()
            await env.close(videoIDs: ids)
            throw error
        }
        await env.close(videoIDs: ids)
    }

    /// A job whose owner vanished is taken over after the lease and completed; a job whose owner
    /// keeps heartbeating is never taken, and is taken once the heartbeats stop.
    @Test func leaseTakeover() async throws {
        let lease = LeasePolicy(lease: .seconds(3), maxAttempts: 3, shutdownGrace: .seconds(30))
        guard let env = try await WorkerTestEnvironment.make("w-lease") else { return }
        var ids: [String] = []
        do {
            let (abandoned, abandonedEntry) = try await env.submit("no_audio.mp4")
            let ghost = RedisCommands(keys: env.keys, consumer: "ghost-1-dead")
            #expect(try await env.redis.send(RESPCommand(ghost.read(count: 1, block: .milliseconds(100)))).isNull == false)
            let (alive, aliveEntry) = try await env.submit("no_audio.mp4")
            ids = [abandoned, alive]
            let owner = RedisCommands(keys: env.keys, consumer: "owner-2-alive")
            #expect(try await env.redis.send(RESPCommand(owner.read(count: 1, block: .milliseconds(100)))).isNull == false)
            let owners = Dictionary(uniqueKeysWithValues: try await env.pending().map { ($0.id, $0.consumer) })
            #expect(owners == [abandonedEntry: ghost.consumer, aliveEntry: owner.consumer])

            // The live owner renews its lease every lease/3, as a Worker does.
            let beating = Atomic<Bool>(true)
            let redis = env.redis
            let heart = Task(executorPreference: EventLoop.shared) {
                while beating.load(ordering: .relaxed) {
                    _ = try? await redis.send(RESPCommand(owner.heartbeat(entryIDs: [aliveEntry])))
                    try? await EventLoop.shared.sleep(for: lease.heartbeatInterval)
                }
            }

            let worker = Worker(context: env.context, lease: lease)
            let running = env.start(worker)
            try await env.eventually("abandoned job completed") { try await env.video(abandoned).status == .completed }
            // Two more claim rounds at least, and the live job is still its owner's.
            try await EventLoop.shared.sleep(for: lease.lease)
            let stillOwned = try #require(try await env.pending().first { $0.id == aliveEntry })
            #expect(stillOwned.consumer == owner.consumer && stillOwned.deliveryCount == 1, "a live job is never taken")
            let untouched = try await env.video(alive)
            #expect(untouched.status == .queued && untouched.attempts == 0)

            // The owner dies: its job is taken over after the lease and completed.
            beating.store(false, ordering: .relaxed)
            await heart.value
            try await env.eventually("the second job completed") { try await env.video(alive).status == .completed }
            try await env.eventually("all acknowledged") { try await env.pending().isEmpty }
            await worker.stop(grace: .seconds(30))
            try await running.value

            for id in ids {
                let v = try await env.video(id)
                #expect(v.status == .completed && v.attempts == 1, "the worker ran each job once")
                #expect(try await env.store.renditions(videoID: id).count == (try await OffThread.run { try env.expectedRungs("no_audio.mp4") }).count)
            }
            #expect(env.logs.lines.contains { $0.contains("took over abandoned jobs") && $0.contains(abandonedEntry) })
        } catch {
            env.dumpLogs()
            await env.close(videoIDs: ids)
            throw error
        }
        await env.close(videoIDs: ids)
    }

    /// A poison job — its source object is missing, so every attempt fails (transiently: an upload
    /// may still be landing, a replica lagging) — is retried after each lease, then dead-lettered
    /// with the reason after `maxAttempts`; jobs behind it keep flowing.
    @Test func poisonJobIsDeadLettered() async throws {
        let lease = LeasePolicy(lease: .seconds(3), maxAttempts: 2, shutdownGrace: .seconds(30))
        guard let env = try await WorkerTestEnvironment.make("w-poison", configure: { $0.maxAttempts = 2 }) else { return }
        var ids: [String] = []
        do {
            let (poison, poisonEntry) = try await env.submit("no_audio.mp4", store: false)
            let good = [try await env.submit("no_audio.mp4").videoID, try await env.submit("no_audio.mp4").videoID]
            ids = [poison] + good
            let worker = Worker(context: env.context, lease: lease)
            let running = env.start(worker)
            try await env.eventually("good jobs completed") {
                for id in good where try await env.video(id).status != .completed { return false }
                return true
            }
            try await env.eventually("poison dead-lettered") { try await env.deadLetters().count == 1 }
            try await env.eventually("all acknowledged") { try await env.pending().isEmpty }
            await worker.stop(grace: .seconds(30))
            try await running.value

            let dead = try #require(try await env.deadLetters().first)
            #expect(dead.string("video_id") == poison)
            #expect(dead.string("original_entry_id") == poisonEntry)
            #expect(dead.string("deliveries") == "2")
            let reason = try #require(dead.string("reason"))
            #expect(reason.contains("attempt 2 of 2") && reason.contains("source object not found"), "\(reason)")
            let video = try await env.video(poison)
            #expect(video.status == .failed && video.errorMessage == reason && video.attempts == 2)
            #expect(video.failureCode == .temporary, "a retry may help: the source may exist by then")
            #expect(try await env.progressSnapshot(poison)?.status == .failed)
            for id in good { #expect(try await env.video(id).attempts == 1) }
            #expect(WorkerTestEnvironment.metric(env.context.metrics, ServiceMetrics.jobsDeadLettered) == 1)
        } catch {
            env.dumpLogs()
            await env.close(videoIDs: ids)
            throw error
        }
        await env.close(videoIDs: ids)
    }

    /// stop(grace:) with a grace too short for the running job: the job is cancelled and handed
    /// back — still pending, the video unfinished, but with a 60 s lease the next worker takes it
    /// at once instead of waiting the lease out — and completed by that worker.
    @Test func stopMidJobHandsTheJobToTheNextWorkerAtOnce() async throws {
        let lease = LeasePolicy(lease: .seconds(60), maxAttempts: 3, shutdownGrace: .seconds(30))
        guard let env = try await WorkerTestEnvironment.make("w-stop") else { return }
        var ids: [String] = []
        do {
            let (id, entryID) = try await env.submit("landscape_720p.mp4")
            ids = [id]
            let first = Worker(context: env.context, lease: lease)
            let running = env.start(first)
            try await env.eventually("transcoding", every: .milliseconds(5)) { try await env.progressSnapshot(id)?.stage == .transcoding }
            await first.stop(grace: .zero)
            try await running.value

            let pending = try await env.pending()
            #expect(pending.map(\.id) == [entryID] && pending.first?.consumer == first.consumer, "left unacknowledged")
            #expect((pending.first?.idle ?? .zero) >= lease.lease, "handed back: claimable by any worker's next XAUTOCLAIM")
            #expect(try await env.progressSnapshot(id)?.status == .queued, "the page shows it waiting, not a frozen bar")
            let video = try await env.video(id)
            #expect(video.status == .processing && video.completedAt == nil && video.attempts == 1)
            #expect(try await env.store.renditions(videoID: id).isEmpty)

            let second = Worker(context: env.sibling(), lease: lease)
            let running2 = env.start(second)
            try await env.eventually("taken by the second worker at once", timeout: .seconds(20)) {
                try await env.pending().first?.consumer == second.consumer
            }
            try await env.eventually("completed by the second worker") { try await env.video(id).status == .completed }
            try await env.eventually("acknowledged") { try await env.pending().isEmpty }
            await second.stop(grace: .seconds(30))
            try await running2.value
            let done = try await env.video(id)
            #expect(done.attempts == 2)
            let expected = try await OffThread.run { try env.expectedRungs("landscape_720p.mp4") }
            #expect(try await env.store.renditions(videoID: id).map(\.height).sorted() == expected.map(\.height).sorted())
        } catch {
            env.dumpLogs()
            await env.close(videoIDs: ids)
            throw error
        }
        await env.close(videoIDs: ids)
    }

    /// stop(grace:) with enough grace: the running job finishes and is acknowledged before stop returns.
    @Test func stopWithGraceFinishesTheJob() async throws {
        guard let env = try await WorkerTestEnvironment.make("w-grace") else { return }
        var ids: [String] = []
        do {
            let (id, _) = try await env.submit("landscape_720p.mp4")
            let (queued, _) = try await env.submit("no_audio.mp4")
            ids = [id, queued]
            let worker = Worker(context: env.context)
            let running = env.start(worker)
            try await env.eventually("transcoding", every: .milliseconds(5)) { try await env.progressSnapshot(id)?.stage == .transcoding }
            await worker.stop(grace: .seconds(120))
            try await running.value
            let lines = env.logs.lines
            let stopping = try #require(lines.firstIndex { $0.contains("msg=\"stopping: no new jobs\"") && $0.contains("running=1") })
            let done = try #require(lines.firstIndex { $0.contains("msg=\"job done\"") && $0.contains("video_id=\(id)") })
            #expect(stopping < done, "stop was requested while the job ran")
            #expect(try await env.video(id).status == .completed, "finished within the grace")
            #expect(try await env.pending().isEmpty, "and acknowledged before stop returned")
            #expect(try await env.video(queued).status == .queued, "no new job taken while stopping")
        } catch {
            env.dumpLogs()
            await env.close(videoIDs: ids)
            throw error
        }
        await env.close(videoIDs: ids)
    }
    /// Entries written by other producers: the seed's JSON form is run like any job; an entry that
    /// is not a job at all is dead-lettered at once with the reason (never retried, never blocking).
    @Test func entriesFromOtherProducers() async throws {
        guard let env = try await WorkerTestEnvironment.make("w-foreign") else { return }
        var ids: [String] = []
        do {
            let id = VideoID.generate()
            ids = [id]
            let key = ObjectKeys.source(videoID: id, originalName: "seed.mp4")
            _ = try await env.storage.put(key: key, fromFile: WorkerTestEnvironment.fixtures + "/no_audio.mp4", contentType: nil)
            _ = try await env.store.createVideo(id: id, title: nil, sourceKey: key, originalName: "seed.mp4")
            try await JobQueue(context: env.context, consumer: "producer").ensureGroup()
            let garbage = try #require(try await env.redis.xadd(env.keys.jobStream, fields: [("hello", "world")]))
            let seedJSON = "{\"video_id\": \"\(id.uppercased())\", \"s3_path\": \"s3://videos/\(key)\", \"original_name\": \"seed.mp4\"}"
            try await env.redis.xadd(env.keys.jobStream, fields: [("data", seedJSON)])

            let worker = Worker(context: env.context)
            let running = env.start(worker)
            try await env.eventually("seed job completed") { try await env.video(id).status == .completed }
            try await env.eventually("garbage dead-lettered") { try await env.deadLetters().count == 1 }
            try await env.eventually("all acknowledged") { try await env.pending().isEmpty }
            await worker.stop(grace: .seconds(30))
            try await running.value

            let dead = try #require(try await env.deadLetters().first)
            #expect(dead.string("hello") == "world", "the entry's fields are kept as they were")
            #expect(dead.string("original_entry_id") == garbage)
            #expect(dead.string("reason")?.contains("video_id missing") == true)
            #expect(try await env.video(id).attempts == 1)
        } catch {
            env.dumpLogs()
            await env.close(videoIDs: ids)
            throw error
        }
        await env.close(videoIDs: ids)
    }
}
