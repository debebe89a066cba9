import Foundation
import Testing
import TestSupport

/// What every fault scenario does around its own steps: a vidd of its own (`ServiceUnderTest`)
/// with a worker fleet, its figures timed and reported whatever happens, any error recorded with
/// the daemons' logs, and everything it started stopped and removed.
struct FaultScenario {
    let sut: ServiceUnderTest
    let fleet: WorkerFleet

    /// Runs `body`; `extraLogs` adds a server's log of the scenario's own (Redis, PostgreSQL, the
    /// proxy) to a failure's report, `teardown` stops it. Returns without running anything when
    /// the services are missing (`ServiceUnderTest.make`: skipped locally, a failure in CI).
    static func run(_ scenario: String, prefix: String, backend: ServiceUnderTest.Backend = .file,
                    settings: [String: String] = FaultScale.daemonSettings,
                    postgresURL: String? = nil, redisURL: String? = nil, s3Endpoint: String? = nil,
                    extraLogs: @escaping () -> String = { "" }, teardown: () async -> Void = {},
                    _ body: (FaultScenario, inout FaultFigures) async throws -> Void) async throws {
        guard let sut = try await ServiceUnderTest.make(prefix, backend: backend, settings: settings, redisURL: redisURL,
                                                        postgresURL: postgresURL, s3Endpoint: s3Endpoint) else {
            await teardown()
            return
        }
        var figures = FaultFigures(scenario: scenario)
        let started = ContinuousClock.now
        let fleet: WorkerFleet
        do {
            fleet = try WorkerFleet(sut)
        } catch {
            await sut.cleanup()
            await teardown()
            throw error
        }
        do {
            try await body(FaultScenario(sut: sut, fleet: fleet), &figures)
        } catch {
            Issue.record("\(error)\n\(sut.logs.suffix(20_000))\(extraLogs())")
        }
        // No daemon died but those killed on purpose; the others are running or exited 0.
        for daemon in sut.daemons where !fleet.killedPIDs.contains(daemon.pid) {
            if let status = daemon.poll(), status != 0 {
                figures.crashes += 1
                Issue.record("\(daemon.arguments.joined(separator: " ")) (pid \(daemon.pid)) ended with \(status):\n\(daemon.log.suffix(5000))")
            }
        }
        figures.seconds = (ContinuousClock.now - started).inSeconds
        figures.report()
        fleet.removeWorkRoot()
        await sut.cleanup()
        await teardown()
    }

    /// `vidd serve`, and `workers` workers in the fleet.
    func startService(workers: Int) async throws -> ServiceUnderTest.Daemon {
        let api = try await sut.start("serve")
        for _ in 0..<workers { try await fleet.launch() }
        return api
    }

    /// Uploads `path` `count` times (names `prefix0.mp4`, …); the new videos' ids.
    func submitBatch(_ api: ServiceUnderTest.Daemon, path: String, count: Int, prefix: String) async throws -> [String] {
        var ids: [String] = []
        for i in 0..<count { ids.append(try await sut.submit(api, path: path, name: "\(prefix)\(i).mp4")) }
        return ids
    }

    /// Waits for every video in `ids` to settle, then checks that each completed exactly once;
    /// counts them as submitted and accepted.
    func settleAndAudit(_ ids: [String], timeout: Duration, audit: BatchAudit? = nil, figures: inout FaultFigures) async throws {
        let audit = try audit ?? BatchAudit(sut)
        try await audit.waitUntilSettled(ids, timeout: timeout)
        try await audit.completedExactlyOnce(ids, heights: FaultMedia.clipHeights, figures: &figures)
    }

    /// Returns once `seconds` have passed since `start` (how long an outage lasts).
    static func hold(_ seconds: Int, since start: ContinuousClock.Instant) async throws {
        try await waitUntil("\(seconds) s of outage", timeout: .seconds(seconds + 5), retryingErrors: false) {
            ContinuousClock.now - start >= .seconds(seconds)
        }
    }
}
