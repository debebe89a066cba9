#if canImport(Glibc)
import Glibc
#endif

/// Free TCP ports on 127.0.0.1, from the kernel (bind to port 0, read it back, close).
/// Another program may take a port before the caller binds it: servers started on one check that
/// they did.
public enum FreePorts {
    /// One port nothing listens on right now.
    public static func one() throws -> Int { try take(1)[0] }

    /// `count` distinct ports (all bound at once, then released).
    public static func take(_ count: Int) throws -> [Int] {
        var sockets: [Int32] = []
        defer { for s in sockets { close(s) } }
        var ports: [Int] = []
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw TestProcess.SpawnFailed(command: "socket", code: errno) }
            sockets.append(fd)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
            }
            guard bound else { throw TestProcess.SpawnFailed(command: "bind", code: errno) }
            ports.append(Int(UInt16(bigEndian: address.sin_port)))
        }
        return ports
    }
}
