import Foundation
import TestSupport

/// Runs a real client program (curl, python3) and collects its output without blocking a thread of
/// the cooperative pool while it runs.
struct ProcessResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

func runProcess(_ executable: String, _ arguments: [String], stdin: Data? = nil) async throws -> ProcessResult {
    // TestProcess (posix_spawn, waited for on a thread of its own): Foundation's Process.run
    // crashed the test process once (a bad pointer in its memcpy) while many tests ran at once.
    let r = try await TestProcess.run([executable] + arguments, stdin: stdin)
    return ProcessResult(status: r.status, stdout: r.text, stderr: String(decoding: r.errorOutput, as: UTF8.self))
}

func python(_ script: String, _ arguments: [String] = []) async throws -> ProcessResult {
    try await runProcess("/usr/bin/env", ["python3", "-c", script] + arguments)
}

func curl(_ arguments: [String]) async throws -> ProcessResult {
    try await runProcess("/usr/bin/curl", ["-sS"] + arguments)
}

/// Resident set size of this process (the server runs in it), from /proc.
func residentBytes() -> Int {
    guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = statm.split(separator: " ")
    return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
}
