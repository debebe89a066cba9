import Reactor

/// What a handler returns: a status, header fields and a body, which is either bytes already in
/// memory or a producer that writes the body as it is made (streaming; SSE; files).
public struct HTTPResponse: Sendable {
    public var status: HTTPStatus
    public var headers: HTTPFields
    public var body: HTTPResponseBody

    public init(status: HTTPStatus = .ok, headers: HTTPFields = [:], body: HTTPResponseBody = .empty) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A plain-text response (UTF-8).
    public static func text(_ text: String, status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: .bytes(Array(text.utf8)))
    }

    /// An error response whose body names the status, as the server sends for refused requests.
    public static func error(_ status: HTTPStatus, _ message: String? = nil) -> HTTPResponse {
        .text((message ?? status.description) + "\n", status: status)
    }
}

/// Writes the body of a streamed response. Each `write` goes to the socket before it returns (that
/// is the backpressure and, for event streams, the flush).
public struct HTTPBodyWriter: Sendable {
    let sink: @Sendable ([UInt8]) async throws -> Void
    /// Set by the server: the socket and the body's framing, so that a broadcast can write bytes it
    /// framed once for every subscriber straight to the socket (`EventBroadcaster`).
    let transport: Transport?

    struct Transport: Sendable {
        let connection: Connection
        /// Chunked transfer coding (HTTP/1.1); otherwise the body is delimited by the close.
        let chunked: Bool
        /// Writes bytes already framed, waiting for the socket as `write` does (with the write-stall timeout).
        let writeFramed: @Sendable ([UInt8]) async throws -> Void
    }

    public init(_ sink: @escaping @Sendable ([UInt8]) async throws -> Void) {
        self.sink = sink
        self.transport = nil
    }

    init(transport: Transport, _ sink: @escaping @Sendable ([UInt8]) async throws -> Void) {
        self.sink = sink
        self.transport = transport
    }
    public func write(_ bytes: [UInt8]) async throws {
        guard !bytes.isEmpty else { return }
        try await sink(bytes)
    }
    public func write(_ text: String) async throws { try await write(Array(text.utf8)) }
}

public struct HTTPResponseBody: Sendable {
    enum Storage: Sendable {
        case bytes([UInt8])
        case stream(length: Int?, @Sendable (HTTPBodyWriter) async throws -> Void)
    }
    let storage: Storage

    public static let empty = HTTPResponseBody(storage: .bytes([]))
    public static func bytes(_ bytes: [UInt8]) -> HTTPResponseBody { HTTPResponseBody(storage: .bytes(bytes)) }
    public static func string(_ s: String) -> HTTPResponseBody { .bytes(Array(s.utf8)) }
    /// A body written by `producer`. With `length`, sent with Content-Length (the producer must write
    /// exactly that many bytes, or the connection is closed); without, chunked (HTTP/1.1) or
    /// delimited by closing the connection (HTTP/1.0).
    public static func stream(length: Int? = nil, _ producer: @escaping @Sendable (HTTPBodyWriter) async throws -> Void) -> HTTPResponseBody {
        HTTPResponseBody(storage: .stream(length: length, producer))
    }

    /// The body when it is bytes in memory (nil for a stream).
    public var inMemoryBytes: [UInt8]? {
        if case .bytes(let b) = storage { return b }
        return nil
    }

    /// Length when known before sending.
    public var knownLength: Int? {
        switch storage {
        case .bytes(let b): b.count
        case .stream(let length, _): length
        }
    }
}
