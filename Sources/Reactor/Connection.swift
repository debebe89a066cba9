#if canImport(Glibc)
import Glibc
#endif
import CLinuxSys
import Synchronization

/// A connected stream socket (TCP or Unix domain), plain or TLS, driven by the event loop.
///
/// Reads and writes are tried straight away; a task suspends only when the kernel says EAGAIN,
/// and is resumed by the loop when the socket becomes ready. `write` returns only once every byte
/// was accepted by the kernel, so a slow peer slows its writer instead of growing memory.
///
/// One reader task and one writer task may use a connection at the same time; two readers may not.
public final class Connection: Sendable {
    let registration: Registration
    public let remoteAddress: SocketAddress?
    /// The TLS layer, present after `startTLS` or for connections accepted by a TLS listener.
    private let tls = Mutex<TLSEngine?>(nil)
    private let handshake = Mutex<HandshakeState>(.notNeeded)

    enum HandshakeState {
        case notNeeded
        case pending
        case running([UnsafeContinuation<Void, Error>])
        case done
        case failed(NetworkError)
    }

    init(fd: Int32, remote: SocketAddress?, loop: EventLoop = .shared) throws {
        do {
            registration = try Registration(fd: fd, loop: loop)
        } catch {
            Glibc.close(fd)
            throw error
        }
        remoteAddress = remote
    }

    deinit { registration.close() }

    /// The loop whose epoll set has this socket: its waits resume there, and a task that serves the
    /// connection runs cheapest with it as executor preference.
    public var eventLoop: EventLoop { registration.loop }

    // MARK: Connecting

    /// Connects over TCP to `host` (a name or an IPv4/IPv6 literal), trying each resolved address
    /// in turn within `timeout`. With `tls`, the handshake completes before this returns;
    /// `serverName` (default: `host`) is sent as SNI and verified against the certificate.
    public static func connect(host: String, port: Int, tls: TLSConfiguration? = nil, serverName: String? = nil,
                               timeout: Duration = .seconds(10)) async throws -> Connection {
        let deadlineNs = deadline(after: timeout)
        let addresses = try await SocketAddress.resolve(host: host, port: port)
        var lastError: Error = NetworkError.connectionRefused("\(host):\(port)")
        for address in addresses {
            do {
                let conn = try await connect(to: address, deadline: deadlineNs)
                if let tls {
                    do {
                        try await conn.startTLS(tls, serverName: serverName ?? host, deadline: deadlineNs)
                    } catch {
                        conn.close()
                        throw error
                    }
                }
                return conn
            } catch let error as NetworkError {
                switch error {
                case .connectionRefused, .system, .timedOut: lastError = error; continue
                default: throw error
                }
            }
        }
        throw lastError
    }

    /// Connects to a Unix-domain socket (e.g. PostgreSQL's local socket).
    public static func connect(unixSocketPath: String, timeout: Duration = .seconds(10)) async throws -> Connection {
        try await connect(to: .unix(unixSocketPath), deadline: deadline(after: timeout))
    }

    /// Connects to one address.
    public static func connect(to address: SocketAddress, timeout: Duration = .seconds(10)) async throws -> Connection {
        try await connect(to: address, deadline: deadline(after: timeout))
    }

    static func connect(to address: SocketAddress, deadline: UInt64) async throws -> Connection {
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw NetworkError.fromErrno("socket") }
        if address.family != AF_UNIX {
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        let conn = try Connection(fd: fd, remote: address)
        let (rc, edges, _) = try conn.registration.perform(.write) { fd in
            try address.withSockAddr { sa, len in Glibc.connect(fd, sa, len) == 0 ? 0 : errno }
        }
        switch rc {
        case 0:
            return conn
        case EINPROGRESS, EAGAIN:
            do {
                try await conn.registration.wait(.write, after: edges, deadline: deadline, operation: "connect to \(address)")
            } catch {
                conn.close()
                throw error
            }
            var soError: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            _ = try conn.registration.perform(.write) { getsockopt($0, SOL_SOCKET, SO_ERROR, &soError, &len) }
            if soError == 0 { return conn }
            conn.close()
            if soError == ECONNREFUSED { throw NetworkError.connectionRefused(address.description) }
            throw NetworkError.fromErrno("connect to \(address)", soError)
        case ECONNREFUSED, ENOENT:
            conn.close()
            throw NetworkError.connectionRefused(address.description)
        default:
            conn.close()
            throw NetworkError.fromErrno("connect to \(address)", rc)
        }
    }

    // MARK: TLS

