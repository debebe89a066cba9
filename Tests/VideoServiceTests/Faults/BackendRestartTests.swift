import Foundation
import Testing
import TestSupport

extension FaultSuite {
    /// Redis (with its append-only file) and PostgreSQL restarted in the middle of a batch, each
    /// a server of the test's own: the API answers every request within seconds — 503 for what
    /// needs the missing backend, never 500, never a hang — recovers by itself, and every
    /// accepted video completes exactly once.
    @Suite struct BackendRestarts {
        @Test func redisCrashAndRestartMidBatch() async throws {
            let scale = FaultScale.current
            let redis = try await RestartableRedis.start(name: TestServices.uniqueName("fault"))
            try await FaultScenario.run("Redis crash (SIGKILL) and restart from its AOF", prefix: "fault-redis", redisURL: redis.url,
                                        extraLogs: { "\n--- redis\n\(redis.logs.suffix(3000))" }, teardown: { await redis.stop() }) { scenario, figures in
                let sut = scenario.sut
                let api = try await scenario.startService(workers: 2)
                let clip = try await FaultMedia.clip(seconds: 3)
                var ids = try await scenario.submitBatch(api, path: clip, count: scale.outageJobs, prefix: "redis")
                let audit = try BatchAudit(sut)
                try await audit.waitUntilOneIsProcessing()

                // Reads that do not need Redis answer from PostgreSQL; uploads are refused (503)
                // or accepted, and an upload refused after its row was recorded is enqueued
                // later without the client (issue 14, items 13 and 14).
                let probe = OutageProbe(sut, api, checks: [.video(ids[0], allowed: [200]), .list(allowed: [200]), .healthz,
                                                           .upload(clip, allowed: [202, 503])])
                let outageStart = ContinuousClock.now
                await redis.crash()
                let probing = probe.start()
                try await FaultScenario.hold(scale.outageSeconds, since: outageStart)
                try await redis.start()
                figures.outageSeconds = (ContinuousClock.now - outageStart).inSeconds
                probe.stop()
                await probing.value
                probe.verify(&figures)

                try await waitUntil("the API to recover by itself", timeout: .seconds(30), every: .milliseconds(250), retryingErrors: false) {
                    try await sut.request(api, "GET", "/readyz").status == 200
                }
                let after = try await sut.uploadFile(api, path: clip, name: "after.mp4")
                #expect(after.status == 202, "an upload after the outage: \(after.status) \(after.text)")
                if let id = ServiceUnderTest.videoID(after.json) { ids.append(id) }

                // Every accepted upload completes, the batch and those accepted during the outage.
                let duringOutage = probe.all.filter { $0.route == "POST /jobs" }
                ids += duringOutage.filter { $0.status == 202 }.compactMap { Self.videoIDs(in: $0.body).first }
                figures.submitted = ids.count + duringOutage.filter { $0.status != 202 }.count
                figures.accepted = ids.count
                figures.refused = duringOutage.filter { $0.status != 202 }.count
                try await scenario.settleAndAudit(ids, timeout: .seconds(scale.name == "long" ? 600 : 120), audit: audit, figures: &figures)

                // An upload refused with 503 after its row was recorded is enqueued later without
                // the client (issue 14, item 14: the outbox), and completes like the others.
                let rows = Set(try await audit.statuses().keys)
                let recorded = Array(rows.subtracting(ids))
                let named = Set(duringOutage.filter { $0.status != 202 }.flatMap { Self.videoIDs(in: $0.body) })
                #expect(Set(recorded).isSubset(of: named), "rows nobody submitted: \(Set(recorded).subtracting(named))")
                if !recorded.isEmpty {
                    do {
                        try await audit.waitUntilSettled(recorded, timeout: .seconds(120))
                        try await audit.completedExactlyOnce(recorded, heights: FaultMedia.clipHeights, figures: &figures)
                        figures.notes.append("\(recorded.count) uploads answered 503 after their row was recorded: enqueued later and completed")
                    } catch {
                        figures.notes.append("\(recorded.count) uploads answered 503 after their row was recorded: left queued")
                        Issue.record("\(error): a video whose enqueue failed stays queued")
                    }
                }
                try await scenario.fleet.stopAll()
            }
        }

