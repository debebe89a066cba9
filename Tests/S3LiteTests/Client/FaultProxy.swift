import Reactor
import Synchronization

/// A loopback TCP proxy in front of the S3 server that injects faults: for each incoming
/// connection it reads the request head and, as `decide` says, forwards the connection, answers
/// `503 SlowDown` itself, or resets the connection. Clients under test disable keep-alive
/// pooling so that every request is a new connection and meets a decision.
final class FaultProxy: Sendable {
    enum Fault: Sendable, Hashable { case pass, slowDown, drop }

    let listener: Listener
    let upstreamHost: String
    let upstreamPort: Int
    let decide: @Sendable (_ index: Int, _ method: String, _ target: String) -> Fault
    private let counter = Atomic<Int>(0)
    private let tally = Mutex<[Fault: Int]>([:])

    private init(listener: Listener, upstreamHost: String, upstreamPort: Int,
                 decide: @escaping @Sendable (Int, String, String) -> Fault) {
        self.listener = listener
        self.upstreamHost = upstreamHost
        self.upstreamPort = upstreamPort
        self.decide = decide
    }

    /// Starts a proxy to `upstream` (`http://host:port`); with `tls`, it terminates TLS (so
    /// clients can be tested over TLS against the plain-HTTP test server).
    static func start(upstream: String, tls: TLSConfiguration? = nil,
                      decide: @escaping @Sendable (Int, String, String) -> Fault) async throws -> FaultProxy {
        let hostPort = upstream.dropFirst("http://".count).split(separator: ":")
        let listener = try await Listener.bind(host: "127.0.0.1", port: 0, tls: tls)
        let proxy = FaultProxy(listener: listener, upstreamHost: String(hostPort[0]), upstreamPort: Int(hostPort[1])!, decide: decide)
        Task(executorPreference: EventLoop.shared) { await proxy.acceptLoop() }
        return proxy
    }

    var endpoint: String { "http://127.0.0.1:\(listener.port)" }
    func count(_ fault: Fault) -> Int { tally.withLock { $0[fault, default: 0] } }
    func stop() { listener.close() }

    private func acceptLoop() async {
        while let client = try? await listener.accept() {
            Task(executorPreference: EventLoop.shared) { await self.handle(client) }
        }
    }

    private func handle(_ client: Connection) async {
        var buffer = ByteBuffer(capacity: 16 * 1024)
        // Read the request head.
        var headEnd: Int?
        while headEnd == nil {
            do { try await client.read(into: &buffer, timeout: .seconds(10)) } catch { client.close(); return }
            let bytes = Array(buffer.readableBytesView)
            headEnd = bytes.indices.dropLast(3).first { bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 && bytes[$0 + 3] == 10 }
            if buffer.readableBytes > 64 * 1024 { client.close(); return }
        }
        let line = Array(buffer.readableBytesView).split(separator: 13).first.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let parts = line.split(separator: " ")
        let fault = decide(counter.add(1, ordering: .relaxed).oldValue, parts.count > 1 ? String(parts[0]) : "",
                           parts.count > 1 ? String(parts[1]) : "")
        tally.withLock { $0[fault, default: 0] += 1 }
        switch fault {
        case .drop:
            client.abort()
        case .slowDown:
            let body = "<Error><Code>SlowDown</Code><Message>injected by FaultProxy</Message><RequestId>fault</RequestId></Error>"
            let response = "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
            try? await client.write(Array(response.utf8))
            try? await client.shutdownWrite()
            // Let the client read the answer before the socket goes away.
            try? await EventLoop.shared.sleep(for: .milliseconds(200))
            client.close()
        case .pass:
            guard let upstream = try? await Connection.connect(host: upstreamHost, port: upstreamPort) else { client.abort(); return }
            do { try await upstream.write(buffer) } catch { client.close(); upstream.close(); return }
            await withTaskGroup(of: Void.self) { group in
                group.addTask(executorPreference: EventLoop.shared) { await Self.pipe(from: client, to: upstream) }
                group.addTask(executorPreference: EventLoop.shared) { await Self.pipe(from: upstream, to: client) }
                await group.next()
                client.close()
                upstream.close()
                await group.next()
            }
        }
    }

    private static func pipe(from a: Connection, to b: Connection) async {
        var buffer = ByteBuffer(capacity: 64 * 1024)
        while true {
            buffer.clear()
            do {
                try await a.read(into: &buffer, timeout: .seconds(30))
                try await b.write(buffer)
            } catch {
                return
            }
        }
    }
}
