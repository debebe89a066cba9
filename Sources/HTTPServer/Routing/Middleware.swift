import Synchronization

/// Logs one line per request: method, target, status, duration (and failures).
public struct LoggingMiddleware: HTTPMiddleware {
    let log: @Sendable (String) -> Void
    public init(_ log: @escaping @Sendable (String) -> Void = { print($0) }) { self.log = log }

    public func handle(_ request: HTTPRequest, next: @Sendable (HTTPRequest) async throws -> HTTPResponse) async throws -> HTTPResponse {
        let start = ContinuousClock.now
        do {
            let response = try await next(request)
            log("\(request.remoteAddress ?? "-") \(request.method) \(request.head.target) \(response.status.code) \(ContinuousClock.now - start)")
            return response
        } catch {
            log("\(request.remoteAddress ?? "-") \(request.method) \(request.head.target) failed: \(error) \(ContinuousClock.now - start)")
            throw error
        }
    }
}

/// Counts requests by status class and measures handler time; `prometheusText` renders them.
public final class MetricsMiddleware: HTTPMiddleware {
    public struct Snapshot: Sendable, Equatable {
        public var requests = 0
        public var inFlight = 0
        public var byStatusClass: [Int: Int] = [:]  // 2 → 2xx count…
        public var failures = 0
        public var totalSeconds = 0.0
    }

    private let state = Mutex(Snapshot())
    public init() {}
    public var snapshot: Snapshot { state.withLock { $0 } }

    public func handle(_ request: HTTPRequest, next: @Sendable (HTTPRequest) async throws -> HTTPResponse) async throws -> HTTPResponse {
        let start = ContinuousClock.now
        state.withLock { $0.inFlight += 1 }
        do {
            let response = try await next(request)
            record(status: response.status.code, since: start)
            return response
        } catch {
            record(status: (error as? HTTPError)?.status.code, since: start)
            throw error
        }
    }

    private func record(status: Int?, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        state.withLock { s in
            s.inFlight -= 1
            s.requests += 1
            s.totalSeconds += seconds
            if let status { s.byStatusClass[status / 100, default: 0] += 1 } else { s.failures += 1 }
        }
    }

    public func prometheusText(prefix: String = "http") -> String {
        let s = snapshot
        var out = "# TYPE \(prefix)_requests_total counter\n"
        for (cls, n) in s.byStatusClass.sorted(by: { $0.key < $1.key }) {
            out += "\(prefix)_requests_total{status=\"\(cls)xx\"} \(n)\n"
        }
        out += "\(prefix)_requests_total{status=\"error\"} \(s.failures)\n"
        out += "# TYPE \(prefix)_requests_in_flight gauge\n\(prefix)_requests_in_flight \(s.inFlight)\n"
        out += "# TYPE \(prefix)_request_seconds_sum counter\n\(prefix)_request_seconds_sum \(s.totalSeconds)\n"
        return out
    }
}

/// CORS (Fetch standard): answers preflights (OPTIONS with Access-Control-Request-Method) with 204,
/// and adds Access-Control-Allow-Origin to responses for allowed origins.
public struct CORSMiddleware: HTTPMiddleware {
    public var allowedOrigins: [String]  // ["*"] for any
    public var allowedMethods: [HTTPMethod]
    public var allowedHeaders: [String]
    public var maxAge: Int

    public init(
        allowedOrigins: [String] = ["*"], allowedMethods: [HTTPMethod] = [.get, .head, .post, .put, .patch, .delete],
        allowedHeaders: [String] = ["Content-Type", "Authorization", "Last-Event-ID"], maxAge: Int = 600
    ) {
        self.allowedOrigins = allowedOrigins
        self.allowedMethods = allowedMethods
        self.allowedHeaders = allowedHeaders
        self.maxAge = maxAge
    }

    public func handle(_ request: HTTPRequest, next: @Sendable (HTTPRequest) async throws -> HTTPResponse) async throws -> HTTPResponse {
        guard let origin = request.headers["Origin"] else { return try await next(request) }
        let allowed = allowedOrigins.contains("*") || allowedOrigins.contains(origin)
        let allowOrigin = allowedOrigins.contains("*") ? "*" : origin
        if request.method == .options, request.headers.contains("Access-Control-Request-Method") {
            guard allowed else { return HTTPResponse(status: .forbidden) }
            return HTTPResponse(status: .noContent, headers: [
                "Access-Control-Allow-Origin": allowOrigin,
                "Access-Control-Allow-Methods": allowedMethods.map(\.rawValue).joined(separator: ", "),
                "Access-Control-Allow-Headers": allowedHeaders.joined(separator: ", "),
                "Access-Control-Max-Age": String(maxAge),
                "Vary": "Origin",
            ])
        }
        var response = try await next(request)
        if allowed {
            response.headers["Access-Control-Allow-Origin"] = allowOrigin
            response.headers["Vary"] = "Origin"
        }
        return response
    }
}
