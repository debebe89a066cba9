import Foundation

/// Polls `condition` every `interval` until it holds; throws `TimedOut` (with the last error the
/// condition threw, and `context()` — logs, say) after `timeout`: a hang guard, not a performance
/// bound. For tests that wait for a real server to reach a state: a condition, never a fixed sleep.
///
/// `retryingErrors`: an error the condition throws counts as "not yet" (a server still starting
/// refuses connections); false when any error means the wait is lost, so it fails at once.
public func waitUntil(_ what: String, timeout: Duration, every interval: Duration = .milliseconds(50), retryingErrors: Bool = true,
                      context: () -> String = { "" }, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    var last: (any Error)?
    while ContinuousClock.now < deadline {
        do {
            if try await condition() { return }
        } catch where retryingErrors {
            last = error
        }
        try await Task.sleep(for: interval)
    }
    let extra = context()
    throw TimedOut(description: "timed out after \(timeout) waiting until \(what)\(last.map { " (last error: \($0))" } ?? "")"
                   + (extra.isEmpty ? "" : "\n\(extra)"))
}

public struct TimedOut: Error, CustomStringConvertible {
    public var description: String
}