    /// Starts TLS on this connection (e.g. after PostgreSQL answered `S` to an SSLRequest) and
    /// completes the handshake.
    nonisolated(nonsending) public func startTLS(_ configuration: TLSConfiguration, serverName: String?, timeout: Duration = .seconds(10)) async throws {
        try await startTLS(configuration, serverName: serverName, deadline: deadline(after: timeout))
    }

    nonisolated(nonsending) func startTLS(_ configuration: TLSConfiguration, serverName: String?, deadline: UInt64) async throws {
        try installTLS(configuration, serverName: serverName)
        try await ensureHandshake(deadline: deadline)
    }

    /// Attaches a TLS engine whose handshake runs on first use (server side).
    func installTLS(_ configuration: TLSConfiguration, serverName: String?) throws {
        let engine = try TLSEngine(configuration: configuration, serverName: serverName)
        try tls.withLock { t in
            if t != nil { throw NetworkError.tls("TLS already started on this connection") }
            t = engine
        }
        handshake.withLock { $0 = .pending }
    }

    public var isTLS: Bool { tls.withLock { $0 != nil } }
    public var tlsVersion: String? { tls.withLock { $0?.version } }
    public var tlsPeerCertificateDER: [UInt8]? { tls.withLock { $0?.peerCertificateDER } }
    public var tlsServerEndPointHash: [UInt8]? { tls.withLock { $0?.serverEndPointHash } }

    /// Runs the handshake once; concurrent callers wait for the first one's outcome.
    nonisolated(nonsending) private func ensureHandshake(deadline: UInt64?) async throws {
        enum Next { case proceed, run, wait, fail(NetworkError) }
        let next = handshake.withLock { s -> Next in
            switch s {
            case .notNeeded, .done: return .proceed
            case .failed(let e): return .fail(e)
            case .pending: s = .running([]); return .run
            case .running: return .wait
            }
        }
        switch next {
        case .proceed: return
        case .fail(let e): throw e
        case .wait:
            try await withUnsafeThrowingContinuation { (c: UnsafeContinuation<Void, Error>) in
                let immediate = handshake.withLock { s -> Result<Void, Error>? in
                    switch s {
                    case .running(var waiters): waiters.append(c); s = .running(waiters); return nil
                    case .failed(let e): return .failure(e)
                    default: return .success(())
                    }
                }
                if let immediate { c.resume(with: immediate) }
            }
        case .run:
            var outcome: Result<Void, Error> = .success(())
            do {
                try await runHandshake(deadline: deadline)
            } catch {
                outcome = .failure(error)
            }
            let waiters = handshake.withLock { s -> [UnsafeContinuation<Void, Error>] in
                guard case .running(let w) = s else { return [] }
                switch outcome {
                case .success: s = .done
                case .failure(let e): s = .failed(e as? NetworkError ?? .tls("\(e)"))
                }
                return w
            }
            for w in waiters { w.resume(with: outcome) }
            try outcome.get()
        }
    }

    nonisolated(nonsending) private func runHandshake(deadline: UInt64?) async throws {
        while true {
            let step = tls.withLock { $0!.handshake() }
            try await flushTLS(deadline: deadline)
            switch step {
            case .done: return
            case .failed(let reason): throw NetworkError.tls(reason)
            case .wantRead:
                do {
                    try await readCiphertext(deadline: deadline, operation: "TLS handshake")
                } catch NetworkError.endOfStream {
                    throw NetworkError.tls("peer closed the connection during the handshake")
                }
            }
        }
    }

    /// Sends every byte of ciphertext OpenSSL has produced, waiting for writability as needed.
    /// The TLS lock is held across the send so that a reader and a writer flushing at the same
    /// time can never interleave records.
    nonisolated(nonsending) private func flushTLS(deadline: UInt64?) async throws {
        while true {
            let blockedAt: UInt64? = try tls.withLock { t in
                guard let engine = t else { return nil }
                engine.collectOutput()
                while engine.hasPendingOutput {
                    let (n, edges, e) = try registration.perform(.write) { fd in
                        engine.pendingOut.withUnsafeBytes { raw in
                            send(fd, raw.baseAddress! + engine.pendingOffset, raw.count - engine.pendingOffset, Int32(MSG_NOSIGNAL))
                        }
                    }
                    if n > 0 { engine.consumedOutput(n); continue }
                    if e == EAGAIN || e == EWOULDBLOCK { return edges }
                    if e == EINTR { continue }
                    throw NetworkError.fromErrno("send", e)
                }
                return nil
            }
            guard let edges = blockedAt else { return }
            try await registration.wait(.write, after: edges, deadline: deadline, operation: "write")
        }
    }

