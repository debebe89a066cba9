import CFFmpeg
import Glibc

/// A joinable OS thread: transcoding runs on threads of its own, never on the event loop or the
/// cooperative pool, and every thread is joined before a transcode returns.
struct NativeThread {
    private let id: pthread_t

    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    /// Starts `body` on a new thread (8 MiB stack: x264 and libav use deep stacks).
    init(name: String, _ body: @escaping @Sendable () -> Void) throws(TranscodeError) {
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        defer { pthread_attr_destroy(&attr) }
        pthread_attr_setstacksize(&attr, 8 << 20)
        let threadName = String(name.prefix(15))
        let box = Unmanaged.passRetained(Body({ vidd_set_thread_name(threadName); body() })).toOpaque()
        var tid = pthread_t()
        let rc = pthread_create(&tid, &attr, { arg in
            let body = Unmanaged<Body>.fromOpaque(arg!).takeRetainedValue()
            body.run()
            return nil
        }, box)
        if rc != 0 {
            Unmanaged<Body>.fromOpaque(box).release()
            throw .libav(operation: "pthread_create(\(name))", code: -rc, message: String(cString: strerror(rc)))
        }
        id = tid
    }

    func join() { pthread_join(id, nil) }

    /// For a thread that ends by itself right after handing over its result.
    func detach() { pthread_detach(id) }
}
