/// Routes requests by method and path pattern: literal segments, `:name` parameters (one segment)
/// and a final `*name` (the rest of the path). A path that matches with another method gets 405 with
/// `Allow`; HEAD is answered by the GET route (the server drops the body). Middleware wraps every
/// route in the order added (the first added is outermost).
public struct Router: HTTPResponder {
    public typealias Handler = @Sendable (HTTPRequest) async throws -> HTTPResponse

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
        case rest(String)
    }

    struct Route: Sendable {
        var method: HTTPMethod
        var segments: [Segment]
        var bodyLimit: HTTPBodyLimitKind
        var handler: Handler
    }

    var routes: [Route] = []
    var middleware: [any HTTPMiddleware] = []

    public init() {}

    public mutating func add(_ method: HTTPMethod, _ pattern: String, body: HTTPBodyLimitKind = .collected, _ handler: @escaping Handler) {
        let segments: [Segment] = pattern.split(separator: "/").map { s in
            if s.hasPrefix(":") { return .parameter(String(s.dropFirst())) }
            if s.hasPrefix("*") { return .rest(String(s.dropFirst())) }
            return .literal(String(s))
        }
        routes.append(Route(method: method, segments: segments, bodyLimit: body, handler: handler))
    }

    public mutating func get(_ pattern: String, _ handler: @escaping Handler) { add(.get, pattern, handler) }
    public mutating func post(_ pattern: String, body: HTTPBodyLimitKind = .collected, _ handler: @escaping Handler) { add(.post, pattern, body: body, handler) }
    public mutating func put(_ pattern: String, body: HTTPBodyLimitKind = .collected, _ handler: @escaping Handler) { add(.put, pattern, body: body, handler) }
    public mutating func patch(_ pattern: String, _ handler: @escaping Handler) { add(.patch, pattern, handler) }
    public mutating func delete(_ pattern: String, _ handler: @escaping Handler) { add(.delete, pattern, handler) }

    public mutating func use(_ m: any HTTPMiddleware) { middleware.append(m) }

    enum Match {
        case found(Route, [String: String])
        case methodNotAllowed([HTTPMethod])
        case notFound
    }

    func match(method: HTTPMethod, path: Substring) -> Match {
        let parts = path.split(separator: "/")
        var allowed: [HTTPMethod] = []
        var getMatch: (Route, [String: String])?
        for route in routes {
            guard let params = Router.match(route.segments, parts) else { continue }
            if route.method == method { return .found(route, params) }
            if method == .head, route.method == .get, getMatch == nil { getMatch = (route, params) }
            if !allowed.contains(route.method) { allowed.append(route.method) }
        }
        if let getMatch { return .found(getMatch.0, getMatch.1) }
        if allowed.isEmpty { return .notFound }
        if allowed.contains(.get), !allowed.contains(.head) { allowed.append(.head) }
        return .methodNotAllowed(allowed)
    }

    static func match(_ segments: [Segment], _ parts: [Substring]) -> [String: String]? {
        var params: [String: String] = [:]
        var i = 0
        for (k, segment) in segments.enumerated() {
            switch segment {
            case .literal(let l):
                guard i < parts.count, parts[i] == l else { return nil }
            case .parameter(let name):
                guard i < parts.count else { return nil }
                params[name] = SafePath.percentDecode(parts[i]).map { String(decoding: $0, as: UTF8.self) } ?? String(parts[i])
            case .rest(let name):
                guard k == segments.count - 1 else { return nil }
                params[name] = parts[i...].joined(separator: "/")
                return params
            }
            i += 1
        }
        return i == parts.count ? params : nil
    }

    public func bodyLimit(for head: HTTPRequestHead) -> HTTPBodyLimitKind {
        if case .found(let route, _) = match(method: head.method, path: head.path) { return route.bodyLimit }
        return .collected
    }

    public func respond(to request: HTTPRequest) async throws -> HTTPResponse {
        let endpoint: Handler = { request in
            switch match(method: request.method, path: request.path) {
            case .found(let route, let params):
                var request = request
                request.parameters = params
                return try await route.handler(request)
            case .methodNotAllowed(let allowed):
                var r = HTTPResponse.error(.methodNotAllowed)
                r.headers["Allow"] = allowed.map(\.rawValue).joined(separator: ", ")
                return r
            case .notFound:
                return .error(.notFound)
            }
        }
        let chain = middleware.reversed().reduce(endpoint) { next, m in
            { request in try await m.handle(request, next: next) }
        }
        return try await chain(request)
    }
}
