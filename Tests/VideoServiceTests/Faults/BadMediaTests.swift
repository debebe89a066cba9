import Foundation
import RESP
import Testing
import TestSupport
@testable import VideoCore

extension FaultSuite {
    /// Poison and bad media: each fails with an error a person can read, on its first attempt
    /// (bad media) or after the configured attempts (a source that vanished), never retried
    /// forever, and leaves nothing behind.
    @Suite struct BadMedia {
        @Test func badMediaFailsAtOnceAndPoisonIsDeadLettered() async throws {
            var settings = FaultScale.daemonSettings
            settings["VIDD_MAX_ATTEMPTS"] = "2"
            try await FaultScenario.run("poison and bad media", prefix: "fault-poison", settings: settings) { scenario, figures in
                let (sut, fleet) = (scenario.sut, scenario.fleet)
                let api = try await sut.start("serve")
                let storage = try sut.storage()
                let unique = TestServices.uniqueName("")
                let bad: [(name: String, path: String)] = [
                    ("truncated.mp4", ServiceUnderTest.fixture("truncated.mp4")),
                    ("not_video.mp4", ServiceUnderTest.fixture("not_video.mp4")),
                    ("random.mp4", try FaultMedia.randomBytes(count: 256 << 10, name: "vidd-fault-random-\(unique).mp4")),
                    ("huge.mp4", try FaultMedia.hugeDeclaredSize(name: "vidd-fault-huge-\(unique).mp4")),
                ]
                defer { for made in bad.suffix(2) { try? FileManager.default.removeItem(atPath: made.path) } }
                var badIDs: [String: String] = [:]
                for b in bad { badIDs[try await sut.submit(api, path: b.path, name: b.name)] = b.name }

                // A zero-byte upload is refused at once and stores nothing.
                let empty = try await sut.uploadFile(api, path: ServiceUnderTest.fixture("empty.mp4"), name: "empty.mp4")
                #expect(empty.status == 422, "zero bytes: \(empty.status) \(empty.text)")

                // A source that vanished before a worker got to it: retried (it may still be
                // landing), then given up after the attempts and dead-lettered.
                let clip = try await FaultMedia.clip(seconds: 3)
                let bytes = try Data(contentsOf: URL(fileURLWithPath: clip))
                _ = try await storage.put(key: "source/vanishing/clip.mp4", chunks: AsyncChunks([[UInt8](bytes)]), contentType: "video/mp4")
                let submitted = try await sut.request(api, "POST", "/jobs", ["-H", "Content-Type: application/json",
                                                                             "--data", #"{"source_key": "source/vanishing/clip.mp4"}"#])
                let vanishing = try #require(ServiceUnderTest.videoID(submitted.json), "\(submitted.status) \(submitted.text)")
                _ = try await storage.delete(prefix: "source/vanishing/")

                // A stream entry that is not a job at all.
                _ = try await sut.redis { try await $0.xadd(sut.keys.jobStream, fields: [("poison", "not a job")]) }

                let workersStarted = ContinuousClock.now
                try await fleet.launch()
                let audit = try BatchAudit(sut)
                try await audit.waitUntilSettled(Array(badIDs.keys) + [vanishing], timeout: .seconds(120))
                figures.notes.append(String(format: "all ended %.1f s after the worker started", (ContinuousClock.now - workersStarted).inSeconds))

                var rows: [String: (status: String, attempts: Int, error: String)] = [:]
                for row in try await sut.query("SELECT id::text, status, attempts::text, coalesce(error_message, '') FROM videos") {
                    rows[row[0]!] = (row[1]!, Int(row[2]!) ?? 0, row[3]!)
                }
                for (id, name) in badIDs {
                    let row = try #require(rows[id])
                    #expect(row.status == "failed" && row.attempts == 1, "\(name): \(row.status) after \(row.attempts) attempts")
                    #expect(!row.error.isEmpty && row.error.count < 500, "\(name): error_message \(row.error)")
                    #expect(!row.error.contains(sut.storageDirectory) && !row.error.contains(fleet.workRoot), "\(name): a local path in \(row.error)")
                    let snapshot = try await sut.redis { try await $0.send("GET", sut.keys.progressKey(id)).string } ?? ""
                    #expect(snapshot.contains(#""status":"failed""#), "\(name): progress \(snapshot)")
                    figures.failed += row.status == "failed" ? 1 : 0
                    figures.lost += row.status == "failed" ? 0 : 1
                    figures.notes.append("\(name): \(row.error.prefix(160))")
                }
                let gone = try #require(rows[vanishing])
                #expect(gone.status == "failed" && gone.attempts == 2 && gone.error.contains("not found"),
                        "vanished source: \(gone.status) after \(gone.attempts) attempts: \(gone.error)")
                figures.failed += gone.status == "failed" ? 1 : 0
                let dead = try await sut.redis { try await $0.xrange(sut.keys.deadLetterStream) }
                #expect(dead.count == 2, "dead letters: the vanished source and the poison entry, not bad media: \(dead)")
                #expect(dead.contains { $0.string("video_id") == vanishing }, "the vanished source is dead-lettered")
                #expect(try await audit.pendingCount() == 0)
                #expect(fleet.workDirectories().isEmpty, "work directories left: \(fleet.workDirectories())")
                let partials = (try? FileManager.default.contentsOfDirectory(atPath: sut.storageDirectory + "/.tmp")) ?? []
                #expect(partials.isEmpty, "partial files in storage: \(partials)")
                #expect(rows.count == badIDs.count + 1, "the zero-byte upload has no row")
                try await audit.noObjectWithoutARow()
                figures.submitted = bad.count + 2
                figures.accepted = bad.count + 1
                figures.refused = 1
                try await fleet.stopAll()
            }
        }
    }
}
