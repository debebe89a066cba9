import Reactor

/// One keep-alive HTTP/1.1 connection to an endpoint: the thin layer that feeds socket bytes to
/// `HTTPResponseParser`.
///
/// `@unchecked Sendable`: a connection is owned by exactly one task at a time — the pool hands
/// it out under its lock and takes it back only when that task releases it — so its mutable
/// parser state is never touched concurrently.
final class HTTPClientConnection: @unchecked Sendable {
    let connection: Connection
    let key: ConnectionPool.Key
    let ioTimeout: Duration
    private var parser = HTTPResponseParser()
    private var readBuffer = ByteBuffer(capacity: 64 * 1024)
    /// False once anything makes the framing or the peer's state uncertain.
    var reusable = true
    /// Requests sent on this connection (0 = fresh, so an early failure is not a stale socket).
    var requestCount = 0

    init(connection: Connection, key: ConnectionPool.Key, ioTimeout: Duration) {
        self.connection = connection
        self.key = key
        self.ioTimeout = ioTimeout
    }

    var isIdle: Bool { parser.isIdle }

    func write(_ bytes: [UInt8]) async throws {
        do {
            try await connection.write(bytes, timeout: ioTimeout)
        } catch {
            reusable = false
            throw error
        }
    }

    func beginResponse(toMethod method: String) {
        requestCount += 1
        parser.expectResponse(toMethod: method)
    }

    /// The next response part. With `waitAtMost`, returns nil if nothing arrived in that time
    /// (used to wait for `100 Continue` without hanging on servers that never send it).
    func nextPart(waitAtMost: Duration? = nil) async throws -> HTTPResponsePart? {
        do {
            while true {
                if let part = try parser.next() {
                    if case .end(let ok) = part, !ok { reusable = false }
                    return part
                }
                readBuffer.clear()
                do {
                    try await connection.read(into: &readBuffer, timeout: waitAtMost ?? ioTimeout)
                } catch NetworkError.endOfStream {
                    reusable = false
                    // Closed before a byte of the response: that is the socket's end of stream
                    // (what a keep-alive connection the server dropped looks like, see
                    // `StaleConnection`), not a response cut short.
                    if !parser.isIdle && !parser.responseStarted { throw NetworkError.endOfStream }
                    if let part = try parser.endOfInput() { return part }
                    throw NetworkError.endOfStream
                } catch NetworkError.timedOut(let op) where waitAtMost != nil {
                    _ = op
                    return nil
                }
                parser.feed(readBuffer.readableBytesView)
            }
        } catch {
            reusable = false
            throw error
        }
    }

    /// Whether the server sent anything while no response was expected — its end of stream, an
    /// error, or bytes (a `408` some servers send before closing an idle connection): then the
    /// connection cannot carry another request. Reads only when the event loop signalled input
    /// since the last read (nobody reads an idle connection), so usually without a syscall.
    func receivedWhileIdle() async -> Bool {
        guard connection.hasReadEdgeSinceLastRead else { return false }
        readBuffer.clear()
        do {
            try await connection.read(into: &readBuffer, timeout: .zero)
            reusable = false
            return true
        } catch NetworkError.timedOut {
            return false   // a repeated edge for bytes already read: nothing there
        } catch {
            reusable = false
            return true
        }
    }

    func close() { connection.close() }
}
