import Reactor
import Synchronization
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

/// A backend the worker cannot read files from directly (as with S3): the source is copied to
/// the job's work directory with ranged GETs, here in many small ranges; and a backend that
/// refuses writes now and then.
@Suite struct RemoteSourceTests {
    /// The file backend behind the plain `Storage` interface only (every call forwarded); with
    /// `hiccups`, the first write of every output key fails, as a storage server's 503 would.
    final class InterfaceOnly: ForwardingStorage {
        let inner: FileStorage
        let hiccups: Bool
        let failed = Mutex<Set<String>>([])

        init(inner: FileStorage, hiccups: Bool = false) {
            self.inner = inner
            self.hiccups = hiccups
        }

        struct Unavailable: Error, CustomStringConvertible {
            var key: String
            var description: String { "503 Slow Down (\(key))" }
        }

        private func hiccup(_ key: String) throws {
            guard hiccups, key.hasPrefix(ObjectKeys.processedPrefix) else { return }
            if failed.withLock({ $0.insert(key).inserted }) { throw Unavailable(key: key) }
        }

        func put(key: String, fromFile path: String, contentType: String?) async throws -> ObjectInfo {
            try hiccup(key)
            return try await inner.put(key: key, fromFile: path, contentType: contentType)
        }
        func put<Chunks: AsyncSequence & Sendable>(key: String, chunks: Chunks, contentType: String?) async throws -> ObjectInfo
            where Chunks.Element == [UInt8] {
            try hiccup(key)
            return try await inner.put(key: key, chunks: chunks, contentType: contentType)
        }
    }

    @Test func sourceCopiedInRangesThenProcessed() async throws {
        guard let env = try await WorkerTestEnvironment.make("w-remote") else { return }
        var ids: [String] = []
        do {
            let (id, _) = try await env.submit("no_audio.mp4")
            ids = [id]
            let context = ServiceContext(configuration: env.configuration, logger: env.context.logger, metrics: env.context.metrics,
                                         database: env.context.database, redis: env.redis, storage: InterfaceOnly(inner: env.storage))
            var runner = JobRunner(context: context)
            runner.downloadChunk = 4096  // the 38 kB fixture in ten ranges
            let worker = Worker(context: context, consumer: ConsumerName.make(), lease: nil, runner: runner)
            let running = env.start(worker)
            try await env.eventually("completed") { try await env.video(id).status == .completed }
            await worker.stop(grace: .seconds(30))
            try await running.value
            let video = try await env.video(id)
            let source = try #require(try await env.storage.head(key: video.sourceKey))
            #expect(video.source.sizeBytes == source.size, "the probe read the whole copy")
            #expect(video.source.width == 320 && video.source.height == 240)
            #expect(try await env.store.renditions(videoID: id).count == (try await OffThread.run { try env.expectedRungs("no_audio.mp4") }).count)
            #expect(try await env.pending().isEmpty)
        } catch {
            env.dumpLogs()
            await env.close(videoIDs: ids)
            throw error
        }
        await env.close(videoIDs: ids)
    }
    /// Every output's first upload fails: each is retried after a back-off and the job completes
    /// on its first attempt.
    @Test func uploadsRetriedAfterAStorageHiccup() async throws {
        guard let env = try await WorkerTestEnvironment.make("w-hiccup") else { return }
        var ids: [String] = []
        do {
            let (id, _) = try await env.submit("no_audio.mp4")
            ids = [id]
            let storage = InterfaceOnly(inner: env.storage, hiccups: true)
            let context = ServiceContext(configuration: env.configuration, logger: env.context.logger, metrics: env.context.metrics,
                                         database: env.context.database, redis: env.redis, storage: storage)
            let worker = Worker(context: context)
            let running = env.start(worker)
            try await env.eventually("completed") { try await env.video(id).status == .completed }
            await worker.stop(grace: .seconds(30))
            try await running.value
            let video = try await env.video(id)
            #expect(video.attempts == 1, "no job retry: the uploads were retried")
            let outputs = try await env.storage.list(prefix: ObjectKeys.processedDirectory(videoID: id)).map(\.key)
            let failedOnce = storage.failed.withLock { $0 }
            #expect(!outputs.isEmpty && Set(outputs).isSubset(of: failedOnce), "every stored output failed once first")
            for r in try await env.store.renditions(videoID: id) {
                #expect(try await env.storage.head(key: r.mp4Key)?.size == r.sizeBytes)
            }
        } catch {
            env.dumpLogs()
            await env.close(videoIDs: ids)
            throw error
        }
        await env.close(videoIDs: ids)
    }
}
