import HTTPServer
import VideoCore

/// Which requests spend which budget, and whose.
extension APIHandlers {
    /// Submissions (`POST /jobs`, tus creation `POST /uploads`) spend the submit budget; reads of
    /// videos, progress streams and the API document the read budget. Operations endpoints
    /// (`/healthz`, `/readyz`, `/metrics`), media (a player fetches many segments) and the web
    /// page are not limited.
    static func rateLimit(for route: APIRoute) -> RateLimiter.Limit? {
        if route.handler == .submitJob || (route.method == "POST" && route.path == "/uploads") { return .submit }
        switch route.handler {
        case .listVideos, .getVideo, .progressOne, .progressAll, .openAPI: return .read
        default: return nil
        }
    }

    func rateLimit(route: APIRoute, request: HTTPRequest) async -> RateLimiter.Verdict? {
        guard rateLimiter.isEnabled, let limit = Self.rateLimit(for: route) else { return nil }
        let client = ClientAddress.resolve(peer: ClientAddress.peer(request.remoteAddress),
                                           forwardedFor: request.headers.values("X-Forwarded-For"),
                                           trustedProxies: context.configuration.trustedProxies)
        let partition = RateLimiter.partition(token: authorization.presentedToken(request.headers["Authorization"]), client: client)
        return await rateLimiter.check(limit, partition: partition)
    }
}

/// A 429: the request was over its budget.
struct RateLimited: Error {
    var fields: RateLimitFields

    var error: APIError {
        APIError(.rateLimited, "too many requests: retry in \(fields.retryAfter ?? "1") s (\(fields.policy))")
    }
}
