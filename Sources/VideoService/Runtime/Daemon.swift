import VideoAPI
import VideoCore
import VideoWorker
import PGWire
import Synchronization
import Reactor
import Transcode
#if canImport(Glibc)
import Glibc
#endif

/// What `vidd` does with its command line: the executable only calls `Daemon.main`.
///
/// Exit codes follow sysexits: 0 done, 1 a runtime failure, 64 usage, 69 a backend unreachable
/// at start, 78 bad configuration.
public enum Daemon {
    public static func main(arguments: [String], version: String) async -> Int32 {
        let command: DaemonCommand
        do {
            command = try DaemonCommand.parse(arguments)
        } catch {
            printError(error.description)
            return 64
        }
        switch command {
        case .help(let text):
            print(text)
            return 0
        case .version:
            print("vidd \(version)")
            return 0
        case .probe(let arguments):
            guard arguments.count == 1 else {
                printError("vidd: probe takes one FILE\n\n" + DaemonCommand.help(for: "probe")!)
                return 64
            }
            return TranscodeCommand.probe(arguments[0])
        case .transcode(let arguments):
            do {
                let t = try TranscodeArguments.parse(arguments)
                return TranscodeCommand.transcode(source: t.input, outputDirectory: t.output, preset: t.preset, rungs: t.rungs)
            } catch {
                printError(error.description)
                return 64
            }
        case .serve(let options), .worker(let options), .all(let options), .migrate(let options):
            let configuration: Configuration
            do {
                configuration = try ConfigurationLoader.load(options: options)
            } catch {
                printError("vidd: \(error)")
                return 78
            }
            return await ServiceRunner(command: command, configuration: configuration, version: version).run()
        }
    }

    static func printError(_ text: String) {
        let line = Array((text + "\n").utf8)
        line.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
    }
}

/// `transcode INPUT OUTPUT_DIR [--preset P] [--rungs 720,360]` (also `-o OUTPUT_DIR`).
struct TranscodeArguments: Sendable {
    var input: String
    var output: String
    var preset: String?
    var rungs: [Int]?

    static func parse(_ arguments: [String]) throws(DaemonCommand.UsageError) -> TranscodeArguments {
        let usage = DaemonCommand.help(for: "transcode")!
        func fail(_ m: String) -> DaemonCommand.UsageError { .init(message: m, usage: usage) }
        var positional: [String] = []
        var output: String?, preset: String?, rungs: [Int]?
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            func value() throws(DaemonCommand.UsageError) -> String {
                guard i + 1 < arguments.count else { throw fail("\(a) needs a value") }
                i += 1
                return arguments[i]
            }
            switch a {
            case "-o", "--output": output = try value()
            case "--preset": preset = try value()
            case "--rungs":
                let text = try value()
                let list = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces).replacing("p", with: "")) }
                guard !list.isEmpty, list.allSatisfy({ ($0 ?? 0) > 0 }) else { throw fail("--rungs takes heights like 720,360, not \(text)") }
                rungs = list.compactMap { $0 }
            default:
                if a.hasPrefix("-") { throw fail("unexpected option \(a)") }
                positional.append(a)
            }
            i += 1
        }
        if output == nil, positional.count == 2 { output = positional.removeLast() }
        guard positional.count == 1, let output else { throw fail("transcode needs INPUT and OUTPUT_DIR") }
        return TranscodeArguments(input: positional[0], output: output, preset: preset, rungs: rungs)
    }
}

/// Runs `serve`, `worker`, `all` or `migrate` until SIGTERM/SIGINT.
struct ServiceRunner: Sendable {
    var command: DaemonCommand
    var configuration: Configuration
    var version: String

    var runsAPI: Bool { if case .serve = command { true } else if case .all = command { true } else { false } }
    var runsWorker: Bool { if case .worker = command { true } else if case .all = command { true } else { false } }

