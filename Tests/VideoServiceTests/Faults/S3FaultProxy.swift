import Foundation
import TestSupport

/// `scripts/s3-fault-proxy.py` in front of the S3 test server: forwards every request to it and
/// spoils the share it is told to (503 SlowDown, resets before or after the server acted,
/// delays, truncated answers), counting what it did.
final class S3FaultProxy: Sendable {
    let process: ChildProcess
    let port: Int
    let controlPort: Int
    var endpoint: String { "http://127.0.0.1:\(port)" }

    struct Stats: Decodable, Sendable {
        var requests: Int
        var forwarded: Int
        var faults: [String: Int]
        var retries_seen: Int
        var upstream_errors: Int
        var swallowed_upload_ids: [String]
        var totalFaults: Int { faults.values.reduce(0, +) }
    }

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/s3-fault-proxy.py").path
    }

    /// Starts the proxy in front of `upstream` (`http://127.0.0.1:PORT`), spoiling nothing yet.
    static func start(upstream: String, logPath: String) async throws -> S3FaultProxy {
        guard let url = URL(string: upstream), let host = url.host, let port = url.port else {
            throw ServiceUnderTest.Failure("not an http://host:port endpoint: \(upstream)")
        }
        let process = try ChildProcess([TestProcess.path(of: "python3"), script, "--upstream", "\(host):\(port)",
                                        "--seed", String(UInt32.random(in: 0...UInt32.max))],
                                       environment: [:], logPath: logPath)
        guard let line = await process.waitForLog("listening", timeout: .seconds(30)),
              let proxyPort = Self.field("proxy", in: line), let controlPort = Self.field("control", in: line) else {
            await process.kill9()
            throw ServiceUnderTest.Failure("the S3 fault proxy did not start:\n\(process.log)")
        }
        return S3FaultProxy(process: process, port: proxyPort, controlPort: controlPort)
    }

    private init(process: ChildProcess, port: Int, controlPort: Int) {
        self.process = process
        self.port = port
        self.controlPort = controlPort
    }

    private static func field(_ name: String, in line: String) -> Int? {
        line.split(separator: " ").first { $0.hasPrefix(name + "=") }.flatMap { Int($0.dropFirst(name.count + 1)) }
    }

    /// Spoils `rate` (0…1) of the requests from now on, with faults drawn from `kinds` (all by
    /// default), of the HTTP `methods` given (all when nil).
    func spoil(rate: Double, kinds: [String] = ["slowdown", "reset_before", "reset_after", "delay", "truncate"],
               methods: [String]? = nil) async throws {
        let body = try JSONSerialization.data(withJSONObject: ["rate": rate, "kinds": kinds, "methods": methods.map { $0 as Any } ?? NSNull()])
        let r = try await TestProcess.run(["curl", "-sS", "--max-time", "10", "-X", "POST", "--data-binary", "@-",
                                           "http://127.0.0.1:\(controlPort)/config"], stdin: body)
        guard r.status == 0, r.text.contains("\"rate\"") else {
            throw ServiceUnderTest.Failure("configuring the S3 fault proxy failed: \(r.text) \(String(decoding: r.errorOutput, as: UTF8.self))")
        }
    }

    func stats() async throws -> Stats {
        let r = try await TestProcess.run(["curl", "-sS", "--max-time", "10", "http://127.0.0.1:\(controlPort)/stats"])
        return try JSONDecoder().decode(Stats.self, from: r.output)
    }

    func stop() async { await process.kill9() }
}
