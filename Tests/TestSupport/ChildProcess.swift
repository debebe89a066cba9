import CLinuxSys
import Foundation

/// A long-running child (the real `vidd` daemon) for end-to-end tests: started with its own
/// environment, its stdout and stderr appended to a log file, signalled, and reaped without ever
/// blocking a thread (waitpid with WNOHANG between short sleeps).
///
/// It dies with the test process: it is started through `setpriv --pdeathsig KILL`, so the kernel
/// SIGKILLs it when its parent goes, and a test run that crashes or is killed leaves no daemon
/// behind. The parent-death signal follows the *thread* that spawned the child, and the
/// cooperative pool's threads come and go, so every child is spawned on `SpawningThread`, which
/// lives as long as the process.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    public let logPath: String
    public let arguments: [String]
    public let leadsProcessGroup: Bool
    private let lock = NSLock()
    private var exitStatus: Int32?

    /// `environment` replaces the test process's environment entirely (PATH is kept).
    /// `newProcessGroup`: the child leads a process group of its own, so `signalGroup` reaches it
    /// and its children as a terminal's Ctrl-C reaches a foreground job.
    public init(_ arguments: [String], environment: [String: String], logPath: String, newProcessGroup: Bool = false) throws {
        self.arguments = arguments
        self.logPath = logPath
        self.leadsProcessGroup = newProcessGroup
        let fd = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw TestProcess.SpawnFailed(command: "open \(logPath)", code: errno) }
        defer { close(fd) }
        // Checked here: setpriv would start and only then fail to exec it, a less clear error.
        guard access(arguments[0], X_OK) == 0 else { throw TestProcess.SpawnFailed(command: arguments[0], code: errno) }
        var env = environment
        if env["PATH"] == nil { env["PATH"] = ProcessInfo.processInfo.environment["PATH"] }
        // setpriv sets PR_SET_PDEATHSIG on itself, then execs the command (same pid, setting kept).
        let command = [Self.setpriv, "--pdeathsig", "KILL", "--"] + arguments
        let (pid, rc) = SpawningThread.shared.run {
            Self.spawn(command, environment: env, logFD: fd, newProcessGroup: newProcessGroup)
        }
        guard rc == 0 else { throw TestProcess.SpawnFailed(command: arguments[0], code: rc) }
        self.pid = pid
    }

    /// `setpriv` from util-linux (Essential in Debian): absolute, as posix_spawn does not search PATH.
    static let setpriv = TestProcess.path(of: "setpriv")

    /// posix_spawn with stdin from /dev/null and stdout and stderr to `logFD`: the pid and the
    /// error number (0 when it started). Runs on `SpawningThread`.
    private static func spawn(_ arguments: [String], environment: [String: String], logFD fd: Int32,
                              newProcessGroup: Bool) -> (pid_t, Int32) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fd, 1)
        posix_spawn_file_actions_adddup2(&actions, fd, 2)
        posix_spawn_file_actions_addclosefrom_np(&actions, 3)  // as TestProcess: inherit nothing else
        var cargs: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        var cenv: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { cargs.forEach { free($0) }; cenv.forEach { free($0) } }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Signals as a shell leaves them: SIGINT/SIGTERM/SIGQUIT/SIGHUP at their defaults and
        // nothing blocked. The spawning thread blocks them (it inherits a pool thread's mask), and
        // a test runner started in the background ignores SIGINT; both would be inherited, so
        // SIGTERM would never stop a redis-server, nor could run.sh trap it.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGQUIT, SIGHUP] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        var flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK
        if newProcessGroup {
            // A terminal's job: a process group of its own.
            flags |= POSIX_SPAWN_SETPGROUP
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, arguments[0], &actions, &attributes, &cargs, &cenv)
        return (pid, rc)
    }

    public func signal(_ number: Int32) { _ = kill(pid, number) }

    /// Signals the child's whole process group (started with `newProcessGroup`): what a terminal
    /// does on Ctrl-C.
    public func signalGroup(_ number: Int32) { _ = kill(-pid, number) }

    /// The exit status (or 128 + signal), or nil while it still runs.
    public func poll() -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        guard r == pid else { return nil }
        let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        exitStatus = code
        return code
    }

    public var isRunning: Bool { poll() == nil }

    /// Waits up to `timeout` for the exit; nil if it is still running then.
    public func waitForExit(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let code = poll() { return code }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return poll()
    }

    /// SIGKILL and reap (for cleanup: never leaves a process behind, nor, for a group leader,
    /// anything left in its group).
    public func kill9() async {
        if leadsProcessGroup { signalGroup(SIGKILL) }
        guard poll() == nil else { return }
        signal(SIGKILL)
        _ = await waitForExit(timeout: .seconds(10))
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Waits until a log line contains `text`; returns that line (nil on timeout or exit).
    public func waitForLog(_ text: String, timeout: Duration) async -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = log.split(separator: "\n").first(where: { $0.contains(text) }) { return String(line) }
            if poll() != nil { return nil }
            try? await Task.sleep(for: .milliseconds(25))
        }
        return nil
    }
}

/// One thread for the whole life of the test process, on which `ChildProcess` spawns: the
/// parent-death signal fires when the spawning thread ends, not the process, so a child spawned
/// from a pool thread that retires would be killed in the middle of its test.
private final class SpawningThread: @unchecked Sendable {
    static let shared = SpawningThread()
    /// Guards `work`; signalled when work is added.
    private let condition = NSCondition()
    private var work: [() -> Void] = []

    private init() {
        let thread = Thread { [unowned self] in
            while true {
                condition.lock()
                while work.isEmpty { condition.wait() }
                let next = work.removeFirst()
                condition.unlock()
                next()
            }
        }
        thread.name = "ChildProcess spawner"
        thread.start()
    }

    /// Runs `body` on the spawning thread; returns its result (a spawn takes a millisecond or so).
    func run<Value>(_ body: @escaping () -> Value) -> Value {
        let done = DispatchSemaphore(value: 0)
        let result = ResultBox<Value>()
        condition.lock()
        work.append {
            result.value = body()
            done.signal()
        }
        condition.signal()
        condition.unlock()
        done.wait()
        return result.value!
    }
}

/// Written on the spawning thread before a semaphore signal, read after the wait.
private final class ResultBox<Value>: @unchecked Sendable {
    var value: Value?
}
