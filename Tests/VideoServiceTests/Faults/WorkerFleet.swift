import Foundation
import RESP
import TestSupport
@testable import VideoCore

/// The `vidd worker` processes of a fault scenario: started with one work directory root
/// (`TMPDIR`, so the per-job directories they leave behind can be counted), known by their
/// consumer names, killed or stopped on purpose.
final class WorkerFleet: @unchecked Sendable {
    struct Member: Sendable {
        let daemon: ServiceUnderTest.Daemon
        let consumer: String
        var pid: Int32 { daemon.process.pid }
    }

    let sut: ServiceUnderTest
    /// `TMPDIR` of every worker: where their `vidd-job-*` directories are made.
    let workRoot: String
    let settings: [String: String]
    private let lock = NSLock()
    private var live: [Member] = []
    private var killed: Set<Int32> = []

    init(_ sut: ServiceUnderTest, settings: [String: String] = [:]) throws {
        self.sut = sut
        self.settings = settings
        workRoot = sut.storageDirectory + "-work"
        try FileManager.default.createDirectory(atPath: workRoot, withIntermediateDirectories: true)
    }

    var members: [Member] { lock.withLock { live } }
    /// Workers this fleet SIGKILLed on purpose.
    var killedPIDs: Set<Int32> { lock.withLock { killed } }

    /// Starts a worker and waits until it has joined the group (its `worker started` line names
    /// its consumer).
    @discardableResult
    func launch() async throws -> Member {
        let daemon = try await sut.start("worker", settings: settings.merging(["TMPDIR": workRoot]) { a, _ in a })
        guard let line = await daemon.process.waitForLog("msg=\"worker started\"", timeout: .seconds(60)),
              let field = line.split(separator: " ").first(where: { $0.hasPrefix("consumer=") })
        else { throw ServiceUnderTest.Failure("worker \(daemon.process.pid) never joined the group:\n\(daemon.process.log)") }
        let member = Member(daemon: daemon, consumer: String(field.dropFirst("consumer=".count)))
        lock.withLock { live.append(member) }
        return member
    }

    /// SIGKILL, then reaped: a crash in the middle of whatever it was doing.
    func kill(_ member: Member) async throws {
        lock.withLock {
            live.removeAll { $0.pid == member.pid }
            killed.insert(member.pid)
        }
        member.daemon.process.signal(SIGKILL)
        guard await member.daemon.process.waitForExit(timeout: .seconds(10)) == 128 + SIGKILL else {
            throw ServiceUnderTest.Failure("worker \(member.pid) did not die of SIGKILL")
        }
    }

    /// SIGTERM to every live worker; each must exit 0 within `timeout`.
    func stopAll(timeout: Duration = .seconds(60)) async throws {
        let all = lock.withLock { () -> [Member] in
            defer { live = [] }
            return live
        }
        for m in all { m.daemon.process.signal(SIGTERM) }
        for m in all {
            let status = await m.daemon.process.waitForExit(timeout: timeout)
            guard status == 0 else {
                throw ServiceUnderTest.Failure("worker \(m.pid) ended with \(status.map(String.init) ?? "nothing (still running)") after SIGTERM:\n\(m.daemon.process.log)")
            }
        }
    }

    /// Pending entries of live workers: (member, entry id, deliveries so far).
    func runningJobs() async throws -> [(member: Member, entryID: String, deliveries: Int)] {
        let pending = try await sut.redis { try await $0.xpending(sut.keys.jobStream, group: sut.keys.consumerGroup, count: 1000) }
        let byConsumer = Dictionary(members.map { ($0.consumer, $0) }, uniquingKeysWith: { a, _ in a })
        return pending.compactMap { p in byConsumer[p.consumer].map { ($0, p.id, p.deliveryCount) } }
    }

    /// The per-job work directories in the work root (a finished or cancelled job removes its own).
    func workDirectories() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: workRoot)) ?? []).filter { $0.hasPrefix("vidd-job-") }.sorted()
    }

    /// The group's consumers as `XINFO CONSUMERS` lists them: name and pending count.
    func consumers() async throws -> [(name: String, pending: Int)] {
        let reply = try await sut.redis { try await $0.send("XINFO", "CONSUMERS", sut.keys.jobStream, sut.keys.consumerGroup) }
        return (reply.elements ?? []).compactMap { consumer in
            let fields = Dictionary((consumer.pairs ?? []).compactMap { p in p.key.string.map { ($0, p.value) } }, uniquingKeysWith: { a, _ in a })
            guard let name = fields["name"]?.string else { return nil }
            return (name, Int(fields["pending"]?.int ?? 0))
        }
    }

    func removeWorkRoot() { try? FileManager.default.removeItem(atPath: workRoot) }
}
