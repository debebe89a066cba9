#if canImport(Glibc)
import Glibc
#endif
import CLinuxSys

/// A listening TCP or Unix-domain socket.
///
/// `accept()` calls accept4 straight away and waits for readiness only on EAGAIN, so a burst of
/// connections that arrives between two wake-ups is drained by consecutive calls without
/// returning to epoll in between.
public final class Listener: Sendable {
    let registration: Registration
    public let address: SocketAddress
    private let tls: TLSConfiguration?

    private init(fd: Int32, address: SocketAddress, tls: TLSConfiguration?) throws {
        registration = try Registration(fd: fd, loop: .shared)
        self.address = address
        self.tls = tls
    }

    deinit { registration.close() }

    /// The bound port (useful after binding port 0).
    public var port: Int { address.port ?? 0 }

    /// Binds and listens on `host:port` (a numeric address or a name; port 0 picks a free port),
    /// with SO_REUSEADDR. With `tls`, accepted connections handshake on their first read or write.
    public static func bind(host: String, port: Int, backlog: Int32 = 1024, tls: TLSConfiguration? = nil) async throws -> Listener {
        guard let addr = try await SocketAddress.resolve(host: host, port: port).first else {
            throw NetworkError.resolutionFailed(host: host, reason: "no addresses")
        }
        if let tls { _ = try tls.sslContext() }  // report a bad certificate now, not at the first client
        return try bind(addr, backlog: backlog, tls: tls)
    }

    /// Binds a Unix-domain socket at `path` (an existing socket file there is replaced).
    public static func bind(unixSocketPath path: String, backlog: Int32 = 1024) async throws -> Listener {
        unlink(path)
        return try bind(.unix(path), backlog: backlog, tls: nil)
    }

    static func bind(_ addr: SocketAddress, backlog: Int32, tls: TLSConfiguration?) throws -> Listener {
        let fd = socket(addr.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw NetworkError.fromErrno("socket") }
        var one: Int32 = 1
        if addr.family != AF_UNIX {
            _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        let rc = try addr.withSockAddr { sa, len in Glibc.bind(fd, sa, len) }
        if rc != 0 {
            let e = errno
            Glibc.close(fd)
            throw NetworkError.fromErrno("bind \(addr)", e)
        }
        if Glibc.listen(fd, backlog) != 0 {
            let e = errno
            Glibc.close(fd)
            throw NetworkError.fromErrno("listen", e)
        }
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let bound = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        } == 0 ? SocketAddress(storage: storage) ?? addr : addr
        return try Listener(fd: fd, address: addr.family == AF_UNIX ? addr : bound, tls: tls)
    }

    /// Waits for and returns the next connection, registered with `loop` (`shared` unless
    /// given): a server with several loops hands each connection to one of them.
    nonisolated(nonsending) public func accept(on loop: EventLoop = .shared) async throws -> Connection {
        while true {
            var storage = sockaddr_storage()
            var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let (fd, edges, e) = try registration.perform(.read) { lfd in
                withUnsafeMutablePointer(to: &storage) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        accept4(lfd, $0, &len, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
                    }
                }
            }
            if fd >= 0 {
                let remote = SocketAddress(storage: storage)
                if remote?.family != AF_UNIX {
                    var one: Int32 = 1
                    _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                }
                let conn = try Connection(fd: fd, remote: remote, loop: loop)
                if let tls { try conn.installTLS(tls, serverName: nil) }
                return conn
            }
            switch e {
            case EAGAIN, EWOULDBLOCK:
                try await registration.wait(.read, after: edges, deadline: nil, operation: "accept")
            case EINTR, ECONNABORTED, EPROTO:
                continue
            case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                // Out of descriptors: pause instead of spinning; the pending connection stays queued.
                try await EventLoop.shared.sleep(for: .milliseconds(50))
            default:
                throw NetworkError.fromErrno("accept", e)
            }
        }
    }

    /// Stops listening; a pending `accept()` fails with `NetworkError.closed`.
    public func close() {
        registration.close()
        if case .unix(let path) = address.kind { unlink(path) }
    }
}
