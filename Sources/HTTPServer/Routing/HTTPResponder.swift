/// What the server calls for each request. A `Router` is one; any type can be.
public protocol HTTPResponder: Sendable {
    func respond(to request: HTTPRequest) async throws -> HTTPResponse
    /// Which body limit applies to this request (asked once the head is parsed, before any body
    /// byte is read). Default: collected.
    func bodyLimit(for head: HTTPRequestHead) -> HTTPBodyLimitKind
    /// The answer to a request the server refuses before (or instead of) a handler: a malformed
    /// head, a request-target or header section over its limit, a body that stalls, the
    /// connection limit. Default: `HTTPResponse.error` (text); an API answers in its own format.
    func refusal(_ status: HTTPStatus, message: String) -> HTTPResponse
}

extension HTTPResponder {
    public func bodyLimit(for head: HTTPRequestHead) -> HTTPBodyLimitKind { .collected }
    public func refusal(_ status: HTTPStatus, message: String) -> HTTPResponse { HTTPResponse.error(status, message) }
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
