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

/// Real Redis and PostgreSQL from scripts/services.sh, file storage in a temp directory, and names
/// of its own (Redis keys with a unique prefix, a fresh PostgreSQL schema), so tests run side by side.
struct WorkerTestEnvironment: Sendable {
    let context: ServiceContext
    let db: TestDatabase
    let storage: FileStorage
    let storageRoot: String
    let logs: LogSink

    var configuration: Configuration { context.configuration }
    var keys: Configuration.KeyNames { context.configuration.keys }
    var redis: RESPClient { context.redis }
    var store: VideoStore<PGPool> { context.store }

    struct Timeout: Error, CustomStringConvertible {
        var description: String
    }

    static func make(_ name: String, configure: (inout Configuration) -> Void = { _ in }) async throws -> WorkerTestEnvironment? {
        guard let redisURL = try TestServices.require(TestServices.redisURL, "VIDD_TEST_REDIS_URL"),
              let pgURL = try TestServices.require(TestServices.postgresURL, "VIDD_TEST_PG_URL") else { return nil }
        let ns = TestServices.uniqueName(name)
        var c = Configuration()
        c.redisURL = redisURL
        c.databaseURL = pgURL
        c.x264Preset = "ultrafast"
        c.workerConcurrency = 1
        c.keys.jobStream = "\(ns):jobs"
        c.keys.consumerGroup = "\(ns)-workers"
        c.keys.deadLetterStream = "\(ns):jobs:dead"
        c.keys.progressKeyPrefix = "\(ns):progress:"
        c.keys.progressChannelPrefix = "\(ns):video:progress:"
        c.keys.progressAllChannel = "\(ns):video:progress:all"
        let root = try FileFixture.makeTemporaryDirectory()
        c.storage = .file(directory: root)
        // Its own work root: a worker sweeps its work root of dead workers' directories, and
        // /tmp is shared with every other test (and test run) on the machine.
        c.workDirectory = root + "/.work"
        configure(&c)
        let db = try await TestDatabase.fresh(url: pgURL, prefix: ns.replacing("-", with: "_"))
        try await MigrationRunner().run(on: db.pool)
        let storage = try FileStorage(root: root)
        let logs = LogSink.memory()
        let metrics = MetricsRegistry()
        ServiceMetrics.registerAll(in: metrics)
        let context = ServiceContext(configuration: c, logger: Logger(level: .debug, sink: logs), metrics: metrics,
                                     database: db.pool, redis: try RESPClient(url: redisURL), storage: storage)
        return WorkerTestEnvironment(context: context, db: db, storage: storage, storageRoot: root, logs: logs)
    }

    /// A second process's view: same backends and names, its own metrics and logs.
    func sibling() -> ServiceContext {
        let metrics = MetricsRegistry()
        ServiceMetrics.registerAll(in: metrics)
        return ServiceContext(configuration: configuration, logger: context.logger, metrics: metrics,
                              database: context.database, redis: context.redis, storage: storage)
    }

    /// The worker's log, on stderr (after a failure).
    func dumpLogs() {
        for line in logs.lines { FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }

    func close(videoIDs: [String] = []) async {
        var keysToDelete = [keys.jobStream, keys.deadLetterStream]
        keysToDelete += videoIDs.map(keys.progressKey)
        _ = try? await redis.send(RESPCommand(["DEL"] + keysToDelete))
        await context.redis.shutdown()
        await db.drop()
        FileFixture.removeTree(storageRoot)
    }

    static let fixtures: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("Fixtures").path
    }()

    /// Stores the fixture as an upload would, records the video and enqueues its job.
    @discardableResult
    func submit(_ fixture: String, from directory: String = Self.fixtures, store sourceObject: Bool = true) async throws -> (videoID: String, entryID: String) {
        let id = VideoID.generate()
        let key = ObjectKeys.source(videoID: id, originalName: fixture)
        if sourceObject { _ = try await storage.put(key: key, fromFile: directory + "/" + fixture, contentType: nil) }
        _ = try await store.createVideo(id: id, title: fixture, sourceKey: key, originalName: fixture)
        let queue = JobQueue(context: context, consumer: "test-producer")
        try await queue.ensureGroup()
        let entryID = try await queue.enqueue(JobMessage(videoID: id, sourceKey: key, enqueuedAt: Timestamp.now(), originalName: fixture))
        return (id, entryID)
    }

