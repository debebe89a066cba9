#if canImport(Glibc)
import Glibc
#endif
import CLinuxSys
import Dispatch

/// An IPv4, IPv6 or Unix-domain socket address.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    enum Kind: Hashable, Sendable {
        case ipv4(host: String, port: Int, raw: [UInt8])   // raw: 4 address bytes
        case ipv6(host: String, port: Int, raw: [UInt8])   // raw: 16 address bytes
        case unix(path: String)
    }

    let kind: Kind

    /// A Unix-domain socket path (e.g. PostgreSQL's `/run/postgresql/.s.PGSQL.5432`).
    public static func unix(_ path: String) -> SocketAddress { SocketAddress(kind: .unix(path: path)) }

    /// Parses a numeric IPv4 or IPv6 literal (no name lookup). Brackets around IPv6 are accepted.
    public init?(ipAddress: String, port: Int) {
        var host = ipAddress
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            kind = .ipv4(host: host, port: port, raw: withUnsafeBytes(of: &v4) { Array($0) })
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            kind = .ipv6(host: host, port: port, raw: withUnsafeBytes(of: &v6) { Array($0) })
            return
        }
        return nil
    }

    init(kind: Kind) { self.kind = kind }

    public var port: Int? {
        switch kind {
        case .ipv4(_, let p, _), .ipv6(_, let p, _): return p
        case .unix: return nil
        }
    }

    /// The numeric host (or the socket path).
    public var host: String {
        switch kind {
        case .ipv4(let h, _, _), .ipv6(let h, _, _): return h
        case .unix(let p): return p
        }
    }

    public var description: String {
        switch kind {
        case .ipv4(let h, let p, _): return "\(h):\(p)"
        case .ipv6(let h, let p, _): return "[\(h)]:\(p)"
        case .unix(let path): return "unix:\(path)"
        }
    }

    var family: Int32 {
        switch kind {
        case .ipv4: return AF_INET
        case .ipv6: return AF_INET6
        case .unix: return AF_UNIX
        }
    }

    /// Calls `body` with this address as a `sockaddr`.
    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) throws -> R {
        switch kind {
        case .ipv4(_, let port, let raw):
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = in_port_t(UInt16(port).bigEndian)
            withUnsafeMutableBytes(of: &sa.sin_addr) { $0.copyBytes(from: raw) }
            return try withUnsafePointer(to: &sa) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .ipv6(_, let port, let raw):
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = in_port_t(UInt16(port).bigEndian)
            withUnsafeMutableBytes(of: &sa.sin6_addr) { $0.copyBytes(from: raw) }
            return try withUnsafePointer(to: &sa) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        case .unix(let path):
            var sa = sockaddr_un()
            sa.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            let capacity = MemoryLayout.size(ofValue: sa.sun_path)
            guard bytes.count < capacity else {
                throw NetworkError.system(operation: "unix socket path", errno: ENAMETOOLONG,
                                          message: "path longer than \(capacity - 1) bytes: \(path)")
            }
            withUnsafeMutableBytes(of: &sa.sun_path) { dst in
                dst.copyBytes(from: bytes)
                dst[bytes.count] = 0
            }
            return try withUnsafePointer(to: &sa) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        }
    }

    /// Reads a `sockaddr_storage` filled by the kernel.
    init?(storage: sockaddr_storage) {
        var s = storage
        switch Int32(s.ss_family) {
        case AF_INET:
            let sa = withUnsafeBytes(of: &s) { $0.load(as: sockaddr_in.self) }
            var addr = sa.sin_addr
            var buf = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            inet_ntop(AF_INET, &addr, &buf, socklen_t(buf.count))
            kind = .ipv4(host: String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self), port: Int(UInt16(bigEndian: sa.sin_port)),
                         raw: withUnsafeBytes(of: &addr) { Array($0) })
        case AF_INET6:
            let sa = withUnsafeBytes(of: &s) { $0.load(as: sockaddr_in6.self) }
            var addr = sa.sin6_addr
            var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            inet_ntop(AF_INET6, &addr, &buf, socklen_t(buf.count))
            kind = .ipv6(host: String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self), port: Int(UInt16(bigEndian: sa.sin6_port)),
                         raw: withUnsafeBytes(of: &addr) { Array($0) })
        case AF_UNIX:
            let sa = withUnsafeBytes(of: &s) { $0.load(as: sockaddr_un.self) }
            var path = sa.sun_path
            let p = withUnsafeBytes(of: &path) { raw in String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self) }
            kind = .unix(path: p)
        default:
            return nil
        }
    }

    /// Resolves a host name (or numeric literal) to addresses. Numeric hosts are parsed directly;
    /// names are looked up with getaddrinfo on a Dispatch worker, never on the loop thread.
    public static func resolve(host: String, port: Int) async throws -> [SocketAddress] {
        if let literal = SocketAddress(ipAddress: host, port: port) { return [literal] }
        return try await withUnsafeThrowingContinuation { cont in
            DispatchQueue.global().async {
                cont.resume(with: Result { try getaddrinfoBlocking(host: host, port: port) })
            }
        }
    }

    private static func getaddrinfoBlocking(host: String, port: Int) throws -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &result)
        guard rc == 0, let first = result else {
            throw NetworkError.resolutionFailed(host: host, reason: String(cString: gai_strerror(rc)))
        }
        defer { freeaddrinfo(first) }
        var out: [SocketAddress] = []
        var cur: UnsafeMutablePointer<addrinfo>? = first
        while let ai = cur {
            var storage = sockaddr_storage()
            withUnsafeMutableBytes(of: &storage) { dst in
                dst.copyMemory(from: UnsafeRawBufferPointer(start: ai.pointee.ai_addr, count: Int(ai.pointee.ai_addrlen)))
            }
            if let a = SocketAddress(storage: storage), !out.contains(a) { out.append(a) }
            cur = ai.pointee.ai_next
        }
        if out.isEmpty { throw NetworkError.resolutionFailed(host: host, reason: "no addresses") }
        return out
    }
}
