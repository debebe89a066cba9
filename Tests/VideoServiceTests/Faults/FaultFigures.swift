import Foundation
import TestSupport

/// What one fault scenario did and what came of it: a row of docs/reliability.md's tables.
/// Printed on stderr by every run (`[fault-suite] {…}`) and appended as a JSON line to
/// `$VIDD_FAULT_REPORT` when set (scripts/fault-suite.sh renders that file).
struct FaultFigures: Codable, Sendable {
    var scenario: String
    var scale = FaultScale.current.name
    /// Submissions made, accepted (202/200), refused on purpose (e.g. 503 during an outage).
    var submitted = 0
    var accepted = 0
    var refused = 0
    /// Of the videos that must end: completed, failed (bad media: expected), lost (never ended, or
    /// ended otherwise than expected), duplicated (more than one job or completion).
    var completed = 0
    var failed = 0
    var lost = 0
    var duplicated = 0
    var kills = 0
    /// Daemons that ended other than by a kill of the scenario's or a clean exit.
    var crashes = 0
    var outageSeconds = 0.0
    /// Deliveries beyond the first, summed over the batch (`videos.attempts - 1`).
    var jobRetries = 0
    /// S3 requests the fault proxy spoiled, and requests it then saw again (the client's retries).
    var s3Faults = 0
    var s3RetriesSeen = 0
    /// API requests made while a backend was down: how many, their statuses, the slowest answer,
    /// and how many got no answer within the probe's limit.
    var outageRequests = 0
    var outageStatuses: [String: Int] = [:]
    var outageSlowestSeconds = 0.0
    var outageUnanswered = 0
    var seconds = 0.0
    var notes: [String] = []

    init(scenario: String) { self.scenario = scenario }

    /// Prints the figures and appends them to the report file, if any.
    func report() {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let json = try? encoder.encode(self) else { return }
        let line = String(decoding: json, as: UTF8.self)
        FileHandle.standardError.write(Data("[fault-suite] \(line)\n".utf8))
        guard let path = TestServices.env("VIDD_FAULT_REPORT") else { return }
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: path) else { return }
        defer { try? handle.close() }
        _ = try? handle.seekToEnd()
        try? handle.write(contentsOf: Data((line + "\n").utf8))
    }
}

extension Duration {
    /// As a fraction of seconds, for figures.
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
