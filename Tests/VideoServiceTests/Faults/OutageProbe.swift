import Foundation
import Synchronization
import Testing
import TestSupport

/// Requests made to the API, round after round, while a backend goes down and comes back: each
/// must get an answer within `limit` (never hang), and its status must be one the route may give.
final class OutageProbe: Sendable {
    struct Check: Sendable {
        var route: String
        var method = "GET"
        var path: String
        var arguments: [String] = []
        /// Statuses this route may answer at any point of the outage.
        var allowed: Set<Int>
        /// Requests of this check made at once in each round.
        var parallel = 1
    }

    struct Sample: Sendable {
        var route: String
        var status: Int  // 0: no answer within the limit
        var seconds: Double
        var body: String
    }

    let sut: ServiceUnderTest
    let daemon: ServiceUnderTest.Daemon
    let checks: [Check]
    let limit: Duration
    private let samples = Mutex<[Sample]>([])
    private let stopped = Atomic<Bool>(false)

    init(_ sut: ServiceUnderTest, _ daemon: ServiceUnderTest.Daemon, limit: Duration = .seconds(5), checks: [Check]) {
        self.sut = sut
        self.daemon = daemon
        self.checks = checks
        self.limit = limit
    }

    /// Runs rounds of every check until `stop()`.
    func start() -> Task<Void, Never> {
        Task {
            while !stopped.load(ordering: .relaxed) {
                await withTaskGroup(of: Sample.self) { group in
                    for check in checks {
                        for _ in 0..<check.parallel { group.addTask { await self.sample(check) } }
                    }
                    for await s in group { samples.withLock { $0.append(s) } }
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    func stop() { stopped.store(true, ordering: .relaxed) }

    private func sample(_ check: Check) async -> Sample {
        let start = ContinuousClock.now
        // curl gives up a little after the limit, so a hang is measured, not waited out.
        let maxTime = String(Int(limit.inSeconds) + 5)
        do {
            let r = try await sut.request(daemon, check.method, check.path, check.arguments + ["--max-time", maxTime])
            return Sample(route: check.route, status: r.status, seconds: (ContinuousClock.now - start).inSeconds, body: r.text)
        } catch {
            return Sample(route: check.route, status: 0, seconds: (ContinuousClock.now - start).inSeconds, body: "\(error)")
        }
    }

    var all: [Sample] { samples.withLock { $0 } }

    /// Records every answer that came too late or with a status its route may not give, and
    /// adds the samples to `figures`.
    func verify(_ figures: inout FaultFigures) {
        let all = self.all
        figures.outageRequests += all.count
        for s in all { figures.outageStatuses["\(s.route) \(s.status)", default: 0] += 1 }
        figures.outageSlowestSeconds = max(figures.outageSlowestSeconds, all.map(\.seconds).max() ?? 0)
        figures.outageUnanswered += all.filter { $0.status == 0 || $0.seconds > limit.inSeconds }.count
        #expect(!all.isEmpty, "the probe made no request")
        for check in checks {
            let mine = all.filter { $0.route == check.route }
            let late = mine.filter { $0.status == 0 || $0.seconds > limit.inSeconds }
            #expect(late.isEmpty, "\(check.route): \(late.count) of \(mine.count) requests not answered within \(limit): \(late.prefix(3).map { "\($0.status) after \(String(format: "%.1f", $0.seconds)) s: \($0.body.prefix(200))" })")
            let wrong = mine.filter { $0.status != 0 && !check.allowed.contains($0.status) }
            #expect(wrong.isEmpty, "\(check.route): answered \(Set(wrong.map(\.status)).sorted()) (allowed \(check.allowed.sorted())): \(wrong.prefix(3).map { $0.body.prefix(300) })")
        }
    }
}

/// The requests the scenarios probe with.
extension OutageProbe.Check {
    static func video(_ id: String, allowed: Set<Int>, parallel: Int = 1) -> Self {
        .init(route: "GET /videos/{id}", path: "/videos/\(id)", allowed: allowed, parallel: parallel)
    }

    static func list(allowed: Set<Int>, parallel: Int = 1) -> Self {
        .init(route: "GET /videos", path: "/videos?limit=5", allowed: allowed, parallel: parallel)
    }

    static let healthz = Self(route: "GET /healthz", path: "/healthz", allowed: [200])

    static func readyz(allowed: Set<Int>) -> Self { .init(route: "GET /readyz", path: "/readyz", allowed: allowed) }

    /// A raw upload of the file at `path`.
    static func upload(_ path: String, allowed: Set<Int>) -> Self {
        .init(route: "POST /jobs", method: "POST", path: "/jobs?name=during.mp4",
              arguments: ["-H", "Content-Type: video/mp4", "--data-binary", "@" + path], allowed: allowed)
    }
}