    func video(_ id: String) async throws -> Video {
        try #require(try await store.video(id: id))
    }

    /// Entries pending in the group: (id, consumer, deliveries).
    func pending() async throws -> [RESPPendingEntry] {
        try await redis.xpending(keys.jobStream, group: keys.consumerGroup, count: 1000)
    }

    func deadLetters() async throws -> [RESPStreamEntry] {
        try await redis.xrange(keys.deadLetterStream)
    }

    func progressSnapshot(_ id: String) async throws -> ProgressEvent? {
        guard let text = try await JobQueue(context: context, consumer: "test").snapshot(videoID: id) else { return nil }
        return try ProgressEvent.decode(Array(text.utf8))
    }

    /// Polls `check` until it holds; fails after `timeout` (a hang guard, not a performance bound).
    func eventually(_ what: String, timeout: Duration = .seconds(240), every interval: Duration = .milliseconds(100),
                    _ check: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await !check() {
            guard ContinuousClock.now < deadline else { throw Timeout(description: "gave up waiting for: \(what)") }
            try await EventLoop.shared.sleep(for: interval)
        }
    }

    /// Starts `worker.run()` in a task.
    func start(_ worker: Worker) -> Task<Void, any Error> {
        Task(executorPreference: EventLoop.shared) { try await worker.run() }
    }

    /// Runs a worker until the video has failed and its entry is acknowledged, then stops it.
    func runUntilFailed(_ videoID: String) async throws {
        let worker = Worker(context: context)
        let running = start(worker)
        try await eventually("video failed") { try await self.video(videoID).status == .failed }
        try await eventually("entry acknowledged") { try await self.pending().isEmpty }
        await worker.stop(grace: .seconds(30))
        try await running.value
    }

    /// A metric's value from the registry's exposition text (0 when absent).
    static func metric(_ registry: MetricsRegistry, _ line: String) -> Double {
        for l in registry.render().split(separator: "\n") where l.hasPrefix(line + " ") {
            return Double(l.dropFirst(line.count + 1)) ?? 0
        }
        return 0
    }

    /// ffprobe of a stored output (an independent reading of what the worker wrote).
    func probeVideo(key: String) async throws -> (codec: String, width: Int, height: Int) {
        let path = try storage.path(for: key)
        let r = try await TestProcess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                           "stream=codec_name,width,height", "-of", "csv=p=0", path])
        let parts = r.text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",")
        try #require(parts.count == 3, "ffprobe \(key): \(r.text)")
        return (String(parts[0]), Int(parts[1]) ?? 0, Int(parts[2]) ?? 0)
    }

    /// The ladder the worker should produce for a fixture (planned from an independent probe).
    func expectedRungs(_ fixture: String) throws -> [PlannedRung] {
        let info = try Prober.probe(Self.fixtures + "/" + fixture)  // a few kilobytes of headers
        return try LadderPlanner.plan(for: info, options: LadderOptions(preset: configuration.x264Preset)).rungs
    }
}

/// Collects what a channel receives (the test subscribes before the job is enqueued).
final class ProgressCollector: Sendable {
    final class Events: Sendable {
        let list = Mutex<[ProgressEvent]>([])
    }

    private let events: Events
    private let task: Task<Void, Never>

    init(_ subscription: RESPSubscription) {
        let events = Events()
        self.events = events
        task = Task {
            for await message in subscription {
                guard let event = try? ProgressEvent.decode(message.payload) else { continue }
                events.list.withLock { $0.append(event) }
            }
        }
    }

    var received: [ProgressEvent] { events.list.withLock { $0 } }
    var sawFinal: Bool { received.contains { $0.status.isFinal } }

    func stop() { task.cancel() }
}
