import Foundation

/// What the throw-away server sets (`RedisSentinelCluster`, `PostgresStandbyPair`) share: a
/// command that must succeed, their log files for a failure message, and their error.
public struct ThrowawayServerError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension TestProcess {
    /// Runs `arguments`; a non-zero exit throws with the command and what it printed.
    public static func check(_ arguments: [String]) async throws {
        let r = try await run(arguments)
        guard r.status == 0 else {
            throw ThrowawayServerError("\(arguments.joined(separator: " ")) exited with \(r.status): \(String(decoding: r.errorOutput + r.output, as: UTF8.self))")
        }
    }
}

/// The contents of `names` under `directory`, each under a `--- name` line (missing ones empty).
public func serverLogs(in directory: String, _ names: [String]) -> String {
    names.map { "--- \($0)\n" + ((try? String(contentsOfFile: "\(directory)/\($0)", encoding: .utf8)) ?? "") }
        .joined(separator: "\n")
}
