import Foundation
import Testing
import TestSupport

extension FaultSuite {
    /// Workers SIGKILLed in the middle of jobs, over and over: every job completes exactly once,
    /// and the crashes leave nothing behind — no per-job work directory, no consumer.
    @Suite struct WorkerKills {
        /// How long after the kills the dead workers' consumers may stay in the group: they are
        /// removed once idle past a threshold with an empty PEL (issue 14, item 16).
        static let consumerSweepDeadline = Duration.seconds(90)

        @Test func everyJobCompletesExactlyOnceWhileWorkersAreKilled() async throws {
            let scale = FaultScale.current
            try await FaultScenario.run("SIGKILL of workers mid-job", prefix: "fault-kill") { scenario, figures in
                let (sut, fleet) = (scenario.sut, scenario.fleet)
                let api = try await scenario.startService(workers: scale.workers)
                let clip = try await FaultMedia.clip(seconds: 3)
                var ids = try await scenario.submitBatch(api, path: clip, count: scale.killJobs, prefix: "kill")

                let audit = try BatchAudit(sut)
                var killsPerEntry: [String: Int] = [:]
                var lastKill = ContinuousClock.now
                let deadline = ContinuousClock.now + .seconds(scale.name == "long" ? 1200 : 240)
                while figures.kills < scale.kills {
                    guard ContinuousClock.now < deadline else {
                        throw ServiceUnderTest.Failure("only \(figures.kills) of \(scale.kills) kills before the deadline")
                    }
                    let statuses = try await audit.statuses()
                    let ended = ids.filter { ["completed", "failed"].contains(statuses[$0] ?? "") }.count
                    if ended == ids.count {
                        // The batch ran out before the kills did: one more job to kill.
                        ids.append(try await sut.submit(api, path: clip, name: "kill\(ids.count).mp4"))
                        continue
                    }
                    // Kills spread over the batch: the i-th waits until i/(kills + 1) of it has ended.
                    // A job is killed at most three times (it has ten attempts).
                    let candidates = ended * (scale.kills + 1) >= figures.kills * ids.count
                        ? try await fleet.runningJobs().filter { killsPerEntry[$0.entryID, default: 0] < 3 } : []
                    guard let target = candidates.randomElement() else {
                        try await Task.sleep(for: .milliseconds(50))
                        continue
                    }
                    try await fleet.kill(target.member)
                    killsPerEntry[target.entryID, default: 0] += 1
                    figures.kills += 1
                    lastKill = ContinuousClock.now
                    try await fleet.launch()
                }
                figures.submitted = ids.count
                figures.accepted = ids.count
                try await scenario.settleAndAudit(ids, timeout: .seconds(scale.name == "long" ? 900 : 180), audit: audit, figures: &figures)

                // Crash hygiene. The live workers stop cleanly; what the killed ones left is
                // swept: work directories older than a lease at the next start, consumers with
                // an empty PEL once idle past a threshold.
                try await fleet.stopAll()
                figures.notes.append("after the batch: \(fleet.workDirectories().count) work directories, \(try await fleet.consumers().count) consumers")
                let olderThanALease = lastKill + .seconds(FaultScale.leaseSeconds + 1)
                try await waitUntil("a lease since the last kill", timeout: .seconds(FaultScale.leaseSeconds + 5), retryingErrors: false) {
                    ContinuousClock.now >= olderThanALease
                }
                let survivor = try await fleet.launch()
                do {
                    try await waitUntil("the work directories of killed workers to be swept", timeout: .seconds(20), retryingErrors: false) {
                        fleet.workDirectories().isEmpty
                    }
                } catch {
                    Issue.record("\(error): left \(fleet.workDirectories())")
                }
                do {
                    // The survivor's own consumer may be gone too: an idle live consumer is swept
                    // like a dead one, and Redis 7.0 creates a consumer only when it delivers to it
                    // (an XREADGROUP that times out makes none) — its next job brings it back.
                    try await waitUntil("no consumer but the live worker's to remain", timeout: Self.consumerSweepDeadline, every: .milliseconds(500), retryingErrors: false) {
                        try await fleet.consumers().allSatisfy { $0.name == survivor.consumer }
                    }
                } catch {
                    let left = try await fleet.consumers()
                    Issue.record("\(error): XINFO CONSUMERS lists \(left)")
                }
                try await fleet.stopAll()
            }
        }
    }
}
