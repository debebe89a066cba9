import Foundation
import Testing
import TestSupport

extension FaultSuite {
    /// S3 behind a fault proxy of our own: 30 % of the requests spoiled (503 SlowDown, resets
    /// before and after S3 acted, delays, truncated answers) through the batch, and every request
    /// for a while. vidd's retries carry every job through, exactly once, with nothing left behind.
    @Suite struct S3Faults {
        /// Runs `body` against vidd on S3 behind a fault proxy (spoiling nothing yet).
        static func behindProxy(_ scenario: String, prefix: String,
                                _ body: (FaultScenario, S3FaultProxy, inout FaultFigures) async throws -> Void) async throws {
            guard let upstream = try TestServices.require(TestServices.s3Endpoint, "VIDD_TEST_S3_ENDPOINT") else { return }
            let proxy = try await S3FaultProxy.start(upstream: upstream,
                                                     logPath: NSTemporaryDirectory() + "vidd-\(TestServices.uniqueName(prefix))-proxy.log")
            try await FaultScenario.run(scenario, prefix: prefix, backend: .s3, s3Endpoint: proxy.endpoint,
                                        extraLogs: { "\n--- proxy\n\(proxy.process.log.suffix(3000))" }, teardown: { await proxy.stop() }) {
                try await body($0, proxy, &$1)
            }
        }

        /// An upload S3 keeps failing is answered 503 (the storage is unavailable, not a bug of
        /// ours: worth retrying), and leaves no object — although S3 stored it each time and only
        /// the answers were lost (the proxy resets every connection after S3 acted).
        @Test func uploadS3KeepsFailingIs503AndLeavesNoObject() async throws {
            try await Self.behindProxy("an upload S3 keeps failing", prefix: "fault-s3-refused") { scenario, proxy, figures in
                let sut = scenario.sut
                let api = try await sut.start("serve")
                try await proxy.spoil(rate: 1, kinds: ["reset_after"])
                let refused = try await sut.uploadFile(api, path: try await FaultMedia.clip(seconds: 3), name: "refused.mp4")
                #expect(refused.status == 503, "\(refused.status) \(refused.text)")
                #expect(refused.json["error"] as? [String: Any] != nil, "a JSON error: \(refused.text)")
                try await proxy.spoil(rate: 0)
                let storage = try sut.directStorage()
                try await waitUntil("the stored upload to be removed", timeout: .seconds(60), every: .milliseconds(250), retryingErrors: false) {
                    try await storage.list(prefix: "source/").isEmpty
                }
                #expect(try await sut.query("SELECT count(*)::text FROM videos") == [["0"]])
                #expect(sut.logLines(containing: "level=error").isEmpty, "an unavailable backend is not an error of ours: \(sut.logLines(containing: "level=error"))")
                figures.submitted = 1
                figures.refused = refused.status == 503 ? 1 : 0
            }
        }

        /// A multipart upload (a 21 MB source) whose parts S3 keeps refusing: the upload is
        /// refused with 503 and aborted — no multipart upload left open, no object.
        @Test func multipartUploadWhosePartsFailIsAborted() async throws {
            try await Self.behindProxy("a multipart upload whose parts keep failing", prefix: "fault-s3-parts") { scenario, proxy, figures in
                let sut = scenario.sut
                let api = try await sut.start("serve")
                try await proxy.spoil(rate: 1, kinds: ["slowdown", "reset_before", "reset_after", "truncate"], methods: ["PUT"])
                let refused = try await sut.uploadFile(api, path: try await FaultMedia.clip(seconds: 2, noisy: true), name: "parts.mp4")
                #expect(refused.status == 503, "\(refused.status) \(refused.text)")
                try await proxy.spoil(rate: 0)
                if let client = try S3TestServer.client(), let bucket = sut.bucket {
                    let open = try await S3TestServer.pendingUploads(client, bucket)
                    #expect(open.isEmpty, "multipart uploads left open: \(open)")
                    client.shutdown()
                }
                let storage = try sut.directStorage()
                try await waitUntil("no source object", timeout: .seconds(60), every: .milliseconds(250), retryingErrors: false) {
                    try await storage.list(prefix: "source/").isEmpty
                }
                #expect(try await sut.query("SELECT count(*)::text FROM videos") == [["0"]])
                figures.submitted = 1
                figures.refused = refused.status == 503 ? 1 : 0
            }
        }

