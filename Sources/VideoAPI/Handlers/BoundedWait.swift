import Reactor
import Synchronization

/// Waits at most a given time for a backend call. Unstructured on purpose: a call stuck in a
/// backend that ignores cancellation must not hold the answer back (a task group would wait for
/// it); it is cancelled and left to end on its own.
enum BoundedWait {
    /// `body`'s result, or nil when it did not finish within `limit`.
    static func run<T: Sendable>(within limit: Duration, _ body: @escaping @Sendable () async -> T) async -> T? {
        await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
            let answer = FirstAnswer(continuation)
            let timer = Task(executorPreference: EventLoop.shared) {
                guard (try? await EventLoop.shared.sleep(for: limit)) != nil else { return }
                if answer.resume(nil) { answer.cancelWork() }
            }
            answer.setWork(Task(executorPreference: EventLoop.shared) {
                let value = await body()
                timer.cancel()
                answer.resume(value)
            })
        }
    }
}

/// Resumes a continuation once, with whichever of the call and the timer comes first.
private final class FirstAnswer<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T?, Never>?>
    private let work = Mutex<Task<Void, Never>?>(nil)

    init(_ continuation: CheckedContinuation<T?, Never>) { self.continuation = Mutex(continuation) }

    @discardableResult
    func resume(_ value: T?) -> Bool {
        guard let c = continuation.withLock({ c in defer { c = nil }; return c }) else { return false }
        c.resume(returning: value)
        return true
    }

    func setWork(_ task: Task<Void, Never>) { work.withLock { $0 = task } }
    func cancelWork() { work.withLock { $0 }?.cancel() }
}