    /// Reads ciphertext from the socket into the TLS engine (at least one byte).
    nonisolated(nonsending) private func readCiphertext(deadline: UInt64?, operation: String) async throws {
        while true {
            let (n, edges, err) = try withUnsafeTemporaryAllocation(byteCount: 32 * 1024, alignment: 16) { tmp in
                let (n, edges, e) = try registration.perform(.read) { fd in recv(fd, tmp.baseAddress, tmp.count, 0) }
                let err = n < 0 ? e : 0
                if n > 0 { tls.withLock { $0!.feed(UnsafeRawBufferPointer(rebasing: tmp[0..<n])) } }
                return (n, edges, err)
            }
            if n > 0 { return }
            if n == 0 { registration.hangupRead(); throw NetworkError.endOfStream }
            if err == EAGAIN || err == EWOULDBLOCK {
                try await registration.wait(.read, after: edges, deadline: deadline, operation: operation)
            } else if err != EINTR {
                registration.hangupRead()
                throw NetworkError.fromErrno("recv", err)
            }
        }
    }

    // MARK: Reading

    /// Appends at least one byte to `buffer`. Throws `NetworkError.endOfStream` at a clean end of
    /// stream, `.connectionReset` when the peer reset, `.timedOut` after `timeout`, and
    /// `CancellationError` when the task is cancelled (the connection stays open then).
    nonisolated(nonsending) public func read(into buffer: inout ByteBuffer, timeout: Duration? = nil) async throws {
        try await read(into: &buffer, deadline: timeout.map { deadline(after: $0) })
    }

    /// Makes the read waiting now (or, if none waits, the next one) end at once with
    /// `NetworkError.timedOut`, as if its deadline had passed: for a reader whose deadline another
    /// task has just moved (an HTTP server's reader, when a handler's response ends and the
    /// connection's idle or linger deadline begins). Bytes already received are not lost: the
    /// next read returns them.
    public func interruptRead() { registration.interruptRead() }

    /// A point in this socket's read edges, taken just before writing a request whose reply is then
    /// read with `read(into:replyAfter:timeout:)`. nil when that would not be safe: over TLS (the
    /// engine may hold bytes no edge announces), or when input was signalled since the last read
    /// (it may be all that will ever come, e.g. the peer's close).
    public func replyMark() -> ReplyMark? {
        if isTLS { return nil }
        return registration.readEdgesIfQuietSinceLastRead.map(ReplyMark.init)
    }

    /// See `replyMark()`.
    public struct ReplyMark: Sendable {
        let edges: UInt64
    }

    /// Reads the first bytes of the reply to a request written after `mark` was taken: waits for a
    /// read edge newer than the mark before calling `recv`, instead of a `recv` that could only say
    /// EAGAIN (one syscall less per round trip: write, epoll_wait, read). Whatever arrived before
    /// the mark is read too, with the reply. Only for a request that always gets a reply: the wait
    /// ends on bytes, end of stream, an error, the deadline or cancellation — not on silence.
    nonisolated(nonsending) public func read(into buffer: inout ByteBuffer, replyAfter mark: ReplyMark,
                                             timeout: Duration? = nil) async throws {
        let deadlineNs = timeout.map { deadline(after: $0) }
        try await registration.wait(.read, after: mark.edges, deadline: deadlineNs, operation: "read")
        try await read(into: &buffer, deadline: deadlineNs)
    }

