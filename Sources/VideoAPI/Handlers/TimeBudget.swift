import Reactor
import Synchronization

/// Runs backend work for at most a given time and answers then, whatever the backend does: a
/// readiness probe, a rate-limit check that fails open, or a read that can do without what the
/// backend adds (progress from Redis).
enum TimeBudget {
    enum Outcome<T: Sendable>: Sendable {
        case value(T)
        case failed(any Error)
        case timedOut(Duration)
    }

    /// Unstructured on purpose: work stuck in a backend that ignores cancellation must not hold
    /// the answer back (a task group would wait for it). On time-out the work is cancelled and
    /// left to end on its own.
    static func run<T: Sendable>(within budget: Duration, _ body: @escaping @Sendable () async throws -> T) async -> Outcome<T> {
        await withCheckedContinuation { (continuation: CheckedContinuation<Outcome<T>, Never>) in
            let answer = FirstAnswer(continuation)
            let timer = Task(executorPreference: EventLoop.shared) {
                guard (try? await EventLoop.shared.sleep(for: budget)) != nil else { return }
                if answer.resume(.timedOut(budget)) { answer.cancelWork() }
            }
            answer.setWork(Task(executorPreference: EventLoop.shared) {
                let outcome: Outcome<T>
                do { outcome = .value(try await body()) } catch { outcome = .failed(error) }
                timer.cancel()
                answer.resume(outcome)
            })
        }
    }
}

/// Resumes a continuation once, with whichever of the work and the timer comes first.
private final class FirstAnswer<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, Never>?>
    private let work = Mutex<Task<Void, Never>?>(nil)

    init(_ continuation: CheckedContinuation<T, Never>) { self.continuation = Mutex(continuation) }

    @discardableResult
    func resume(_ value: T) -> Bool {
        guard let c = continuation.withLock({ c in defer { c = nil }; return c }) else { return false }
        c.resume(returning: value)
        return true
    }

    func setWork(_ task: Task<Void, Never>) { work.withLock { $0 = task } }
    func cancelWork() { work.withLock { $0 }?.cancel() }
}
