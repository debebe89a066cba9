import Foundation
import HTTPServer
import Reactor
import Synchronization

/// Starts a server on an ephemeral loopback port for one test and shuts it down afterwards.
func withServer<R>(
    _ responder: any HTTPResponder, configure: (inout HTTPServer.Configuration) -> Void = { _ in },
    _ body: (HTTPServer, String) async throws -> R
) async throws -> R {
    var configuration = HTTPServer.Configuration(port: 0)
    configure(&configuration)
    let server = try await HTTPServer.start(configuration, responder: responder)
    do {
        let result = try await body(server, "http://127.0.0.1:\(server.port)")
        await server.shutdown(gracePeriod: .seconds(2))
        return result
    } catch {
        await server.shutdown(gracePeriod: .seconds(2))
        throw error
    }
}

/// A flag set from another task (e.g. a cancellation handler), awaited with a bound.
final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }

    /// Waits until set, at most `limit` (a bound against hanging, not a timing assertion).
    func wait(upTo limit: Duration) async -> Bool {
        let end = ContinuousClock.now + limit
        while !isSet, ContinuousClock.now < end { try? await Task.sleep(for: .milliseconds(20)) }
        return isSet
    }
}

final class Counter: Sendable {
    private let value = Mutex(0)
    @discardableResult func add(_ n: Int = 1) -> Int { value.withLock { $0 += n; return $0 } }
    var current: Int { value.withLock { $0 } }
}

/// Tests that measure the process's memory and tests that allocate tens of MB take turns (Swift
/// Testing runs suites in parallel, and they share one process).
actor ExclusiveSection {
    static let memory = ExclusiveSection()
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func run<R: Sendable>(_ body: @Sendable () async throws -> R) async rethrows -> R {
        if busy {
            await withCheckedContinuation { waiters.append($0) }
        } else {
            busy = true
        }
        defer {
            if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }  // handed over
        }
        return try await body()
    }
}