    nonisolated(nonsending) private func read(into buffer: inout ByteBuffer, deadline deadlineNs: UInt64?) async throws {
        if isTLS {
            try await ensureHandshake(deadline: deadlineNs)
            while true {
                let r = tls.withLock { $0!.read(into: &buffer) }
                switch r {
                case .bytes:
                    return
                case .closed:
                    registration.hangupRead()
                    throw NetworkError.endOfStream
                case .failed(let reason):
                    throw NetworkError.tls(reason)
                case .wantRead:
                    try await flushTLS(deadline: deadlineNs)
                    try await readCiphertext(deadline: deadlineNs, operation: "read")
                }
            }
        }
        while true {
            let (n, edges, e) = try registration.perform(.read) { fd in
                if buffer.writableBytes >= 4096 {
                    return buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 0) { raw in
                        recv(fd, raw.baseAddress, raw.count, 0)
                    }
                }
                // Little room in the caller's buffer: receive on the stack and copy what came,
                // so a buffer grows only by what actually arrived and an idle connection waiting
                // here holds no receive memory at all.
                return withUnsafeTemporaryAllocation(byteCount: 16 * 1024, alignment: 16) { tmp in
                    let n = recv(fd, tmp.baseAddress, tmp.count, 0)
                    if n > 0 { buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: tmp[0..<n])) }
                    return n
                }
            }
            if n > 0 { return }
            if n == 0 { registration.hangupRead(); throw NetworkError.endOfStream }
            if e == EAGAIN || e == EWOULDBLOCK {
                try await registration.wait(.read, after: edges, deadline: deadlineNs, operation: "read")
            } else if e != EINTR {
                registration.hangupRead()
                throw NetworkError.fromErrno("recv", e)
            }
        }
    }

    /// Whether the event loop reported this socket readable (input, end of stream or an error) after
    /// the latest read on it began; no syscall. When false, nothing arrived since that read (though
    /// a read that filled its buffer, or a TLS engine, may have left bytes it had already been
    /// signalled about). A client that reads only while it expects a reply checks it before
    /// reusing an idle connection, to notice input that came meanwhile — typically the peer closing
    /// the connection — without a read per use. True means "look", not "there is input": an edge can
    /// repeat for bytes a read already took (epoll re-reports readiness when the interest set
    /// changes, e.g. when write interest is dropped). A hang-up (RDHUP, HUP, ERR) stays flagged
    /// until a read returns the end of stream or the error, also when the peer's last bytes and its
    /// FIN came in the same event and a read has taken the bytes. False once closed.
    public var hasReadEdgeSinceLastRead: Bool { registration.hasReadEdgeSinceLastRead }

    // MARK: Writing

    /// Writes every byte; returns when the kernel (or the TLS layer) has accepted them all.
    nonisolated(nonsending) public func write(_ bytes: [UInt8], timeout: Duration? = nil) async throws {
        try await write(bytes, range: 0..<bytes.count, deadline: timeout.map { deadline(after: $0) })
    }

    /// Writes the readable bytes of `buffer`.
    nonisolated(nonsending) public func write(_ buffer: ByteBuffer, timeout: Duration? = nil) async throws {
        try await write(buffer.storage, range: buffer.readerIndex..<buffer.writerIndex, deadline: timeout.map { deadline(after: $0) })
    }

    /// Sends as much of `bytes` as the kernel accepts right now, without waiting: returns how many
    /// (0 when the socket buffer is full). For a writer that serves many sockets from one pass
    /// (a broadcast) and queues the rest itself. Returns nil on a TLS connection, whose records
    /// must go through `write`. Must not run while a `write` on this connection is in progress.
    public func writeNow(_ bytes: UnsafeRawBufferPointer) throws -> Int? {
        if isTLS { return nil }
        var offset = 0
        while offset < bytes.count {
            let (n, _, e) = try registration.perform(.write) { fd in
                send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n > 0 { offset += n; continue }
            if e == EAGAIN || e == EWOULDBLOCK { break }
            if e != EINTR { throw NetworkError.fromErrno("send", e) }
        }
        return offset
    }

    nonisolated(nonsending) private func write(_ bytes: [UInt8], range: Range<Int>, deadline deadlineNs: UInt64?) async throws {
        var offset = range.lowerBound
        if isTLS {
            try await ensureHandshake(deadline: deadlineNs)
            while offset < range.upperBound {
                let chunk = min(16 * 1024, range.upperBound - offset)
                let taken = try tls.withLock { t in
                    try bytes.withUnsafeBytes { raw in
                        try t!.write(UnsafeRawBufferPointer(rebasing: raw[offset..<offset + chunk]))
                    }
                }
                offset += taken
                try await flushTLS(deadline: deadlineNs)
            }
            return
        }
        while offset < range.upperBound {
            let (n, edges, e) = try registration.perform(.write) { fd in
                bytes.withUnsafeBytes { raw in
                    send(fd, raw.baseAddress! + offset, range.upperBound - offset, Int32(MSG_NOSIGNAL))
                }
            }
            if n > 0 { offset += n; continue }
            if e == EAGAIN || e == EWOULDBLOCK {
                try await registration.wait(.write, after: edges, deadline: deadlineNs, operation: "write")
            } else if e != EINTR {
                throw NetworkError.fromErrno("send", e)
            }
        }
    }

    // MARK: Closing

    /// Half-closes: no more writes from this side (TLS sends close_notify first); reads go on.
    nonisolated(nonsending) public func shutdownWrite() async throws {
        if isTLS {
            tls.withLock { $0!.shutdown() }
            try await flushTLS(deadline: deadline(after: .seconds(5)))
        }
        let (rc, _, e) = try registration.perform(.write) { Glibc.shutdown($0, Int32(SHUT_WR)) }
        if rc != 0 { throw NetworkError.fromErrno("shutdown", e) }
    }

    /// Closes the socket. Pending operations fail with `NetworkError.closed`. Idempotent.
    public func close() { registration.close() }

    /// Closes with a TCP reset (SO_LINGER 0), discarding unsent data.
    public func abort() { registration.close(abort: true) }

    public var isClosed: Bool { registration.isClosed }
}
