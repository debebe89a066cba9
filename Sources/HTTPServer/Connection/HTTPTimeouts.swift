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
    /// After the last response of a connection that closes (the server's FIN sent), how long the
    /// server keeps reading what the client still sends before it closes anyway. Reading on a bit
    /// keeps request bytes in flight from turning the close into a reset that destroys the
    /// response; bounding it keeps a client that never closes from holding the connection (it was
    /// held for ever). The reader notices within its 5 s re-check of a served connection.
    public var linger: Duration = .seconds(2)

    public init() {}
    public init(header: Duration, idle: Duration, bodyProgress: Duration, writeStall: Duration) {
        self.header = header
        self.idle = idle
        self.bodyProgress = bodyProgress
        self.writeStall = writeStall
    }
}
