/// Connection timeouts, all on by default (Hummingbird's were off by default: its issue #503).
public struct HTTPTimeouts: Sendable, Equatable {
    /// From accept, or from the first byte of a later request, until its head is complete: what
    /// stops slowloris (a header byte now and then keeps a connection open forever otherwise).
    public var header: Duration = .seconds(10)
    /// Between requests on a keep-alive connection.
    public var idle: Duration = .seconds(60)
    /// Longest wait for the next bytes of a request body the handler is reading.
    public var bodyProgress: Duration = .seconds(30)
    /// Longest a single write may wait for the client to accept bytes (slow-read attacks).
    public var writeStall: Duration = .seconds(30)

    public init() {}
    public init(header: Duration, idle: Duration, bodyProgress: Duration, writeStall: Duration) {
        self.header = header
        self.idle = idle
        self.bodyProgress = bodyProgress
        self.writeStall = writeStall
    }
}
