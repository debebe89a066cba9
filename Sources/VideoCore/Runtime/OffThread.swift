#if canImport(Glibc)
import Glibc
#endif
import Dispatch

/// Runs blocking work off the event loop's thread and off the two threads of the cooperative pool,
/// which every task in the process shares (a CI run once saw no test make progress for 12 s while
/// storage tests fsynced files there), and resumes the caller when it is done.
/// - `io`: short blocking file calls (open, read, write, fsync, rename) on a Dispatch worker;
///   Dispatch adds workers when its threads block, and reuses them.
/// - `run`: long or stack-hungry work (a libavformat probe, removing a tree) on a thread of its
///   own with a 4 MiB stack.
package enum OffThread {
    package static func io<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }

    struct SpawnFailed: Error, CustomStringConvertible {
        var code: Int32
        var description: String { "cannot start a thread: \(String(cString: strerror(code)))" }
    }

    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    package static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let result: Result<T, any Error> = await withCheckedContinuation { cont in
            let box = Unmanaged.passRetained(Body { cont.resume(returning: Result { try body() }) }).toOpaque()
            var attr = pthread_attr_t()
            pthread_attr_init(&attr)
            defer { pthread_attr_destroy(&attr) }
            pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
            pthread_attr_setstacksize(&attr, 4 << 20)  // libavformat probes use deep stacks
            var tid = pthread_t()
            let rc = pthread_create(&tid, &attr, { arg in
                Unmanaged<Body>.fromOpaque(arg!).takeRetainedValue().run()
                return nil
            }, box)
            if rc != 0 {
                Unmanaged<Body>.fromOpaque(box).release()
                cont.resume(returning: .failure(SpawnFailed(code: rc)))
            }
        }
        return try result.get()
    }
}
