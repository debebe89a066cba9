import Reactor
import Synchronization

/// Keep-alive connections per endpoint (host, port, TLS), reused LIFO so warm connections
/// stay warm and surplus ones age out on the server side.
final class ConnectionPool: Sendable {
    struct Key: Hashable, Sendable {
        var host: String
        var port: Int
        var secure: Bool
    }

    private let idle = Mutex<[Key: [HTTPClientConnection]]>([:])
    private let closed = Mutex(false)
    let maxIdlePerKey: Int
    let tls: TLSConfiguration?
    let connectTimeout: Duration
    let ioTimeout: Duration

    init(maxIdlePerKey: Int, tls: TLSConfiguration?, connectTimeout: Duration, ioTimeout: Duration) {
        self.maxIdlePerKey = maxIdlePerKey
        self.tls = tls
        self.connectTimeout = connectTimeout
        self.ioTimeout = ioTimeout
    }

    /// An idle connection for `key`, or a new one. An idle one the server said anything on
    /// meanwhile (its end of stream, or bytes) is dropped here, rather than found out by the
    /// request sent on it.
    func acquire(_ key: Key) async throws -> HTTPClientConnection {
        while let reused = idle.withLock({ $0[key]?.popLast() }) {
            if reused.connection.isClosed { continue }
            if await reused.receivedWhileIdle() {
                reused.close()
                continue
            }
            return reused
        }
        let tlsConfig: TLSConfiguration? = key.secure ? (tls ?? .client()) : nil
        let connection = try await Connection.connect(host: key.host, port: key.port, tls: tlsConfig,
                                                      serverName: key.secure ? key.host : nil, timeout: connectTimeout)
        return HTTPClientConnection(connection: connection, key: key, ioTimeout: ioTimeout)
    }

    /// Returns `c` for reuse when its last response ended cleanly, else closes it.
    func release(_ c: HTTPClientConnection) {
        guard c.reusable, c.isIdle, !c.connection.isClosed, !closed.withLock({ $0 }) else {
            c.close()
            return
        }
        let kept = idle.withLock { pool -> Bool in
            var list = pool[c.key, default: []]
            guard list.count < maxIdlePerKey else { return false }
            list.append(c)
            pool[c.key] = list
            return true
        }
        if !kept { c.close() }
    }

    /// The idle connections kept for `key` (for tests).
    func idleConnections(for key: Key) -> [HTTPClientConnection] { idle.withLock { $0[key] ?? [] } }

    func shutdown() {
        closed.withLock { $0 = true }
        let all = idle.withLock { pool -> [HTTPClientConnection] in
            let all = pool.values.flatMap { $0 }
            pool.removeAll()
            return all
        }
        for c in all { c.close() }
    }
}
