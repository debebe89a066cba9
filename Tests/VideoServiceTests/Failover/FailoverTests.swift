import Foundation
import Testing
import TestSupport
@testable import VideoCore

/// A real vidd (one API, two workers) through a failover of each backend, mid-batch: Redis with
/// Sentinel (the primary killed, the replica promoted) and PostgreSQL with a synchronous
/// streaming standby (the primary crashed, the standby promoted). Every job must complete once,
/// progress must keep flowing to SSE clients, and the API may answer 503 only during the switch.
/// The figures printed here are the ones docs/reliability.md records.
@Suite(.serialized) struct FailoverTests {
    static let jobs = 8
    static let settings = [
        "VIDD_LEASE_SECONDS": "15", "VIDD_MAX_ATTEMPTS": "3", "VIDD_LOG_LEVEL": "info", "VIDD_X264_PRESET": "ultrafast",
    ]

    @Test func redisSentinelFailoverMidBatch() async throws {
        guard let cluster = try await RedisSentinelCluster.start() else { return }
        // The cluster is stopped on every path, a failed setup included.
        let made: ServiceUnderTest?
        do { made = try await ServiceUnderTest.make("fo-redis", settings: Self.settings, redisURL: cluster.url()) } catch {
            await cluster.stop()
            throw error
        }
        guard let sut = made else {
            await cluster.stop()
            return
        }
        do {
            let batch = try await FailoverBatch.startMidBatch(sut, jobs: Self.jobs, submitted: 5)
            defer { batch.stop() }

            batch.markKill()
            try await cluster.kill(port: cluster.primaryPort)
            // The rest of the batch is submitted during the switch.
            async let late: Void = { for id in batch.ids.dropFirst(5) { try await batch.submit(id) } }()
            let promoted = try await cluster.waitForFailover(awayFrom: cluster.primaryPort)
            let switchDone = batch.now - batch.killedAt!
            try await late
            try await batch.waitForAll()

            let outcome = try await batch.checkOutcome(switchDone: switchDone)
            #expect(await cluster.masterPort() == cluster.replicaPort)
            print("[failover] redis sentinel: replica promoted \(FailoverBatch.Outcome.seconds(promoted)) after the kill; \(outcome)")
        } catch {
            Issue.record("\(error)\n\(sut.logs)\n\(cluster.logs)")
        }
        await sut.cleanup()
        await cluster.stop()
    }

    @Test func postgresStandbyPromotedMidBatch() async throws {
        guard let pair = try await PostgresStandbyPair.start() else { return }
        let urlFor = { @Sendable (name: String) in pair.url(database: name, parameters: ["target_session_attrs=read-write", "connect_timeout=2"]) }
        let made: ServiceUnderTest?
        do {
            made = try await ServiceUnderTest.make("fo-pg", settings: Self.settings, postgresURL: pair.url(ports: [pair.primaryPort]), databaseURL: urlFor)
        } catch {
            await pair.stop()
            throw error
        }
        guard let sut = made else {
            await pair.stop()
            return
        }
        do {
            let batch = try await FailoverBatch.startMidBatch(sut, jobs: Self.jobs, submitted: 5)
            defer { batch.stop() }

            batch.markKill()
            try await pair.crashPrimary()
            async let late: Void = { for id in batch.ids.dropFirst(5) { try await batch.submit(id) } }()
            // An operator (or Patroni) notices and promotes the standby a second later.
            try await Task.sleep(for: .seconds(1))
            try await pair.promoteStandby()
            let switchDone = batch.now - batch.killedAt!
            try await late
            try await batch.waitForAll()

            let outcome = try await batch.checkOutcome(switchDone: switchDone)
            // vidd's sessions are on the new primary, reached through the URL that lists the old one first.
            let sessions = try await pair.psql(port: pair.standbyPort, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'vidd'")
            #expect((Int(sessions) ?? 0) > 0, "vidd is connected to the promoted standby")
            let retried = sut.logs.components(separatedBy: "database unavailable; retrying").count - 1
            print("[failover] postgres standby: promoted \(FailoverBatch.Outcome.seconds(switchDone)) after the crash; \(outcome); "
                + "\(retried) job step(s) waited for the database instead of failing")
        } catch {
            Issue.record("\(error)\n\(sut.logs)\n\(pair.logs)")
        }
        await sut.cleanup()
        await pair.stop()
    }
}
