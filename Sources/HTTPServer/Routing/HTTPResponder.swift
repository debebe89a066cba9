/// What the server calls for each request. A `Router` is one; any type can be.
public protocol HTTPResponder: Sendable {
    func respond(to request: HTTPRequest) async throws -> HTTPResponse
    /// Which body limit applies to this request (asked once the head is parsed, before any body
    /// byte is read). Default: collected.
    func bodyLimit(for head: HTTPRequestHead) -> HTTPBodyLimitKind
}

extension HTTPResponder {
    public func bodyLimit(for head: HTTPRequestHead) -> HTTPBodyLimitKind { .collected }
}

/// A responder from a closure.
public struct HTTPHandlerResponder: HTTPResponder {
    let handler: @Sendable (HTTPRequest) async throws -> HTTPResponse
    let limit: HTTPBodyLimitKind
    public init(bodyLimit: HTTPBodyLimitKind = .collected, _ handler: @escaping @Sendable (HTTPRequest) async throws -> HTTPResponse) {
        self.handler = handler
        self.limit = bodyLimit
    }
    public func respond(to request: HTTPRequest) async throws -> HTTPResponse { try await handler(request) }
    public func bodyLimit(for head: HTTPRequestHead) -> HTTPBodyLimitKind { limit }
}

/// Wraps request handling: logging, metrics, CORS, authentication…
public protocol HTTPMiddleware: Sendable {
    func handle(_ request: HTTPRequest, next: @Sendable (HTTPRequest) async throws -> HTTPResponse) async throws -> HTTPResponse
}
