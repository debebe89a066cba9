import Foundation

/// Polls `condition` every 50 ms until it holds; throws `TimedOut` (with the last error the
/// condition threw, and `context()` — logs, say) after `timeout`. For tests that wait for a
/// real server to reach a state: a condition, never a fixed sleep.
public func waitUntil(_ what: String, timeout: Duration, context: () -> String = { "" },
                      _ condition: @Sendable () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    var last: (any Error)?
    while ContinuousClock.now < deadline {
        do {
            if try await condition() { return }
        } catch {
            last = error
        }
        try await Task.sleep(for: .milliseconds(50))
    }
    let extra = context()
    throw TimedOut(description: "timed out waiting until \(what)\(last.map { " (last error: \($0))" } ?? "")" + (extra.isEmpty ? "" : "\n\(extra)"))
}

public struct TimedOut: Error, CustomStringConvertible {
    public var description: String
}
