import Foundation
import Testing
import TestSupport

extension FaultSuite {
    /// SIGTERM to a worker in the middle of a job: the job finishes within the grace period, or
    /// it is handed back at once and another worker completes it — exactly once either way.
    @Suite struct Shutdown {
        @Test func jobFinishesWithinTheGracePeriod() async throws {
            var settings = FaultScale.daemonSettings
            settings["VIDD_SHUTDOWN_GRACE_SECONDS"] = "60"
            try await FaultScenario.run("SIGTERM mid-job, job shorter than the grace", prefix: "fault-term", settings: settings) { scenario, figures in
                let (sut, fleet) = (scenario.sut, scenario.fleet)
                let api = try await sut.start("serve")
                let worker = try await fleet.launch()
                let id = try await sut.submit(api, path: try await FaultMedia.clip(seconds: 6), name: "term.mp4")
                try await Self.waitUntilStarted(worker, id)
                try await fleet.stopAll()
                #expect(Self.lines(of: worker, "job done", id).count == 1, "the stopping worker finished the job")
                figures.submitted = 1
                figures.accepted = 1
                try await scenario.settleAndAudit([id], timeout: .seconds(10), figures: &figures)
                #expect(figures.jobRetries == 0, "one attempt")
                #expect(fleet.workDirectories().isEmpty)
            }
        }

        /// With a 30 s lease, a job left by a stopping worker is not waited out: the next worker
        /// takes it at once (issue 14, item 7). Without the hand-back it would wait until the
        /// entry had been idle for the lease, 20 s or more after the stop.
        @Test func jobCutShortAtTheGraceIsHandedBackAtOnce() async throws {
            var settings = FaultScale.daemonSettings
            settings["VIDD_SHUTDOWN_GRACE_SECONDS"] = "1"
            settings["VIDD_LEASE_SECONDS"] = "30"
            try await FaultScenario.run("SIGTERM mid-job, job longer than the grace", prefix: "fault-handback", settings: settings) { scenario, figures in
                let (sut, fleet) = (scenario.sut, scenario.fleet)
                let api = try await sut.start("serve")
                let stopping = try await fleet.launch()
                let id = try await sut.submit(api, path: try await FaultMedia.clip(seconds: 20), name: "handback.mp4")
                try await Self.waitUntilStarted(stopping, id)
                try await fleet.stopAll(timeout: .seconds(15))
                #expect(Self.lines(of: stopping, "job done", id).isEmpty, "the job outlived the grace period")
                #expect(try await BatchAudit(sut).pendingCount() == 1, "the job is left for another worker")

                let next = try await fleet.launch()
                let handBack = ContinuousClock.now
                do {
                    try await waitUntil("the next worker to take the job over", timeout: .seconds(10), retryingErrors: false) {
                        !Self.lines(of: next, "job started", id).isEmpty
                    }
                    figures.notes.append(String(format: "taken over %.1f s after the next worker started", (ContinuousClock.now - handBack).inSeconds))
                } catch {
                    Issue.record("\(error): a job cut short at shutdown waits out its lease instead of being handed back")
                }
                figures.submitted = 1
                figures.accepted = 1
                try await scenario.settleAndAudit([id], timeout: .seconds(240), figures: &figures)
                #expect(figures.jobRetries == 1, "two attempts: the cut one and the one that completed")
                try await fleet.stopAll()
                #expect(fleet.workDirectories().isEmpty, "the stopped worker removed its work directory")
            }
        }

        /// Until `worker` has begun the job (its `job started` line: the video is `processing`).
        static func waitUntilStarted(_ worker: WorkerFleet.Member, _ id: String) async throws {
            try await waitUntil("\(id) to start", timeout: .seconds(60), every: .milliseconds(20), retryingErrors: false) {
                !lines(of: worker, "job started", id).isEmpty
            }
        }

        /// `worker`'s log lines with message `message` about video `id`.
        static func lines(of worker: WorkerFleet.Member, _ message: String, _ id: String) -> [Substring] {
            worker.daemon.process.log.split(separator: "\n").filter { $0.contains("msg=\"\(message)\"") && $0.contains("video_id=\(id)") }
        }
    }
}