    func run() async -> Int32 {
        let logger = Logger(level: configuration.logLevel, format: configuration.logFormat, redactor: configuration.redactor)
        let signals = SignalWatcher(signals: [SIGTERM, SIGINT])
        let notifier = SystemdNotifier(environment: ConfigurationLoader.processEnvironment())
        let context: ServiceContext
        do {
            context = try ServiceContext.make(configuration, logger: logger)
        } catch {
            logger.error("cannot start", ["error": "\(error)"])
            return 78
        }
        for (key, value) in configuration.redactedSummary { logger.debug("configuration", ["key": key, "value": value]) }

        // Migrations first: the API and the worker both need the schema. PostgreSQL may still be
        // starting (systemd ordering, compose): retry for a while, saying why.
        guard await migrate(context, logger: logger, signals: signals) else {
            await context.shutdown()
            return 69
        }
        if case .migrate = command {
            await context.shutdown()
            return 0
        }

        var api: APIService?
        if runsAPI {
            do {
                api = try await APIService.start(context: context, version: version)
                logger.info("listening", ["address": configuration.listen.description, "port": String(api!.port)])
            } catch {
                // Name the setting: the person reading this chooses another address with it.
                logger.error("cannot listen", ["address": configuration.listen.description,
                                               "error": "VIDD_LISTEN=\(configuration.listen): \(error); set VIDD_LISTEN to a free address"])
                await context.shutdown()
                return 69
            }
        }
        // A worker-only process listens only if asked to: for its liveness probe and metrics.
        var health: HealthService?
        if !runsAPI, let address = configuration.healthListen {
            do {
                health = try await HealthService.start(context: context, version: version, address: address)
            } catch {
                logger.error("cannot listen", ["variable": "VIDD_HEALTH_LISTEN", "address": address.description, "error": "\(error)"])
                await context.shutdown()
                return 69
            }
        }
        let worker = runsWorker ? Worker(context: context) : nil
        // Every process finishes enqueues that failed (their API answered 503); several at once
        // share the work (`EnqueueReconciler`).
        let reconciler = Task(executorPreference: EventLoop.shared) { await EnqueueReconciler(context: context).run() }
        // Webhooks are delivered by the processes that work (`worker`, `all`): any number of them
        // share the outbox; an API-only process never calls out.
        let webhooks = runsWorker ? Task(executorPreference: EventLoop.shared) { await WebhookDispatcher(context: context).run() } : nil
        let workerTask = worker.map { worker in
            Task(executorPreference: EventLoop.shared) { () -> (any Error)? in
                do { try await worker.run(); return nil } catch { return error }
            }
        }
        try? notifier.ready(status: runsAPI ? "listening on \(configuration.listen)" : "working")
        let watchdog = notifier.watchdogInterval.map { interval in
            Task {
                while !Task.isCancelled {
                    try? notifier.watchdog()
                    try? await EventLoop.shared.sleep(for: interval)
                }
            }
        }
        logger.info("started", ["command": commandName, "version": version])

        // Until a signal, or the worker ending on its own (it only does when Redis is unusable).
        let first = FirstOf<String>()
        let signalWait = Task { if let n = await signals.next() { first.resolve("signal \(n)") } }
        if let workerTask {
            Task { first.resolve(await workerTask.value.map { "worker failed: \($0)" } ?? "worker stopped") }
        }
        let stopReason = await first.value
        signalWait.cancel()
        logger.info("stopping", ["reason": stopReason, "grace_seconds": String(configuration.shutdownGrace.components.seconds)])
        try? notifier.stopping()

        // A second signal cuts the grace period short.
        let impatience = Task {
            if await signals.next() != nil {
                logger.warning("second signal: handing running jobs back to other workers now")
                await worker?.stop(grace: .zero)
            }
        }
        async let apiDone: Void = { if let api { await api.shutdown(grace: configuration.shutdownGrace) } }()
        async let workerDone: Void = { if let worker { await worker.stop(grace: configuration.shutdownGrace) } }()
        _ = await (apiDone, workerDone)
        let workerError = await workerTask?.value
        reconciler.cancel()
        await reconciler.value
        webhooks?.cancel()
        await webhooks?.value
        // Probes keep answering until the jobs are settled: a draining worker is alive.
        await health?.shutdown()
        impatience.cancel()
        watchdog?.cancel()
        signals.stop()
        await context.shutdown()
        if let workerError {
            logger.error("stopped after a worker failure", ["error": "\(workerError)"])
            return 1
        }
        logger.info("stopped")
        return 0
    }

    var commandName: String {
        switch command {
        case .serve: "serve"
        case .worker: "worker"
        case .all: "all"
        default: "migrate"
        }
    }

