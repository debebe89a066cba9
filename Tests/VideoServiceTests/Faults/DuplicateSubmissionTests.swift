import Foundation
import Testing
import TestSupport

extension FaultSuite {
    /// The seed's JSON form posted many times at once with one `video_id` (a client retrying
    /// over a flaky network, or several producers): one video, one job, completed once.
    @Suite struct DuplicateSubmissions {
        @Test func concurrentPostsOfOneVideoIDMakeOneJob() async throws {
            let scale = FaultScale.current
            try await FaultScenario.run("concurrent duplicate submissions of one video_id", prefix: "fault-dup", backend: .s3) { scenario, figures in
                let sut = scenario.sut
                let api = try await scenario.startService(workers: 1)
                let clip = try Data(contentsOf: URL(fileURLWithPath: try await FaultMedia.clip(seconds: 3)))
                _ = try await sut.storage().put(key: "source/incoming/dup.mp4", chunks: AsyncChunks([[UInt8](clip)]), contentType: "video/mp4")
                let id = UUID().uuidString.lowercased()
                let seed = #"{"video_id": "\#(id)", "s3_path": "s3://\#(sut.bucket!)/source/incoming/dup.mp4", "original_name": "dup.mp4"}"#
                // Every request complete but for its last byte, then the last bytes together: the
                // API sees them at the same moment, as many as one machine can make.
                let request = Array("POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(seed.utf8.count)\r\nConnection: close\r\n\r\n\(seed)".utf8)
                let statuses = try await MisbehavingClient.simultaneous(port: try #require(api.port), request: request, count: scale.duplicatePosts)
                    .map { $0 ?? 0 }
                figures.submitted = statuses.count
                figures.accepted = statuses.filter { [200, 202].contains($0) }.count
                figures.notes.append("answers: " + Dictionary(statuses.map { ($0, 1) }, uniquingKeysWith: +).sorted { $0.key < $1.key }
                    .map { "\($0.key) × \($0.value)" }.joined(separator: ", "))
                #expect(statuses.allSatisfy { [200, 202].contains($0) }, "every post is answered as the same video: \(statuses)")

                try await scenario.settleAndAudit([id], timeout: .seconds(120), figures: &figures)
                #expect(try await sut.query("SELECT count(*)::text FROM videos") == [["1"]], "one video")
                #expect(figures.jobRetries == 0, "one attempt")
                try await scenario.fleet.stopAll()
            }
        }
    }
}
