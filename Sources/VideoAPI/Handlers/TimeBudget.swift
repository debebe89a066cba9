import Reactor
import Synchronization

/// Runs backend work for at most a given time and answers then, whatever the backend does: a
/// readiness probe, or a read that can do without what the backend adds (progress from Redis).
enum TimeBudget {
    enum Outcome<T: Sendable>: Sendable {
        case value(T)
        case failed(any Error)
        case timedOut(Duration)
    }

    /// Unstructured on purpose: work stuck in a backend that ignores cancellation must not hold
    /// the answer back (a task group would wait for it). It finishes, or fails, on its own later.
    static func run<T: Sendable>(within budget: Duration, _ body: @escaping @Sendable () async throws -> T) async -> Outcome<T> {
        await withCheckedContinuation { (continuation: CheckedContinuation<Outcome<T>, Never>) in
            let answer = FirstAnswer(continuation)
            let timer = Task {
                guard (try? await EventLoop.shared.sleep(for: budget)) != nil else { return }
                answer.resume(.timedOut(budget))
            }
            Task {
                let outcome: Outcome<T>
                do { outcome = .value(try await body()) } catch { outcome = .failed(error) }
                timer.cancel()
                answer.resume(outcome)
            }
        }
    }
}

/// Resumes a continuation once: with whichever answer comes first.
private final class FirstAnswer<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, Never>?>
    init(_ continuation: CheckedContinuation<T, Never>) { self.continuation = Mutex(continuation) }
    func resume(_ value: T) {
        continuation.withLock { c in defer { c = nil }; return c }?.resume(returning: value)
    }
}