        @Test func everyJobCompletesExactlyOnceThroughS3Faults() async throws {
            let scale = FaultScale.current
            try await Self.behindProxy("S3 faults: 30 % of requests, then 100 %", prefix: "fault-s3") { scenario, proxy, figures in
                let sut = scenario.sut
                let api = try await scenario.startService(workers: 2)
                let clip = try await FaultMedia.clip(seconds: 3)
                var ids = try await scenario.submitBatch(api, path: clip, count: scale.s3Jobs / 2, prefix: "s3-")
                var refused = 0
                // From here on, uploads too go through the faults: one S3 refuses for good is
                // refused to the client (and must leave nothing behind). The first of them is over
                // the multipart threshold: its upload is parts, its download ranged GETs.
                try await proxy.spoil(rate: 0.3)
                let large = try await FaultMedia.clip(seconds: 2, noisy: true)
                for i in scale.s3Jobs / 2..<scale.s3Jobs {
                    let r = try await sut.uploadFile(api, path: i == scale.s3Jobs / 2 ? large : clip, name: "s3-\(i).mp4")
                    if r.status == 202, let id = ServiceUnderTest.videoID(r.json) { ids.append(id) } else {
                        refused += 1
                        #expect(r.status == 503, "an upload S3 failed is a 503: \(r.status) \(r.text)")
                    }
                }
                let audit = try BatchAudit(sut, storage: try sut.directStorage())
                try await waitUntil("a third of the batch to complete", timeout: .seconds(300), retryingErrors: false) {
                    try await audit.statuses().values.filter { $0 == "completed" }.count >= max(1, ids.count / 3)
                }

                // Every S3 request fails for a while: reads that do not need S3 still answer,
                // readiness says why not, uploads are refused with 503 (the backend is down).
                let probe = OutageProbe(sut, api, limit: .seconds(20), checks: [.video(ids[0], allowed: [200]), .readyz(allowed: [503]),
                                                                                .upload(clip, allowed: [503])])
                try await proxy.spoil(rate: 1, kinds: ["slowdown", "reset_before", "reset_after", "truncate"])
                let outageStart = ContinuousClock.now
                let probing = probe.start()
                try await FaultScenario.hold(scale.s3FullOutageSeconds, since: outageStart)
                probe.stop()
                await probing.value
                try await proxy.spoil(rate: 0.3)
                figures.outageSeconds = (ContinuousClock.now - outageStart).inSeconds
                probe.verify(&figures)
                let duringOutage = probe.all.filter { $0.route == "POST /jobs" }
                ids += duringOutage.filter { $0.status == 202 }.compactMap { BackendRestarts.videoIDs(in: $0.body).first }
                refused += duringOutage.filter { $0.status != 202 }.count

                try await audit.waitUntilSettled(ids, timeout: .seconds(scale.name == "long" ? 900 : 300))
                try await proxy.spoil(rate: 0)
                figures.submitted = ids.count + refused
                figures.accepted = ids.count
                figures.refused = refused
                try await audit.completedExactlyOnce(ids, heights: FaultMedia.clipHeights, figures: &figures)

                let stats = try await proxy.stats()
                figures.s3Faults = stats.totalFaults
                figures.s3RetriesSeen = stats.retries_seen
                figures.notes.append("S3 requests \(stats.requests), faults by kind \(stats.faults.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
                #expect(stats.upstream_errors == 0, "the S3 server itself failed \(stats.upstream_errors) times")
                #expect(stats.totalFaults > 0 && stats.retries_seen > 0, "faults were injected and retried: \(stats)")
                // No multipart upload is left open — not even those whose creation the proxy
                // reset or truncated after S3 made them (the client never learned their ids):
                // a completed video's source and outputs are swept for them, and a refused
                // upload's source is deleted with its unfinished uploads (in the background,
                // retried while S3 fails: waited for).
                if let client = try S3TestServer.client(), let bucket = sut.bucket {
                    defer { client.shutdown() }
                    var open: [(key: String, uploadID: String)] = []
                    try await waitUntil("no multipart upload left open", timeout: .seconds(150), every: .milliseconds(500),
                                        context: { "open: \(open.map { "\($0.key) (\(stats.swallowed_upload_ids.contains($0.uploadID) ? "its creation swallowed" : "created with an answer"))" })" }) {
                        open = try await S3TestServer.pendingUploads(client, bucket)
                        return open.isEmpty
                    }
                    figures.notes.append("\(stats.swallowed_upload_ids.count) multipart uploads created by answers the proxy swallowed, none left open")
                }
                try await scenario.fleet.stopAll()
            }
        }
    }
}
