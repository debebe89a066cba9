import Foundation
import TestSupport
@testable import VideoService

/// Runs SQL on the real test PostgreSQL through `psql`, inside one schema of its own, until the
/// PGWire connection is wired (then these tests switch to it). One psql process per call, so one
/// session per call: enough to check every statement against the real schema and server, not to
/// show the advisory lock's exclusion (which needs a session held across calls).
struct PsqlExecutor: SQLParameterisedExecutor {
    let url: String
    let schema: String

    struct Failure: Error, CustomStringConvertible {
        var sql: String
        var stderr: String
        var description: String { "psql failed: \(stderr)\nSQL: \(sql.prefix(400))" }
    }

    static let fieldSeparator = "\u{1F}"
    static let recordSeparator = "\u{1E}"
    static let nullMarker = "<<NULL>>"

    func simpleQuery(_ sql: String) async throws -> [[String?]] {
        try await offThePool { try run("SET search_path TO \(schema);\n\(sql);") }
    }

    func query(_ sql: String, _ parameters: [String?]) async throws -> [[String?]] {
        let args = parameters.map { $0.map(SQL.literal) ?? "NULL" }.joined(separator: ", ")
        let execute = parameters.isEmpty ? "EXECUTE q" : "EXECUTE q(\(args))"
        let script = "SET search_path TO \(schema);\nPREPARE q AS \(sql);\n\(execute);"
        return try await offThePool { try run(script) }
    }

    func run(_ script: String) throws -> [[String?]] {
        let r = try TestProcess.runSync(["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-A", "-t",
                                         "-F", Self.fieldSeparator, "-R", Self.recordSeparator, "-P", "null=\(Self.nullMarker)"],
                                        stdin: Data(script.utf8))
        guard r.status == 0 else {
            throw Failure(sql: script, stderr: String(decoding: r.errorOutput, as: UTF8.self))
        }
        let out = r.output
        var text = String(decoding: out, as: UTF8.self)
        while text.hasSuffix("\n") { text.removeLast() }
        if text.isEmpty { return [] }
        return text.components(separatedBy: Self.recordSeparator).filter { !$0.isEmpty }.map { record in
            record.components(separatedBy: Self.fieldSeparator).map { $0 == Self.nullMarker ? nil : $0 }
        }
    }

    /// A fresh schema on the test server; `drop()` removes it.
    static func fresh(url: String, prefix: String) throws -> PsqlExecutor {
        let schema = prefix.lowercased().filter { $0.isLetter || $0.isNumber || $0 == "_" }
        let admin = PsqlExecutor(url: url, schema: "public")
        _ = try admin.run("CREATE SCHEMA \(schema);")
        return PsqlExecutor(url: url, schema: schema)
    }

    func drop() {
        _ = try? PsqlExecutor(url: url, schema: "public").run("DROP SCHEMA IF EXISTS \(schema) CASCADE;")
    }
}

/// Runs blocking work (a psql child) on a thread of its own, never on the two-thread cooperative pool.
func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { cont in
        Thread.detachNewThread { cont.resume(with: Result { try body() }) }
    }
}
