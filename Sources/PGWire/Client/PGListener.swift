import Reactor
import Synchronization

/// LISTEN/NOTIFY on a dedicated connection that reconnects and re-LISTENs after the connection
/// or the server goes away. Notifications sent while it was disconnected are lost (PostgreSQL
/// does not queue them for absent listeners).
public final class PGListener: Sendable {
    public let notifications: AsyncStream<PGNotification>
    let continuation: AsyncStream<PGNotification>.Continuation
    let configuration: PGConfiguration
    let channels: Mutex<[String]>
    let task = Mutex<Task<Void, Never>?>(nil)
    let connection = Mutex<PGConnection?>(nil)
    let generation = Atomic<Int>(0)
    let lastError = Mutex<PGError?>(nil)
    let reconnectDelay: Duration

    /// Starts listening on `channels` (the names are quoted as identifiers).
    public init(configuration: PGConfiguration, channels: [String], reconnectDelay: Duration = .milliseconds(200)) {
        (notifications, continuation) = AsyncStream.makeStream(of: PGNotification.self, bufferingPolicy: .bufferingNewest(100_000))
        self.configuration = configuration
        self.channels = Mutex(channels)
        self.reconnectDelay = reconnectDelay
        let t = Task(executorPreference: EventLoop.shared) { [self] in await run() }
        task.withLock { $0 = t }
        continuation.onTermination = { [weak self] _ in self?.stop() }
    }

    /// How many times LISTEN succeeded (1 after the first connect, +1 per reconnect).
    public var listenCount: Int { generation.load(ordering: .acquiring) }
    /// Why the last connection attempt or session ended.
    public var lastFailure: PGError? { lastError.withLock { $0 } }

    /// Adds a channel; LISTENs at once if connected (and on every reconnect).
    public func listen(_ channel: String) async throws {
        channels.withLock { $0.append(channel) }
        if let c = connection.withLock({ $0 }) {
            // Written beside the reader loop; its answer is read (and ignored) there.
            var e = FrontendMessageEncoder()
            e.query("LISTEN \(quoteIdentifier(channel))")
            // Straight to the socket: the session state belongs to the reader loop.
            do { try await c.socket.write(e.bytes) } catch {
                c.socket.close()  // the reader loop fails and reconnects, re-LISTENing
                throw PGConnection.map(error)
            }
        }
    }

    public func stop() {
        task.withLock { $0?.cancel() }
        connection.withLock { $0?.socket.close() }
        continuation.finish()
    }

    private func run() async {
        var delay = reconnectDelay
        while !Task.isCancelled {
            do {
                let c = try await PGConnection.connect(configuration)
                connection.withLock { $0 = c }
                let cont = continuation
                c.setNotificationHandler { cont.yield($0) }
                let names = channels.withLock { $0 }
                try await c.simpleQuery(names.map { "LISTEN \(quoteIdentifier($0))" }.joined(separator: ";"))
                generation.add(1, ordering: .releasing)
                delay = reconnectDelay
                try await c.waitForNotifications()
            } catch {
                lastError.withLock { $0 = PGConnection.map(error) }
            }
            connection.withLock { $0?.socket.close(); $0 = nil }
            if Task.isCancelled { break }
            try? await EventLoop.shared.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
    }
}

extension PGConnection {
    /// Holds the session and reads until it fails, delivering notifications to the handler.
    /// Ends (throwing) when the connection breaks or the task is cancelled.
    nonisolated(nonsending) func waitForNotifications() async throws {
        let id = try await begin(timeout: nil)
        defer { if active?.id == id { end() } }
        while true {
            do {
                // Answers to LISTENs written by PGListener.listen are not a request's: skip them.
                while let m = try nextBuffered() {
                    if case .errorResponse(let e) = m { shared.withLock { $0.noticeHandler }?(e) }
                }
                try await fill()
            } catch let e as PGError {
                throw fail(e)
            } catch {
                throw fail(Self.map(error))
            }
        }
    }
}
