import VideoAPI
import VideoCore
import VideoWorker
#if canImport(Glibc)
import Glibc
#endif

/// sd_notify(3), natively: datagrams to the unix socket named by `$NOTIFY_SOCKET` (a path, or an
/// abstract socket when it starts with `@`). Used for READY=1 once listening, WATCHDOG=1 on the
/// interval systemd asks for, and STOPPING=1 at shutdown. Without `$NOTIFY_SOCKET` (not started by
/// systemd with Type=notify) every call does nothing.
public struct SystemdNotifier: Sendable {
    public let socketPath: String?
    /// Half of `$WATCHDOG_USEC`, as sd_watchdog_enabled(3) advises; nil when no watchdog is set up
    /// for this process.
    public let watchdogInterval: Duration?

    public struct SendError: Error, Sendable, Equatable, CustomStringConvertible {
        public var socketPath: String
        public var errno: Int32
        public var message: String
        public var description: String { "sd_notify to \(socketPath): \(message) (errno \(errno))" }
    }

    public init(environment: [String: String], pid: Int32 = getpid()) {
        let path = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        socketPath = path.flatMap { $0.hasPrefix("/") || $0.hasPrefix("@") ? $0 : nil }
        watchdogInterval = Self.watchdogInterval(environment: environment, pid: pid)
    }

    /// `$WATCHDOG_USEC` / 2, if set, positive, and meant for `pid` (`$WATCHDOG_PID` absent or equal).
    public static func watchdogInterval(environment: [String: String], pid: Int32) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let usec = UInt64(text), usec > 0 else { return nil }
        if let owner = environment["WATCHDOG_PID"], let ownerPID = Int32(owner), ownerPID != pid { return nil }
        return .microseconds(Int64(clamping: usec / 2))
    }

    public var isEnabled: Bool { socketPath != nil }

    public func ready(status: String? = nil) throws(SendError) { try send("READY=1" + (status.map { "\nSTATUS=\($0)" } ?? "")) }
    public func watchdog() throws(SendError) { try send("WATCHDOG=1") }
    public func stopping() throws(SendError) { try send("STOPPING=1") }
    public func status(_ text: String) throws(SendError) { try send("STATUS=\(text)") }

    /// Sends one datagram of newline-separated `KEY=VALUE` assignments.
    public func send(_ state: String) throws(SendError) {
        guard let socketPath else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Self.error(socketPath) }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(socketPath.utf8)
        if pathBytes.first == UInt8(ascii: "@") { pathBytes[0] = 0 }  // abstract namespace
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else {
            throw SendError(socketPath: socketPath, errno: ENAMETOOLONG, message: "socket path too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
        }
        // An abstract name's length is exact (no terminating NUL); a path's includes its NUL.
        let length = MemoryLayout<sa_family_t>.size + pathBytes.count + (pathBytes.first == 0 ? 0 : 1)
        let bytes = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { ptr in
            ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sa, socklen_t(length)) }
            }
        }
        guard sent == bytes.count else { throw Self.error(socketPath) }
    }

    private static func error(_ path: String) -> SendError {
        let e = errno
        return SendError(socketPath: path, errno: e, message: String(cString: strerror(e)))
    }
}
