import VideoCore
import HTTPServer

/// `/healthz`, `/readyz` and `/metrics` for a process that runs no API: `vidd worker` with
/// `VIDD_HEALTH_LISTEN` set, so that an orchestrator can probe a worker's liveness (its event
/// loop answers) and Prometheus can scrape its job counters. Nothing else is served there.
public final class HealthService: Sendable {
    /// The routes a health listener answers.
    public static let routes = APIRoutes.all.filter { [.healthz, .readyz, .metrics].contains($0.handler) }

    let server: HTTPServer

    public var port: Int { server.port }

    private init(server: HTTPServer) { self.server = server }

    public static func start(context: ServiceContext, version: String,
                             address: Configuration.ListenAddress) async throws -> HealthService {
        ServiceMetrics.registerAll(in: context.metrics)
        let handlers = APIHandlers(context: context, version: version, options: APIService.Options())
        let responder = APIResponder(handlers: handlers, routes: routes, servesWebPage: false)
        let server = try await HTTPServer.start(HTTPServer.Configuration(host: address.host, port: address.port), responder: responder)
        context.logger.info("health endpoints listening", ["address": "\(address.host):\(server.port)"])
        return HealthService(server: server)
    }

    public func shutdown() async {
        await server.shutdown(gracePeriod: .seconds(1))
    }
}
