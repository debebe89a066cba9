import Foundation
import Reactor
import Synchronization
import Testing
import TestSupport
@testable import VideoCore

/// A batch of jobs run by a real `vidd serve` and two `vidd worker`s while a backend fails over,
/// watched the way users watch it: every video's progress over SSE, the API polled all along,
/// submissions retried on 503 (the same video id, as a client resubmitting would). Records what
/// every client saw, when, relative to the moment the backend was killed.
final class FailoverBatch: @unchecked Sendable {
    struct Answer: Sendable {
        var route: String
        var started: Duration
        var ended: Duration
        var status: Int  // 0: no HTTP answer (connection failed)
        var failure: String?
    }

    struct Event: Sendable {
        var at: Duration
        var status: String
        var percent: Double
    }

    let sut: ServiceUnderTest
    let api: ServiceUnderTest.Daemon
    let ids: [String]
    let sourceKey = "source/failover/clip.mp4"
    let origin = ContinuousClock.now
    private let state = Mutex<(answers: [Answer], events: [String: [Event]], reconnects: [String: Int], killedAt: Duration?)>(([], [:], [:], nil))
    private var sseTasks: [Task<Void, Never>] = []
    private var poller: Task<Void, Never>?
    private var pollingStopped: Duration?

    init(sut: ServiceUnderTest, api: ServiceUnderTest.Daemon, jobs: Int) {
        self.sut = sut
        self.api = api
        self.ids = (0..<jobs).map { _ in UUID().uuidString.lowercased() }
    }

    /// `vidd serve` and two `vidd worker`s, every video's progress followed over SSE, the first
    /// `submitted` jobs accepted, the API polled; returns once the batch is mid-way.
    static func startMidBatch(_ sut: ServiceUnderTest, jobs: Int, submitted: Int) async throws -> FailoverBatch {
        let api = try await sut.start("serve")
        _ = try await sut.start("worker")
        _ = try await sut.start("worker")
        let batch = FailoverBatch(sut: sut, api: api, jobs: jobs)
        // 2 s of 720p: a few seconds per job, so jobs are running in both workers at the kill.
        try await batch.storeSource(fixture: "landscape_720p.mp4")
        batch.watchProgress()
        for id in batch.ids.prefix(submitted) { try await batch.submit(id) }
        batch.startPolling()
        try await batch.waitUntilMidBatch()
        return batch
    }

    var now: Duration { ContinuousClock.now - origin }
    var answers: [Answer] { state.withLock { $0.answers } }
    var events: [String: [Event]] { state.withLock { $0.events } }
    var reconnects: [String: Int] { state.withLock { $0.reconnects } }
    var killedAt: Duration? { state.withLock { $0.killedAt } }

    func markKill() { state.withLock { $0.killedAt = now } }

    private func record(_ route: String, started: Duration, status: Int, failure: String? = nil) {
        let answer = Answer(route: route, started: started, ended: now, status: status, failure: failure)
        state.withLock { $0.answers.append(answer) }
    }

    /// One request through the API, recorded; nil when no HTTP answer came.
    func request(_ route: String, _ method: String, _ target: String, json: String? = nil) async -> TestHTTPResponse? {
        let started = now
        let client = TestHTTPClient(port: api.port!)
        do {
            let response: TestHTTPResponse
            if let json { response = try await client.postJSON(target, json) } else { response = try await client.request(method, target) }
            record(route, started: started, status: response.status)
            return response
        } catch is CancellationError {
            return nil  // the test stopped polling: not an answer of the API's
        } catch {
            record(route, started: started, status: 0, failure: "\(error)")
            return nil
        }
    }