    func migrate(_ context: ServiceContext, logger: Logger, signals: SignalWatcher) async -> Bool {
        var delay = Duration.milliseconds(250)
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            do {
                let applied = try await context.migrate()
                if !applied.isEmpty { logger.info("migrations applied", ["versions": applied.map(String.init).joined(separator: ",")]) }
                return true
            } catch let failure as MigrationRunner.Failure {
                logger.error("migration failed", ["error": failure.description])
                return false
            } catch {
                // The server not up yet (refused, starting up, too many clients) is retried; wrong
                // credentials, a missing database or bad TLS settings are reported at once.
                guard TransientFailure.isTransient(error), ContinuousClock.now < deadline, !signals.received else {
                    logger.error("cannot use the database", ["error": "\(error)"])
                    return false
                }
                logger.warning("database not ready; retrying", ["error": "\(error)", "retry_in_ms": String(delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000)])
                try? await EventLoop.shared.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }
}

/// A value set once by whichever of several tasks gets there first.
final class FirstOf<T: Sendable>: Sendable {
    private let state = Mutex<(value: T?, waiters: [CheckedContinuation<T, Never>])>((nil, []))

    func resolve(_ value: T) {
        let waiters = state.withLock { s -> [CheckedContinuation<T, Never>] in
            guard s.value == nil else { return [] }
            s.value = value
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume(returning: value) }
    }

    var value: T {
        get async {
            await withCheckedContinuation { c in
                let now = state.withLock { s -> T? in
                    if let v = s.value { return v }
                    s.waiters.append(c)
                    return nil
                }
                if let now { c.resume(returning: now) }
            }
        }
    }
}

/// The write end of the signal pipe: the only thing the C signal handler touches.
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1

/// SIGTERM/SIGINT delivered to async code with the self-pipe trick: the handler writes the
/// signal's number to a pipe (async-signal-safe), a thread of its own reads it and resumes the
/// waiting task. (libdispatch's signal sources were seen to miss signals once the worker's
/// threads existed, depending on which thread the kernel picked.) `next()` may be awaited by one
/// task at a time and is cancellable. Signals within a second of the last one delivered are
/// dropped (`SignalCoalescing`): one Ctrl-C can arrive twice.
final class SignalWatcher: Sendable {
    private struct State {
        var pending: [Int32] = []
        var waiter: (id: Int, continuation: CheckedContinuation<Int32?, Never>)?
        var nextID = 0
        var received = 0
        var stopped = false
        var coalescing = SignalCoalescing()
    }

    private let state = Mutex(State())

    init(signals: [Int32]) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { fatalError("cannot create the signal pipe: errno \(errno)") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        signalPipeWriteEnd = fds[1]
        let readEnd = fds[0]
        for number in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(signalPipeWriteEnd, &byte, 1)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(number, &action, nil)
        }
        Task.detached { [self] in
            // One thread, parked in read(2) for the life of the process.
            _ = try? await OffThread.run { [self] in
                while true {
                    var byte: UInt8 = 0
                    let n = read(readEnd, &byte, 1)
                    if n == 1 { deliver(Int32(byte)) } else if n < 0, errno == EINTR { continue } else { return }
                }
            }
        }
    }

    private func deliver(_ number: Int32) {
        let waiter = state.withLock { s -> CheckedContinuation<Int32?, Never>? in
            s.received += 1
            guard s.coalescing.counts(at: .now) else { return nil }
            guard let w = s.waiter else { s.pending.append(number); return nil }
            s.waiter = nil
            return w.continuation
        }
        waiter?.resume(returning: number)
    }

    var received: Bool { state.withLock { $0.received > 0 } }

    /// The next signal; nil when stopped or when the waiting task is cancelled.
    func next() async -> Int32? {
        let id = state.withLock { s -> Int in s.nextID += 1; return s.nextID }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Int32?, Never>) in
                enum Now { case value(Int32?), wait }
                let now = state.withLock { s -> Now in
                    if !s.pending.isEmpty { return .value(s.pending.removeFirst()) }
                    if s.stopped || Task.isCancelled { return .value(nil) }
                    s.waiter = (id, c)
                    return .wait
                }
                if case .value(let v) = now { c.resume(returning: v) }
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<Int32?, Never>? in
                guard let w = s.waiter, w.id == id else { return nil }
                s.waiter = nil
                return w.continuation
            }
            waiter?.resume(returning: nil)
        }
    }

    /// Waiters get nil; later signals are still counted but nobody waits for them.
    func stop() {
        let waiter = state.withLock { s -> CheckedContinuation<Int32?, Never>? in
            s.stopped = true
            defer { s.waiter = nil }
            return s.waiter?.continuation
        }
        waiter?.resume(returning: nil)
    }
}
