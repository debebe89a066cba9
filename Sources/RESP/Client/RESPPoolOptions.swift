/// Limits of a `RESPClient`'s connection pool.
public struct RESPPoolOptions: Sendable, Hashable {
    /// Connections open at most (leased + idle).
    public var maxConnections: Int
    /// Callers allowed to wait for a connection when all are leased; more get `poolExhausted`.
    public var maxWaiters: Int
    /// How long a caller waits for a connection (including reconnect attempts) before `poolTimeout`.
    public var waitTimeout: Duration
    /// An idle connection unused for longer than this is checked with PING before it is handed out.
    public var healthCheckAfterIdle: Duration
    /// Delays between connection attempts while the server is unreachable.
    public var reconnectBackoff: RESPBackoff

    public init(maxConnections: Int = 8, maxWaiters: Int = 1024, waitTimeout: Duration = .seconds(10),
                healthCheckAfterIdle: Duration = .seconds(30), reconnectBackoff: RESPBackoff = RESPBackoff()) {
        self.maxConnections = maxConnections
        self.maxWaiters = maxWaiters
        self.waitTimeout = waitTimeout
        self.healthCheckAfterIdle = healthCheckAfterIdle
        self.reconnectBackoff = reconnectBackoff
    }
}
