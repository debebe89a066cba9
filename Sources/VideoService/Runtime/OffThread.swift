#if canImport(Glibc)
import Glibc
#endif

/// Runs blocking work (probing a file with libavformat, reading a temp file) on a thread of its
/// own and resumes the caller when it is done, so neither the event loop's thread nor the two
/// threads of the cooperative pool ever wait on disk or on libav.
enum OffThread {
    struct SpawnFailed: Error, CustomStringConvertible {
        var code: Int32
        var description: String { "cannot start a thread: \(String(cString: strerror(code)))" }
    }

    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
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
