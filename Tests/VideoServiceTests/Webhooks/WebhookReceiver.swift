import Foundation
import TestSupport

/// scripts/webhook-test-receiver/receiver.py on 127.0.0.2 (admitted by `VIDD_INGEST_ALLOW=127.0.0.2/32`,
/// loopback still refused otherwise): verifies every request with the `standardwebhooks`
/// package and records it. Stopped (killed and reaped) by `stop()`.
final class WebhookReceiver: Sendable {
    struct Record: Sendable, Equatable {
        var id: String
        var attempt: Int
        var status: Int
        var verified: Bool
        var error: String?
        var duplicate: Bool
        var type: String?
        var videoID: String?
        var dataStatus: String?
        /// `data.media_expires_at` (RFC 3339), and when the request arrived (unix seconds).
        var mediaExpiresAt: String?
        var receivedAt: Double = 0
    }

    static let host = "127.0.0.2"
    static let allow = "127.0.0.2/32"

    let process: ChildProcess
    let directory: String
    let port: Int
    var url: String { "http://\(Self.host):\(port)/hook" }
    var secretFile: String { directory + "/secret" }
    var logFile: String { directory + "/requests.jsonl" }

    private init(process: ChildProcess, directory: String, port: Int) {
        self.process = process
        self.directory = directory
        self.port = port
    }

    /// nil (a loud skip; in CI a failure) without the project's virtualenv.
    static func start(failFirst: Int = 0, blackHole: Bool = false) async throws -> WebhookReceiver? {
        let venv = ProcessInfo.processInfo.environment["VIDD_VENV"] ?? TusEndToEndTests.root.appendingPathComponent(".venv").path
        let python = venv + "/bin/python"
        let ok = FileManager.default.isExecutableFile(atPath: python)
            && ((try? TestProcess.runSync([python, "-c", "import standardwebhooks"]))?.status == 0)
        guard let python = try TestServices.require(ok ? python : nil, "a virtualenv with standardwebhooks (scripts/install-deps.sh)") else {
            return nil
        }
        let directory = NSTemporaryDirectory() + TestServices.uniqueName("webhook-receiver")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let script = TusEndToEndTests.root.appendingPathComponent("scripts/webhook-test-receiver/receiver.py").path
        var arguments = [python, script, "--host", host, "--secret-file", directory + "/secret", "--log", directory + "/requests.jsonl",
                         "--fail-first", String(failFirst)]
        if blackHole { arguments.append("--black-hole") }
        let process = try ChildProcess(arguments, environment: [:], logPath: directory + "/receiver.log")
        guard let line = await process.waitForLog("listening ", timeout: .seconds(20)),
              let port = line.split(separator: " ").last.flatMap({ Int($0) }) else {
            let log = process.log
            await process.kill9()
            throw TestHTTPError("the webhook receiver did not start: \(log)")
        }
        return WebhookReceiver(process: process, directory: directory, port: port)
    }

    func setSecret(_ secret: String) throws {
        try secret.write(toFile: secretFile, atomically: true, encoding: .utf8)
    }

    func records() -> [Record] {
        guard let text = try? String(contentsOfFile: logFile, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return Record(id: o["id"] as? String ?? "", attempt: o["attempt"] as? Int ?? 0, status: o["status"] as? Int ?? 0,
                          verified: o["verified"] as? Bool ?? false, error: o["error"] as? String, duplicate: o["duplicate"] as? Bool ?? false,
                          type: o["type"] as? String, videoID: o["video_id"] as? String, dataStatus: o["data_status"] as? String,
                          mediaExpiresAt: o["media_expires_at"] as? String, receivedAt: o["received_at"] as? Double ?? 0)
        }
    }

    func stop() async {
        await process.kill9()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
