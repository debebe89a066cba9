import Foundation
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

/// The queue protocol (`RedisCommands` driven as `WorkerStateMachine` would) on the real Redis,
/// through redis-cli until RESP is wired: a live job is never taken, a heartbeat renews the lease
/// without counting a delivery, an abandoned job is taken over with its count incremented.
@Suite struct LeaseProtocolTests {
    struct RedisCLI {
        let port: String
        let password: String?

        func run(_ args: [String]) throws -> Any {
            var base = ["redis-cli", "-h", "127.0.0.1", "-p", port, "--no-auth-warning", "--json"]
            if let password { base += ["-a", password] }
            let data = try TestProcess.runSync(base + args).output
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if text.hasPrefix("error:") { return RedisError(message: text) }
            return try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        }
    }

    struct RedisError: Equatable { var message: String }

    @Test func leaseHeartbeatTakeoverAndDeadLetter() async throws {
        guard try TestServices.require(TestServices.redisURL, "VIDD_TEST_REDIS_URL") != nil,
              let port = TestServices.env("VIDD_TEST_REDIS_PORT") else { return }
        let redis = RedisCLI(port: port, password: TestServices.env("VIDD_TEST_REDIS_PASSWORD"))
        var keys = Configuration.KeyNames()
        let ns = TestServices.uniqueName("lease")
        keys.jobStream = "\(ns):jobs"
        keys.deadLetterStream = "\(ns):dead"
        keys.progressKeyPrefix = "\(ns):progress:"
        defer { _ = try? redis.run(["DEL", keys.jobStream, keys.deadLetterStream]) }
        let a = RedisCommands(keys: keys, consumer: ConsumerName.make(), streamMaxLength: 1000)
        let b = RedisCommands(keys: keys, consumer: ConsumerName.make(), streamMaxLength: 1000)
        let lease = Duration.milliseconds(1500)

        #expect(try redis.run(a.createGroup) as? String == "OK")
        #expect((try redis.run(b.createGroup) as? RedisError)?.message.contains("BUSYGROUP") == true, "second worker: group exists, fine")

        let id = VideoID.generate()
        let job = JobMessage(videoID: id, sourceKey: ObjectKeys.source(videoID: id, originalName: "a.mp4"), attempt: 1, enqueuedAt: Timestamp.now())
        let entryID = try #require(try redis.run(a.enqueue(job)) as? String)

        // Worker A takes the job.
        let read = try #require(try redis.run(a.read(count: 1, block: .milliseconds(100))) as? [String: Any])
        let entries = try #require(read[keys.jobStream] as? [[Any]])
        #expect(entries.count == 1 && entries[0][0] as? String == entryID)
        let flat = try #require(entries[0][1] as? [String])
        #expect(try JobMessage(fields: stride(from: 0, to: flat.count, by: 2).map { (flat[$0], flat[$0 + 1]) }) == job)

        func autoclaimed(_ c: RedisCommands) throws -> [String] {
            let reply = try #require(try redis.run(c.autoclaim(minIdle: lease, count: 10)) as? [Any])
            return (reply[1] as? [[Any]] ?? []).compactMap { $0.first as? String }
        }
        func pending() throws -> (consumer: String, count: Int)? {
            let reply = try #require(try redis.run(a.pending(entryID: entryID)) as? [[Any]])
            guard let row = reply.first else { return nil }
            return (row[1] as! String, row[3] as! Int)
        }

        #expect(try autoclaimed(b).isEmpty, "a live job is not taken")
        try await Task.sleep(for: .milliseconds(1700))
        #expect(try redis.run(a.heartbeat(entryIDs: [entryID])) as? [String] == [entryID])
        #expect(try autoclaimed(b).isEmpty, "the heartbeat renewed the lease")
        #expect(try pending()?.count == 1, "a heartbeat is not a delivery")
        #expect(try pending()?.consumer == a.consumer)

        // A dies: no more heartbeats. After the lease, B takes the job over.
        try await Task.sleep(for: .milliseconds(1700))
        #expect(try autoclaimed(b) == [entryID])
        #expect(try pending()?.consumer == b.consumer)
        #expect(try pending()?.count == 2, "the takeover counts as a delivery: attempts are bounded")

        // B gives up (say, max attempts reached): dead-letter, then acknowledge.
        let deadID = try redis.run(b.deadLetter(job, entryID: entryID, deliveries: 2, reason: "gave up", at: Timestamp.now())) as? String
        #expect(deadID != nil)
        #expect(try redis.run(b.acknowledge(entryID: entryID)) as? Int == 1)
        #expect(try pending() == nil)
        let dead = try #require(try redis.run(["XRANGE", keys.deadLetterStream, "-", "+"]) as? [[Any]])
        let deadFields = try #require(dead.first?[1] as? [String])
        #expect(deadFields.contains("reason") && deadFields.contains("gave up") && deadFields.contains(entryID))
    }

    @Test func progressKeyHasATTLAndTheContractJSON() throws {
        guard try TestServices.require(TestServices.redisURL, "VIDD_TEST_REDIS_URL") != nil,
              let port = TestServices.env("VIDD_TEST_REDIS_PORT") else { return }
        let redis = RedisCLI(port: port, password: TestServices.env("VIDD_TEST_REDIS_PASSWORD"))
        var keys = Configuration.KeyNames()
        keys.progressKeyPrefix = TestServices.uniqueName("progress") + ":"
        let c = RedisCommands(keys: keys, consumer: "x")
        let event = ProgressEvent(videoID: VideoID.generate(), status: .processing, stage: .uploading, percent: 99.5, timestamp: Timestamp.now())
        defer { _ = try? redis.run(c.deleteProgress(videoID: event.videoID)) }
        defer { _ = try? redis.run(["DEL", keys.progressFeed]) }
        let id = try #require(try redis.run(c.publishProgress(event)) as? String)
        let stored = try #require(try redis.run(c.readProgress(videoID: event.videoID)) as? String)
        let decoded = try ProgressEvent.decodeMessage(Array(stored.utf8))
        #expect(decoded.event == event && decoded.id?.description == id, "the snapshot carries its event id")
        // The snapshot and both histories expire together, a day after the last event.
        for key in [keys.progressKey(event.videoID), keys.progressHistory(event.videoID), keys.progressFeed] {
            let ttl = try #require(try redis.run(["PTTL", key]) as? Int)
            #expect(ttl > 86_000_000 && ttl <= 86_400_000, "\(key)")
        }
    }
}
