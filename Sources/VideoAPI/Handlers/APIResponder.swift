import VideoCore
import HTTPServer

/// Dispatches on `APIRoutes` (the table `/openapi.json` is built from, so what is served and
/// what is documented cannot drift), checks bearer tokens on mutating routes, turns every failure
/// into `{"error":{"code","message"}}`, and counts requests and durations by route.
struct APIResponder: HTTPResponder {
    let handlers: APIHandlers
    /// What this listener serves: every route and the web app, or only the operations routes
    /// (`HealthService`, a worker's health port).
    var routes: [APIRoute] = APIRoutes.all
    var servesWebPage = true

    /// Uploads are read from the socket as the handler consumes them (no size limit beyond
    /// storage); every other body is collected, under the server's collected-body limit.
    func bodyLimit(for head: HTTPRequestHead) -> HTTPBodyLimitKind {
        let method = Self.method(head.method.rawValue, path: head.path, headers: head.headers)
        if case .found(let route, _) = APIRoutes.match(method: method, path: String(head.path)),
           [.submitJob, .tusCreate, .tusAppend].contains(route.handler) {
            return .streamed
        }
        return .collected
    }

    /// What HTTPServer refuses itself (a malformed head, a request-target or header section over
    /// its limit, a stalled body, the connection limit) is the JSON error body too, with the code
    /// of its status.
    func refusal(_ status: HTTPStatus, message: String) -> HTTPResponse {
        let code = APIError.Code.allCases.first { $0.status == status.code } ?? (status.code >= 500 ? .internalError : .badRequest)
        var response = APIResponse.error(APIError(code, message))
        response.status = status
        return response
    }

    /// The method a request means: tus's X-HTTP-Method-Override counts on the tus endpoint only.
    static func method(_ method: String, path: some StringProtocol, headers: HTTPFields) -> String {
        TusProtocol.isTusPath(path) ? TusProtocol.effectiveMethod(method, headers: headers) : method
    }

    func respond(to request: HTTPRequest) async throws -> HTTPResponse {
        let start = ContinuousClock.now
        let path = String(request.path)
        let method = Self.method(request.method.rawValue, path: path, headers: request.headers)
        var routeLabel = "unmatched"
        var videoID: String?
        var response: HTTPResponse
        // Sent on every answer of a limited route, errors included (the draft allows any status).
        var limitFields: RateLimitFields?
        do {
            if servesWebPage, request.method == .get || request.method == .head, let file = handlers.webApp.file(forPath: path) {
                routeLabel = "webapp"
                response = handlers.webApp.respond(to: request, file: file)
            } else {
                switch APIRoutes.match(method: method, path: path, routes: routes) {
                case .found(let route, let parameters):
                    routeLabel = route.path
                    videoID = parameters["id"]
                    switch await handlers.rateLimit(route: route, request: request) {
                    case .denied(let fields)?: throw RateLimited(fields: fields)
                    case .allowed(let fields)?: limitFields = fields
                    case .failedOpen?, nil: break
                    }
                    if let refusal = handlers.authorization.check(route: route, authorization: request.headers["Authorization"]) {
                        throw refusal
                    }
                    response = try await handlers.handle(route.handler, request, parameters)
                case .methodNotAllowed(let allowed):
                    var allow = allowed
                    if allow.contains("GET") && !allow.contains("HEAD") { allow.append("HEAD") }
                    response = APIResponse.error(APIError(.methodNotAllowed, "\(method) is not allowed on \(Self.shown(path)); allowed: \(allow.joined(separator: ", "))"))
                    response.headers["Allow"] = allow.joined(separator: ", ")
                case .notFound:
                    throw APIError(.notFound, "no route for \(method) \(Self.shown(path))")
                }
            }
        } catch is CancellationError {
            throw CancellationError()  // the client is gone: nobody to answer
        } catch where Task.isCancelled {
            // Likewise, though a backend said it its own way (PostgreSQL's "query cancelled", a
            // Redis reply abandoned): the client's departure, not a failure to log as a bug.
            throw CancellationError()
        } catch {
            response = handlers.errorResponse(error, route: routeLabel, method: method, videoID: videoID)
        }
        if TusProtocol.isTusPath(path) { TusProtocol.decorate(&response, method: method) }
        for (name, value) in limitFields?.pairs ?? [] { response.headers[name] = value }
        let elapsed = ContinuousClock.now - start
        let seconds = elapsed.fractionalSeconds
        let metrics = handlers.context.metrics
        // Label values stay few: route templates, known methods.
        let methodLabel = Self.knownMethods.contains(method) ? method : "other"
        metrics.increment(ServiceMetrics.httpRequests, labels: [
            ("method", methodLabel), ("route", routeLabel), ("status", String(response.status.code)),
        ])
        metrics.observe(ServiceMetrics.httpDuration, seconds, labels: [("method", methodLabel), ("route", routeLabel)])
        handlers.context.logger.debug("request", [
            "method": method, "path": Self.shown(path), "status": String(response.status.code),
            "seconds": String(seconds),
        ])
        return response
    }

    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    static func shown(_ path: String) -> String { RequestText.shown(path, limit: 200) }
}

/// Responses the handlers build.
enum APIResponse {
    static func json(_ value: JSONValue, status: Int = 200, headers: HTTPFields = [:]) -> HTTPResponse {
        json(bytes: value.bytes, status: status, headers: headers)
    }

    static func json(text: String, status: Int = 200, headers: HTTPFields = [:]) -> HTTPResponse {
        json(bytes: Array(text.utf8), status: status, headers: headers)
    }

    static func json(bytes: [UInt8], status: Int, headers: HTTPFields) -> HTTPResponse {
        var fields = headers
        fields["Content-Type"] = "application/json"
        fields["Cache-Control"] = "no-store"
        // 460 is tus's own status; HTTP has no phrase for it.
        let reason = status == APIError.Code.checksumMismatch.status ? "Checksum Mismatch" : nil
        return HTTPResponse(status: HTTPStatus(code: status, reason: reason), headers: fields, body: .bytes(bytes))
    }

    static func error(_ error: APIError) -> HTTPResponse {
        var headers: HTTPFields = [:]
        for (name, value) in error.headers { headers[name] = value }
        return json(text: error.jsonBody, status: error.status, headers: headers)
    }
}
