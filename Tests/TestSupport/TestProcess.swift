import CLinuxSys
import Foundation

/// Runs a command-line tool (curl, python3, psql, redis-cli …) for a test.
///
/// Children are started with posix_spawn and reaped with waitpid. Foundation's
/// `Process.waitUntilExit` spins a run loop and was seen spinning forever on the cooperative
/// pool, and a blocking wait there also starves every other test (the pool has only as many
/// threads as cores), so `run` waits on a thread of its own.
public enum TestProcess {
    public struct Result: Sendable {
        public let status: Int32
        public let output: Data
        public let errorOutput: Data
        public var text: String { String(decoding: output, as: UTF8.self) }
    }

    public struct SpawnFailed: Error, CustomStringConvertible {
        public let command: String
        public let code: Int32
        public var description: String { "cannot start \(command): \(String(cString: strerror(code)))" }
    }

    /// Runs `arguments` (looked up on PATH) to completion, off the cooperative pool.
    public static func run(_ arguments: [String], stdin: Data? = nil) async throws -> Result {
        try await withCheckedThrowingContinuation { cont in
            Thread.detachNewThread {
                cont.resume(with: Swift.Result { try runSync(arguments, stdin: stdin) })
            }
        }
    }

    /// Runs `arguments` to completion on the calling thread (for short tools in synchronous code).
    public static func runSync(_ arguments: [String], stdin: Data? = nil) throws -> Result {
        var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        guard pipe(&inPipe) == 0, pipe(&outPipe) == 0, pipe(&errPipe) == 0 else {
            throw SpawnFailed(command: arguments.first ?? "", code: errno)
        }
        // Close-on-exec, so a program another test spawns never keeps a pipe open (spawned
        // through here or ChildProcess it would not anyway: they close every other descriptor).
        for fd in inPipe + outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        // Nothing else: a descriptor this process opened without close-on-exec (ours or a
        // library's) would otherwise live as long as the child, a daemon perhaps.
        posix_spawn_file_actions_addclosefrom_np(&actions, 3)
        var cargs: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { cargs.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, arguments[0], &actions, nil, &cargs, environ)
        close(inPipe[0]); close(outPipe[1]); close(errPipe[1])
        guard rc == 0 else {
            close(inPipe[1]); close(outPipe[0]); close(errPipe[0])
            throw SpawnFailed(command: arguments[0], code: rc)
        }
        // Feed stdin and drain stderr on threads of their own so no pipe can fill up and stall.
        let writerDone = DispatchSemaphore(value: 0)
        let input = stdin ?? Data()
        let inFD = inPipe[1]
        Thread.detachNewThread {
            input.withUnsafeBytes { raw in
                var off = 0
                while off < raw.count {
                    let n = write(inFD, raw.baseAddress! + off, raw.count - off)
                    if n <= 0 { if errno == EINTR { continue }; break }
                    off += n
                }
            }
            close(inFD)
            writerDone.signal()
        }
        let errBox = DataBox()
        let errDone = DispatchSemaphore(value: 0)
        let errFD = errPipe[0]
        Thread.detachNewThread {
            errBox.data = readAll(errFD)
            errDone.signal()
        }
        let output = readAll(outPipe[0])
        errDone.wait()
        writerDone.wait()
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Result(status: code, output: output, errorOutput: errBox.data)
    }

    /// The absolute path of `tool` on PATH (for `ChildProcess`, which does not search PATH), or
    /// `tool` itself when it is not found.
    public static func path(of tool: String) -> String {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        for directory in directories where access("\(directory)/\(tool)", X_OK) == 0 {
            return "\(directory)/\(tool)"
        }
        return tool
    }

    private static func readAll(_ fd: Int32) -> Data {
        var data = Data()
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buf, buf.count)
            if n > 0 { data.append(buf, count: n); continue }
            if n < 0 && errno == EINTR { continue }
            break
        }
        close(fd)
        return data
    }
}

/// Written by one thread before a semaphore signal, read by another after the wait.
private final class DataBox: @unchecked Sendable {
    var data = Data()
}
