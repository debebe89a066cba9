#if canImport(Glibc)
import Glibc
#endif

/// A minimal blocking TCP client over POSIX sockets, for the harness tests and the fault suite's
/// misbehaving clients (stalled and oversized uploads). Run it on a thread of its own.
///
/// The harness tests prove that the services started by `scripts/services.sh` answer as expected;
/// they deliberately use nothing of vidd's own networking so that a reactor bug cannot hide a
/// harness bug (or the other way round). Every receive has a timeout, so a silent server fails
/// the test instead of hanging it.
final class BlockingTCPClient {
    private let fd: Int32

    init(host: String, port: Int, timeoutSeconds: Int = 10) throws(HarnessSocketError) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw HarnessSocketError(operation: "getaddrinfo(\(host))", code: rc, message: String(cString: gai_strerror(rc)))
        }
        defer { freeaddrinfo(list) }

        var lastError = HarnessSocketError(operation: "connect(\(host):\(port))", code: 0, message: "no address")
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            entry = info.pointee.ai_next
            let s = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.pointee.ai_protocol)
            guard s >= 0 else { continue }
            var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
            setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            if connect(s, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 {
                fd = s
                return
            }
            lastError = HarnessSocketError(operation: "connect(\(host):\(port))")
            close(s)
        }
        throw lastError
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) throws(HarnessSocketError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw HarnessSocketError(operation: "send")
            }
            offset += n
        }
    }

    func send(_ text: String) throws(HarnessSocketError) { try send(Array(text.utf8)) }

    /// What has arrived so far, without waiting: nil once the peer has closed (EOF). Throws on a
    /// reset or another error.
    func receiveAvailable() throws(HarnessSocketError) -> [UInt8]? {
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        var received: [UInt8] = []
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n > 0 { received += chunk[0..<n]; continue }
            if n == 0 { return received.isEmpty ? nil : received }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return received }
            throw HarnessSocketError(operation: "recv (after \(received.count) bytes)")
        }
    }

    /// Reads until `isComplete` accepts what arrived, or EOF. Throws on timeout or error.
    func receive(until isComplete: ([UInt8]) -> Bool) throws(HarnessSocketError) -> [UInt8] {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while !isComplete(received) {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw HarnessSocketError(operation: "recv (after \(received.count) bytes)")
            }
            received += chunk[0..<n]
        }
        return received
    }
}

struct HarnessSocketError: Error, CustomStringConvertible {
    let operation: String
    let code: Int32
    let message: String

    init(operation: String, code: Int32 = errno, message: String? = nil) {
        self.operation = operation
        self.code = code
        self.message = message ?? String(cString: strerror(code))
    }

    var description: String { "\(operation) failed: \(message) (\(code))" }
}
