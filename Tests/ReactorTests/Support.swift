import CLinuxSys
import Foundation
import TestSupport
@testable import Reactor

/// Starts an echo server on an ephemeral loopback port; each connection echoes until EOF.
func startEchoServer(host: String = "127.0.0.1", tls: TLSConfiguration? = nil) async throws -> (Listener, Task<Void, Never>) {
    let listener = try await Listener.bind(host: host, port: 0, tls: tls)
    let task = Task(executorPreference: EventLoop.shared) {
        await withDiscardingTaskGroup { group in
            while true {
                guard let conn = try? await listener.accept() else { return }
                group.addTask(executorPreference: EventLoop.shared) {
                    var buf = ByteBuffer(capacity: 64 * 1024)
                    do {
                        while true {
                            try await conn.read(into: &buf)
                            try await conn.write(buf)
                            buf.clear()
                        }
                    } catch {}
                    conn.close()
                }
            }
        }
    }
    return (listener, task)
}

/// A loopback TCP connection and the listener's side of it (the listener is closed once accepted).
func connectedPair() async throws -> (client: Connection, server: Connection) {
    let listener = try await Listener.bind(host: "127.0.0.1", port: 0)
    defer { listener.close() }
    let client = try await Connection.connect(host: "127.0.0.1", port: listener.port)
    do {
        return (client, try await listener.accept())
    } catch {
        client.close()
        throw error
    }
}

/// Reads exactly `count` bytes.
func readExactly(_ conn: Connection, _ count: Int, timeout: Duration? = .seconds(30)) async throws -> [UInt8] {
    var buf = ByteBuffer(capacity: min(count, 64 * 1024))
    var out: [UInt8] = []
    out.reserveCapacity(count)
    while out.count < count {
        try await conn.read(into: &buf, timeout: timeout)
        let take = min(buf.readableBytes, count - out.count)
        out.append(contentsOf: buf.readableBytesView.prefix(take))
        buf.moveReaderIndex(forwardBy: take)
    }
    return out
}

/// A throw-away CA and a server certificate for localhost, 127.0.0.1 and ::1, made with the
/// openssl command-line tool (or taken from the test harness when it provides them).
struct TestPKI: Sendable {
    let dir: String
    let caFile: String
    let certFile: String
    let keyFile: String
    let otherCAFile: String

    static let shared: TestPKI = {
        let dir = NSTemporaryDirectory() + "vidd-reactor-pki-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        func run(_ args: [String]) {
            let status = spawnAndWait(["/usr/bin/openssl"] + args)
            precondition(status == 0, "openssl \(args.joined(separator: " ")) failed")
        }
        let ext = dir + "/san.ext"
        try! "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n".write(toFile: ext, atomically: true, encoding: .utf8)
        for ca in ["ca", "other-ca"] {
            run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=vidd test \(ca)",
                 "-keyout", "\(dir)/\(ca).key", "-out", "\(dir)/\(ca).crt"])
        }
        run(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "\(dir)/server.key", "-out", "\(dir)/server.csr"])
        run(["x509", "-req", "-in", "\(dir)/server.csr", "-CA", "\(dir)/ca.crt", "-CAkey", "\(dir)/ca.key", "-CAcreateserial",
             "-days", "2", "-sha256", "-extfile", ext, "-out", "\(dir)/server.crt"])
        return TestPKI(dir: dir, caFile: "\(dir)/ca.crt", certFile: "\(dir)/server.crt", keyFile: "\(dir)/server.key",
                       otherCAFile: "\(dir)/other-ca.crt")
    }()
}

/// Sockets of this process connected to or listening on `port`, found through /proc: immune to
/// whatever other tests running in parallel have open.
func openSockets(onPort port: Int) -> Int {
    var inodes = Set<String>()
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count > 9 else { continue }
            let local = f[1].split(separator: ":").last.flatMap { Int($0, radix: 16) }
            let remote = f[2].split(separator: ":").last.flatMap { Int($0, radix: 16) }
            if local == port || remote == port { inodes.insert(String(f[9])) }
        }
    }
    var count = 0
    let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    for fd in fds {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)"),
              target.hasPrefix("socket:[") else { continue }
        let inode = String(target.dropFirst(8).dropLast())
        if inodes.contains(inode) { count += 1 }
    }
    return count
}

/// Raises the soft open-file limit to the hard limit (1 000 connections need ~2 000 fds).
func raiseFileLimit() {
    var lim = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim)
    if lim.rlim_cur < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim)
    }
}

/// A child process (e.g. `openssl s_server`) with its output discarded, killed by `stop()`.
/// Uses posix_spawn and waitpid directly: Foundation's Process.waitUntilExit spins a run loop and
/// can hang when called from an async context.
final class Child: Sendable {
    let pid: pid_t

    init(_ args: [String]) throws {
        pid = try spawn(["/usr/bin/openssl"] + args)
    }

    func stop() {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
    }
}

/// Starts `argv` with stdin and stdout/stderr on /dev/null.
func spawn(_ argv: [String]) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addclosefrom_np(&actions, 3)  // inherit no other test's descriptors
    var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    defer { cargs.forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, argv[0], &actions, nil, &cargs, environ)
    guard rc == 0 else { throw NetworkError.system(operation: "posix_spawn \(argv[0])", errno: rc, message: String(cString: strerror(rc))) }
    return pid
}

/// Runs `argv` to completion (blocking the calling thread); returns its exit status.
func spawnAndWait(_ argv: [String]) -> Int32 {
    guard let pid = try? spawn(argv) else { return -1 }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return (status >> 8) & 0xff
}

/// A free loopback TCP port for a child server: `FreePorts` (below the ephemeral range, never
/// handed out twice), so no outgoing connection takes it before the child binds.
func freePort() async throws -> Int { try FreePorts.one() }

/// Runs a shell command to completion on a plain thread (the cooperative pool has only as many
/// threads as cores); returns its exit status.
func runShell(_ command: String) async throws -> Int32 {
    await withCheckedContinuation { cont in
        Thread.detachNewThread {
            cont.resume(returning: spawnAndWait(["/bin/sh", "-c", command]))
        }
    }
}
