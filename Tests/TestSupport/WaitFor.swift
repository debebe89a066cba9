/// The condition a test waited for did not hold in time.
public struct GaveUpWaiting: Error, CustomStringConvertible {
    public let description: String
}

/// Polls `check` every `interval` until it holds; throws `GaveUpWaiting` after `timeout` (a hang
/// guard, not a performance bound: tests wait for conditions, never for time to pass).
public func waitFor(_ what: @autoclosure () -> String, timeout: Duration, every interval: Duration = .milliseconds(100),
                    _ check: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !check() {
        guard ContinuousClock.now < deadline else { throw GaveUpWaiting(description: "gave up after \(timeout) waiting for: \(what())") }
        try await Task.sleep(for: interval)
    }
}
