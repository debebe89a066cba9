import Synchronization

/// Hands a request body from the connection's reader task to the handler, one chunk at a time and
/// only on demand: the reader reads the socket for body bytes only while the handler waits for
/// them, so a multi-GB upload is never buffered — TCP flow control slows the client instead.
final class RequestBodyChannel: Sendable {
    enum End: Sendable {
        case finished
        case failed(any Error)
        /// The handler no longer wants the body (it returned, or dropped the sequence).
        case abandoned
    }

    struct State: Sendable {
        var consumer: CheckedContinuation<[UInt8]?, any Error>?
        var demand: CheckedContinuation<Bool, Never>?
        var end: End?
        var demanded = false
    }

    private let state = Mutex(State())

    // MARK: Consumer (handler task)

    func next() async throws -> [UInt8]? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<[UInt8]?, any Error>) in
                let demand: CheckedContinuation<Bool, Never>?
                let immediate: Result<[UInt8]?, any Error>?
                (demand, immediate) = state.withLock { s in
                    switch s.end {
                    case .finished?, .abandoned?: return (nil, .success(nil))
                    case .failed(let e)?: return (nil, .failure(e))
                    case nil: break
                    }
                    if Task.isCancelled { return (nil, .failure(CancellationError())) }
                    s.consumer = c
                    s.demanded = true
                    let d = s.demand
                    s.demand = nil
                    return (d, nil)
                }
                if let immediate { c.resume(with: immediate) }
                demand?.resume(returning: true)
            }
        } onCancel: {
            let c = state.withLock { s in
                let c = s.consumer
                s.consumer = nil
                return c
            }
            c?.resume(throwing: CancellationError())
        }
    }

    func abandon() {
        let (c, d) = state.withLock { s in
            if s.end == nil { s.end = .abandoned }
            let r = (s.consumer, s.demand)
            s.consumer = nil
            s.demand = nil
            return r
        }
        c?.resume(returning: nil)
        d?.resume(returning: false)
    }

    // MARK: Producer (reader task)

    /// Waits until the handler asks for bytes; false when it never will.
    func waitForDemand() async -> Bool {
        await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            let ready: Bool? = state.withLock { s in
                if s.end != nil { return false }
                if s.consumer != nil { return true }
                s.demand = c
                return nil
            }
            if let ready { c.resume(returning: ready) }
        }
    }

    /// Whether the handler is waiting right now (reader checks before blocking on the socket).
    var hasDemand: Bool { state.withLock { $0.consumer != nil } }

    /// Gives a chunk to the waiting handler (call after `waitForDemand` returned true).
    func deliver(_ chunk: [UInt8]) {
        let c = state.withLock { s in
            let c = s.consumer
            s.consumer = nil
            return c
        }
        c?.resume(returning: chunk)
    }

    func finish() { end(.finished) }
    func fail(_ error: any Error) { end(.failed(error)) }

    private func end(_ end: End) {
        let (c, d) = state.withLock { s in
            if s.end == nil { s.end = end }
            let r = (s.consumer, s.demand)
            s.consumer = nil
            s.demand = nil
            return r
        }
        switch end {
        case .failed(let e): c?.resume(throwing: e)
        default: c?.resume(returning: nil)
        }
        d?.resume(returning: false)
    }
}
