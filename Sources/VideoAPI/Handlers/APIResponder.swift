import VideoCore
import HTTPServer

/// Dispatches on `APIRoutes` (the table `/openapi.json` is built from, so what is served and
/// what is documented cannot drift), checks bearer tokens on mutating routes, turns every failure
/// into `{"error":{"code","message"}}`, and counts requests and durations by route.
struct APIResponder: HTTPResponder {
    let handlers: APIHandlers

    /// Uploads are read from the socket as the handler consumes them (no size limit beyond
    /// storage); every other body is collected, under the server's collected-body limit.
    func bodyLimit(for head: HTTPRequestHead) -> HTTPBodyLimitKind {
        if case .found(let route, _) = APIRoutes.match(method: head.method.rawValue, path: String(head.path)), route.handler == .submitJob {
            return .streamed
        }
        return .collected
    }

    func respond(to request: HTTPRequest) async throws -> HTTPResponse {
        let start = ContinuousClock.now
        let path = String(request.path)
        var routeLabel = "unmatched"
        var videoID: String?
        var response: HTTPResponse
        do {
            if request.method == .get || request.method == .head, let file = handlers.webApp.file(forPath: path) {
                routeLabel = "webapp"
                response = handlers.webApp.respond(to: request, file: file)
            } else {
                switch APIRoutes.match(method: request.method.rawValue, path: path) {
                case .found(let route, let parameters):
                    routeLabel = route.path
                    videoID = parameters["id"]
                    if let refusal = handlers.authorization.check(route: route, authorization: request.headers["Authorization"]) {
                        throw refusal
                    }
                    response = try await handlers.handle(route.handler, request, parameters)
                case .methodNotAllowed(let allowed):
                    var allow = allowed
                    if allow.contains("GET") && !allow.contains("HEAD") { allow.append("HEAD") }
                    response = APIResponse.error(APIError(.methodNotAllowed, "\(request.method) is not allowed on \(Self.shown(path)); allowed: \(allow.joined(separator: ", "))"))
                    response.headers["Allow"] = allow.joined(separator: ", ")
                case .notFound:
                    throw APIError(.notFound, "no route for \(request.method) \(Self.shown(path))")
                }
            }
        } catch is CancellationError {
            throw CancellationError()  // the client is gone: nobody to answer
        } catch {
            response = handlers.errorResponse(error, route: routeLabel, method: request.method.rawValue, videoID: videoID)
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let metrics = handlers.context.metrics
        // Label values stay few: route templates, known methods.
        let method = Self.knownMethods.contains(request.method.rawValue) ? request.method.rawValue : "other"
        metrics.increment(ServiceMetrics.httpRequests, labels: [
            ("method", method), ("route", routeLabel), ("status", String(response.status.code)),
        ])
        metrics.observe(ServiceMetrics.httpDuration, seconds, labels: [("method", method), ("route", routeLabel)])
        handlers.context.logger.debug("request", [
            "method": request.method.rawValue, "path": Self.shown(path), "status": String(response.status.code),
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
        return HTTPResponse(status: HTTPStatus(code: status), headers: fields, body: .bytes(bytes))
    }

    static func error(_ error: APIError) -> HTTPResponse {
        var headers: HTTPFields = [:]
        for (name, value) in error.headers { headers[name] = value }
        return json(text: error.jsonBody, status: error.status, headers: headers)
    }
}