    /// The source every job transcodes, put into vidd's storage.
    func storeSource(fixture: String) async throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: ServiceUnderTest.fixture(fixture)))
        _ = try await sut.storage().put(key: sourceKey, chunks: AsyncChunks([[UInt8](bytes)]), contentType: "video/mp4")
    }

    /// POST /jobs for `id` until it is accepted (202, or 200 for one accepted earlier), retrying
    /// after a 503 or a lost connection as a client would.
    func submit(_ id: String, deadline: Duration = .seconds(60)) async throws {
        let body = #"{"video_id": "\#(id)", "source_key": "\#(sourceKey)", "title": "failover"}"#
        let until = now + deadline
        while now < until {
            if let r = await request("POST /jobs", "POST", "/jobs", json: body), r.status == 202 || r.status == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ServiceUnderTest.Failure("POST /jobs for \(id) never accepted\n\(sut.logs)")
    }

    /// An SSE client per video, reconnecting like EventSource if a stream ends before its video
    /// does (the server ends streams with an error event when it cannot subscribe).
    func watchProgress() {
        for id in ids {
            sseTasks.append(Task(executorPreference: EventLoop.shared) { [self] in
                var final = false
                var opened = false
                while !final && !Task.isCancelled {
                    do {
                        let stream = try await TestEventStream.open(port: api.port!, "/progress/\(id)")
                        defer { stream.close() }
                        // Counted only for a stream that was open and ended early, not for the
                        // 404s before the video is submitted.
                        if opened { state.withLock { $0.reconnects[id, default: 0] += 1 } }
                        opened = true
                        while let frame = try await stream.nextEvent() {
                            guard let json = try? frame.progress(), let status = json["status"] as? String else { continue }
                            let event = Event(at: now, status: status, percent: (json["percent"] as? Double) ?? Double((json["percent"] as? Int) ?? 0))
                            state.withLock { $0.events[id, default: []].append(event) }
                            if status == "completed" || status == "failed" { final = true; break }
                        }
                    } catch {
                        // Not found yet (submitted later), or the API answered 503: try again.
                    }
                    if !final { try? await Task.sleep(for: .milliseconds(200)) }
                }
            })
        }
    }

    /// GET /videos/{id} (PostgreSQL + the Redis snapshot) and /readyz, every 100 ms.
    func startPolling() {
        poller = Task(executorPreference: EventLoop.shared) { [self] in
            while !Task.isCancelled {
                _ = await request("GET /videos/{id}", "GET", "/videos/\(ids[0])")
                _ = await request("GET /readyz", "GET", "/readyz")
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Until at least one video is completed and another one is being transcoded: mid-batch.
    func waitUntilMidBatch() async throws {
        try await TestSupport.waitUntil("one video completed and another one transcoding", timeout: .seconds(120), context: { self.sut.logs }) {
            let rows = try await self.sut.query("SELECT status FROM videos")
            let statuses = rows.compactMap { $0.first ?? nil }
            return statuses.contains("completed") && statuses.contains("processing")
        }
    }

    /// Every video completed (the database says so), then the SSE clients and the poller end.
    func waitForAll(timeout: Duration = .seconds(120)) async throws {
        let ids = self.ids
        try await TestSupport.waitUntil("every video completed", timeout: timeout, context: { self.sut.logs }) {
            let rows = try await self.sut.query("SELECT count(*)::text FROM videos WHERE status = 'completed' AND id = ANY($1::uuid[])",
                                                ["{" + ids.joined(separator: ",") + "}"])
            return rows.first?.first == String(ids.count)
        }
        for task in sseTasks { await task.value }
        pollingStopped = now
        poller?.cancel()
        await poller?.value
    }

    func stop() {
        for task in sseTasks { task.cancel() }
        poller?.cancel()
    }

    // MARK: What the clients saw

    struct Outcome: CustomStringConvertible {
        var jobs: Int
        var answers: Int
        var unavailable: [Answer]
        var otherErrors: [Answer]
        var firstUnavailable: Duration?
        var lastUnavailable: Duration?
        var slowest: Answer?
        /// When the first request sent after the kill was answered 2xx, after the kill: the API
        /// working again (each request needs Redis and PostgreSQL).
        var restored: Duration?
        var eventsAfterKill: Int
        var sseReconnects: Int

        static func seconds(_ d: Duration) -> String { String(format: "%.2f s", Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18) }

        var description: String {
            let window = firstUnavailable.map { "between +\(Self.seconds($0)) and +\(Self.seconds(lastUnavailable!)) after the kill" } ?? ""
            return "\(jobs) jobs, \(answers) API answers, \(unavailable.count) × 503 \(window), \(otherErrors.count) other errors; "
                + "first request sent after the kill answered 2xx at +\(restored.map(Self.seconds) ?? "-"); "
                + "slowest request \(slowest.map { "\($0.route) \(Self.seconds($0.ended - $0.started))" } ?? "-"); "
                + "\(eventsAfterKill) SSE events after the kill, \(sseReconnects) SSE reconnections"
        }
    }

    func outcome() -> Outcome {
        let kill = killedAt ?? .zero
        let answers = self.answers
        // Answers given after the kill, relative to it.
        let unavailable = answers.filter { $0.status == 503 }
        let other = answers.filter { ![200, 202, 503].contains($0.status) }
        let after = answers.filter { $0.started >= kill }
        return Outcome(
            jobs: ids.count, answers: answers.count, unavailable: unavailable, otherErrors: other,
            firstUnavailable: unavailable.map(\.ended).min().map { $0 - kill }, lastUnavailable: unavailable.map(\.ended).max().map { $0 - kill },
            slowest: after.max { ($0.ended - $0.started) < ($1.ended - $1.started) },
            restored: after.filter { (200..<300).contains($0.status) }.map(\.ended).min().map { $0 - kill },
            eventsAfterKill: events.values.joined().filter { $0.at > kill }.count, sseReconnects: reconnects.values.reduce(0, +))
    }

    /// The checks both failover tests make: every job completed exactly once, progress streams
    /// ended with `completed` and kept coming after the kill, 503 only during the switch.
    func checkOutcome(switchDone: Duration) async throws -> Outcome {
        let outcome = outcome()
        let kill = try #require(killedAt)
        #expect(outcome.otherErrors.isEmpty, "only 503 while switching (kill at \(kill), polling stopped at \(String(describing: pollingStopped))): \(outcome.otherErrors.map { "\($0.route) \($0.status) \($0.failure ?? "") at \($0.ended - kill)" })")
        #expect(outcome.unavailable.allSatisfy { $0.ended >= kill }, "no 503 before the kill")
        if let last = outcome.lastUnavailable {
            #expect(last <= switchDone + .seconds(10), "503s end with the switch (\(last) after the kill, switch done at \(switchDone))")
        }
        // Nothing left pending or dead-lettered (a lost acknowledgement is taken over and settled
        // after the lease). First: a worker logs "job done" just before it acknowledges, so
        // once nothing is pending every completion is in the logs.
        let keys = sut.keys
        try await TestSupport.waitUntil("nothing pending in the group", timeout: .seconds(60), context: { self.sut.logs }) {
            try await self.sut.redis { try await $0.xpending(keys.jobStream, group: keys.consumerGroup) }.count == 0
        }
        #expect(try await sut.redis { try await $0.xlen(keys.deadLetterStream) } == 0)
        // Exactly once: one row per video, one completion per video in the workers' logs.
        let rows = try await sut.query("SELECT id::text, status, attempts::text FROM videos ORDER BY id")
        #expect(rows.count == ids.count, "one row per video: \(rows)")
        #expect(rows.allSatisfy { $0[1] == "completed" }, "\(rows)")
        let logs = sut.logs
        for id in ids {
            let done = logs.split(separator: "\n").filter { $0.contains("msg=\"job done\"") && $0.contains(id) }.count
            #expect(done == 1, "video \(id) completed \(done) times")
        }
        let heights = try await sut.query("SELECT video_id::text, count(*)::text, count(DISTINCT height)::text FROM resolutions GROUP BY video_id")
        #expect(heights.count == ids.count && heights.allSatisfy { $0[1] == $0[2] }, "one rendition row per rung: \(heights)")
        #expect(Set(heights.map { $0[1] }).count == 1, "the same ladder for the same source: \(heights)")
        // Progress: every stream ended with completed, and videos still running at the kill kept
        // getting events after it.
        let events = self.events
        for id in ids {
            let seen = events[id] ?? []
            #expect(seen.last?.status == "completed", "\(id): the stream ends with completed: \(seen.map(\.status))")
            if seen.contains(where: { $0.at <= kill }), seen.first(where: { $0.at <= kill && $0.status == "completed" }) == nil {
                #expect(seen.contains { $0.at > kill }, "\(id) was running at the kill and its stream kept receiving progress")
            }
        }
        return outcome
    }
}
