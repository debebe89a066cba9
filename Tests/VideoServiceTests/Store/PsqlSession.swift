import Dispatch
import Foundation
@testable import VideoService

/// One long-lived psql process = one PostgreSQL session, so session state (the migration runner's
/// advisory lock) lasts across calls. Calls are serialised on a private queue whose blocking pipe
/// reads run on Dispatch threads, not on the test's cooperative pool (a session waiting on
/// pg_advisory_lock must not starve the session holding it).
final class PsqlSession: SQLExecutor, @unchecked Sendable {
    // @unchecked: the process and pipe handles are only touched on `queue`, one call at a time.
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let queue = DispatchQueue(label: "psql-session")
    private var pending = Data()
    static let marker = "__VIDD_END__"

    struct Failure: Error, CustomStringConvertible { var description: String }

    init(url: String, schema: String) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = [url, "-X", "-q", "-A", "-t", "-F", PsqlExecutor.fieldSeparator, "-R", PsqlExecutor.recordSeparator,
                             "-P", "null=\(PsqlExecutor.nullMarker)", "-v", "ON_ERROR_STOP=0"]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        _ = try runBlocking("SET search_path TO \(schema)")
    }

    func simpleQuery(_ sql: String) async throws -> [[String?]] {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try self.runBlocking(sql) }) }
        }
    }

    /// Ends the session: psql exits at the end of its input. Not waited for with
    /// `waitUntilExit`, which spins forever on the cooperative pool; Foundation reaps the child.
    func close() {
        try? input.fileHandleForWriting.close()
        for _ in 0..<400 where process.isRunning { usleep(5_000) }
        if process.isRunning { process.terminate() }
    }

    private func runBlocking(_ sql: String) throws -> [[String?]] {
        let script = "\(sql);\n\\echo \(Self.marker) :ERROR :'LAST_ERROR_MESSAGE'\n\\unset LAST_ERROR_MESSAGE\n"
        input.fileHandleForWriting.write(Data(script.utf8))
        let markerBytes = Data(Self.marker.utf8)
        while pending.range(of: markerBytes) == nil || pending.last != 0x0A {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw Failure(description: "psql exited") }
            pending.append(chunk)
        }
        let range = pending.range(of: markerBytes)!
        let rowsText = String(decoding: pending[..<range.lowerBound], as: UTF8.self)
        let status = String(decoding: pending[range.upperBound...], as: UTF8.self)
        pending = Data()
        if status.hasPrefix(" true") {
            throw Failure(description: "psql: \(status.dropFirst(6).trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        var text = rowsText
        while text.hasSuffix("\n") { text.removeLast() }
        if text.isEmpty { return [] }
        return text.components(separatedBy: PsqlExecutor.recordSeparator).filter { !$0.isEmpty }.map { record in
            record.components(separatedBy: PsqlExecutor.fieldSeparator).map { $0 == PsqlExecutor.nullMarker ? nil : $0 }
        }
    }
}
