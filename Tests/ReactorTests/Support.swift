import Foundation
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
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            p.arguments = args
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try! p.run()
            p.waitUntilExit()
            precondition(p.terminationStatus == 0, "openssl \(args.joined(separator: " ")) failed")
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

/// A child process (openssl s_server / s_client) with pipes.
final class Child: @unchecked Sendable {
    let process = Process()
    let stdin = Pipe()
    let stdout = Pipe()

    init(_ args: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = args
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}

/// A free loopback TCP port (bound and released; fine for starting a child server).
func freePort() async throws -> Int {
    let l = try await Listener.bind(host: "127.0.0.1", port: 0)
    defer { l.close() }
    return l.port
}

/// Runs a shell command to completion off the cooperative pool; returns its exit status.
func runShell(_ command: String) async throws -> Int32 {
    try await withCheckedThrowingContinuation { cont in
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { cont.resume(throwing: error); return }
        // Wait on a plain thread: the cooperative pool has only as many threads as cores.
        Thread.detachNewThread {
            p.waitUntilExit()
            cont.resume(returning: p.terminationStatus)
        }
    }
}
