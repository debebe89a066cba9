import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Free TCP ports on 127.0.0.1 for servers a test starts (redis-server, postgres, vidd).
///
/// A port is picked at random *below* the kernel's ephemeral range (`ip_local_port_range`),
/// checked by binding it, and released: a port from the ephemeral range (bind to port 0) can be
/// taken as the local port of any outgoing connection before the server binds it. A port is
/// handed out at most once per process, so two tests starting servers at once never get the same
/// one. The checking sockets are close-on-exec: a child another test spawns while they are open
/// must not inherit a bound socket and hold the port for its lifetime (a daemonized redis-server
/// did, and the failover test's servers could not bind).
public enum FreePorts {
    /// One port nothing listens on right now.
    public static func one() throws -> Int { try take(1)[0] }

    /// `count` distinct ports.
    public static func take(_ count: Int) throws -> [Int] {
        state.lock.lock()
        defer { state.lock.unlock() }
        var ports: [Int] = []
        var attempts = 0
        while ports.count < count {
            attempts += 1
            guard attempts <= 10_000 else { throw TestProcess.SpawnFailed(command: "bind (no free port)", code: EADDRINUSE) }
            let port = Int.random(in: range)
            guard !state.handedOut.contains(port), try isFree(port) else { continue }
            state.handedOut.insert(port)
            ports.append(port)
        }
        return ports
    }

    /// Ports from 10 000 up to the start of the ephemeral range.
    static let range: ClosedRange<Int> = {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let low = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first.flatMap { Int($0) } ?? 32768
        return 10_000...max(10_000 + 1_000, low - 1)
    }()

    private final class State: @unchecked Sendable {
        let lock = NSLock()
        var handedOut: Set<Int> = []
    }
    private static let state = State()

    /// Whether 127.0.0.1:`port` can be bound now (by a socket without SO_REUSEADDR, so a port in
    /// TIME_WAIT counts as taken too).
    private static func isFree(_ port: Int) throws -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestProcess.SpawnFailed(command: "socket", code: errno) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
