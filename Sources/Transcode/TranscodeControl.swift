import Synchronization

/// Shared between the caller (cancel), the coordinator and the rung threads: the cancellation
/// flag, the first failure, and the queues to wake when either happens.
final class TranscodeControl: Sendable {
    private let cancelled = Atomic<Bool>(false)
    private let state = Mutex<(error: TranscodeError?, queues: [@Sendable () -> Void])>((nil, []))

    var isCancelled: Bool { cancelled.load(ordering: .acquiring) }
    var failure: TranscodeError? { state.withLock { $0.error } }

    /// Registers a way to unblock a thread waiting on a queue.
    func onStop(_ wake: @escaping @Sendable () -> Void) {
        let already = state.withLock { s -> Bool in
            if isCancelled { return true }
            s.queues.append(wake)
            return false
        }
        if already { wake() }
    }

    /// Caller cancellation: stop everything promptly.
    func cancel() { stop(nil) }

    /// A thread failed: record the first error and stop the others.
    func fail(_ error: TranscodeError) { stop(error) }

    private func stop(_ error: TranscodeError?) {
        let wakes = state.withLock { s -> [@Sendable () -> Void] in
            if s.error == nil, let error { s.error = error }
            let w = s.queues
            s.queues = []
            return w
        }
        cancelled.store(true, ordering: .releasing)
        for w in wakes { w() }
    }
}
