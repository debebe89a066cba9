import Foundation

/// Runs a real client program (curl, python3) and collects its output without blocking a thread of
/// the cooperative pool while it runs.
struct ProcessResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

func runProcess(_ executable: String, _ arguments: [String], stdin: Data? = nil) async throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let input = Pipe()
    process.standardInput = stdin == nil ? FileHandle.nullDevice : input
    // Drain the pipes concurrently so a chatty child never blocks on a full pipe — on threads of
    // their own: a blocking read on the cooperative pool (2 threads here) would stall every test.
    async let outData = readToEnd(out.fileHandleForReading)
    async let errData = readToEnd(err.fileHandleForReading)
    try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
        process.terminationHandler = { _ in c.resume() }
        do {
            try process.run()
            if let stdin {
                input.fileHandleForWriting.write(stdin)
                try? input.fileHandleForWriting.close()
            }
        } catch {
            process.terminationHandler = nil
            c.resume(throwing: error)
        }
    }
    return ProcessResult(
        status: process.terminationStatus,
        stdout: String(decoding: await outData, as: UTF8.self),
        stderr: String(decoding: await errData, as: UTF8.self))
}

private func readToEnd(_ handle: FileHandle) async -> Data {
    await withCheckedContinuation { c in
        Thread { c.resume(returning: handle.readDataToEndOfFile()) }.start()
    }
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