        @Test func postgresRestartMidBatch() async throws {
            let scale = FaultScale.current
            let pg = try await RestartablePostgres.start(name: TestServices.uniqueName("fault"))
            try await FaultScenario.run("PostgreSQL stop (fast), start, restarts", prefix: "fault-pg", postgresURL: pg.url,
                                        extraLogs: { "\n--- postgres\n\(pg.log.suffix(3000))" }, teardown: { await pg.destroy() }) { scenario, figures in
                let sut = scenario.sut
                let api = try await scenario.startService(workers: 2)
                let clip = try await FaultMedia.clip(seconds: 3)
                let ids = try await scenario.submitBatch(api, path: clip, count: scale.outageJobs, prefix: "pg")
                let audit = try BatchAudit(sut)
                try await audit.waitUntilOneIsProcessing()

                // Through the shutdown, the outage and the start-up (57P01, 57P03, refused
                // connections), every request needing PostgreSQL answers 503 — never 500 (issue
                // 14, item 12) — and an upload refused for it leaves nothing behind.
                let probe = OutageProbe(sut, api, checks: [.video(ids[0], allowed: [200, 503], parallel: 4),
                                                           .list(allowed: [200, 503], parallel: 2), .healthz,
                                                           .upload(clip, allowed: [202, 503])])
                let probing = probe.start()
                let outageStart = ContinuousClock.now
                try await pg.stop(mode: "fast")
                try await FaultScenario.hold(scale.outageSeconds, since: outageStart)
                try await pg.start()
                figures.outageSeconds = (ContinuousClock.now - outageStart).inSeconds
                try await waitUntil("the API to recover by itself", timeout: .seconds(30), every: .milliseconds(250), retryingErrors: false) {
                    try await sut.request(api, "GET", "/videos/\(ids[0])").status == 200
                }
                // Then restarts back to back, as an operator applying settings does: the
                // shutting-down and starting-up windows are where 57P01 and 57P03 are met.
                for _ in 0..<scale.restarts {
                    let restartStart = ContinuousClock.now
                    try await pg.restart()
                    figures.outageSeconds += (ContinuousClock.now - restartStart).inSeconds
                }
                figures.notes.append("then \(scale.restarts) × pg_ctl restart -m fast")
                try await waitUntil("the API to recover by itself", timeout: .seconds(30), every: .milliseconds(250), retryingErrors: false) {
                    try await sut.request(api, "GET", "/videos/\(ids[0])").status == 200
                }
                probe.stop()
                await probing.value
                probe.verify(&figures)
                #expect(probe.all.contains { $0.route == "GET /videos/{id}" && $0.status == 503 }, "the outage was seen by the API")

                let posts = probe.all.filter { $0.route == "POST /jobs" }
                let accepted = Array(Set(posts.filter { $0.status == 202 }.flatMap { Self.videoIDs(in: $0.body) }))
                figures.submitted = ids.count + posts.count
                figures.refused = posts.filter { $0.status != 202 }.count
                let all = ids + accepted
                figures.accepted = all.count
                let rows = Set(try await audit.statuses().keys)
                #expect(rows == Set(all), "rows of refused uploads: \(rows.subtracting(all))")
                try await scenario.settleAndAudit(all, timeout: .seconds(scale.name == "long" ? 600 : 120), audit: audit, figures: &figures)
                try await scenario.fleet.stopAll()
            }
        }

        /// Video ids (UUIDs) in an answer: the new video of a 202, the recorded one a 503 names.
        static func videoIDs(in text: String) -> [String] {
            text.matches(of: /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/).map { String($0.output) }
        }
    }
}
