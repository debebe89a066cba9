import HTTPServer
import Testing

@Suite struct RouterTests {
    func request(_ method: HTTPMethod, _ target: String, headers: HTTPFields = ["Host": "h"]) -> HTTPRequest {
        HTTPRequest(head: HTTPRequestHead(method: method, target: target, headers: headers))
    }

    func makeRouter() -> Router {
        var router = Router()
        router.get("/videos") { _ in .text("list") }
        router.get("/videos/:id") { r in .text("video \(r.parameters["id"]!)") }
        router.delete("/videos/:id") { r in .text("deleted \(r.parameters["id"]!)") }
        router.get("/videos/:id/renditions/:rung") { r in .text("\(r.parameters["id"]!)@\(r.parameters["rung"]!)") }
        router.get("/static/*path") { r in .text("file \(r.parameters["path"]!)") }
        return router
    }

    func text(_ r: HTTPResponse) -> String {
        String(decoding: r.body.inMemoryBytes ?? [], as: UTF8.self)
    }

    @Test(arguments: [
        (HTTPMethod.get, "/videos", 200, "list"),
        (.get, "/videos/", 200, "list"),
        (.get, "/videos/42", 200, "video 42"),
        (.get, "/videos/a%20b?x=1", 200, "video a b"),
        (.delete, "/videos/42", 200, "deleted 42"),
        (.get, "/videos/7/renditions/720p", 200, "7@720p"),
        (.get, "/static/css/site.css", 200, "file css/site.css"),
        (.head, "/videos/42", 200, "video 42"),
        (.get, "/nothing", 404, "404 Not Found\n"),
        (.get, "/videos/7/renditions", 404, "404 Not Found\n"),
    ])
    func routes(method: HTTPMethod, target: String, status: Int, expected: String) async throws {
        let r = try await makeRouter().respond(to: request(method, target))
        #expect(r.status.code == status)
        #expect(text(r) == expected)
    }

    @Test func methodNotAllowedListsAllowedMethods() async throws {
        let r = try await makeRouter().respond(to: request(.post, "/videos/1"))
        #expect(r.status == .methodNotAllowed)
        #expect(r.headers["Allow"] == "GET, DELETE, HEAD")
    }

    @Test func streamedRoutesGetTheStreamedBodyLimit() {
        var router = Router()
        router.put("/up", body: .streamed) { _ in .text("") }
        router.post("/small") { _ in .text("") }
        #expect(router.bodyLimit(for: HTTPRequestHead(method: .put, target: "/up")) == .streamed)
        #expect(router.bodyLimit(for: HTTPRequestHead(method: .post, target: "/small")) == .collected)
    }

    @Test func metricsAndCORSMiddleware() async throws {
        var router = makeRouter()
        let metrics = MetricsMiddleware()
        router.use(metrics)
        router.use(CORSMiddleware(allowedOrigins: ["https://app.example"]))
        let preflight = try await router.respond(to: request(.options, "/videos/1", headers: [
            "Host": "h", "Origin": "https://app.example", "Access-Control-Request-Method": "DELETE"]))
        #expect(preflight.status == .noContent)
        #expect(preflight.headers["Access-Control-Allow-Origin"] == "https://app.example")
        #expect(preflight.headers["Access-Control-Allow-Methods"]?.contains("DELETE") == true)
        let simple = try await router.respond(to: request(.get, "/videos", headers: ["Host": "h", "Origin": "https://app.example"]))
        #expect(simple.headers["Access-Control-Allow-Origin"] == "https://app.example")
        let foreign = try await router.respond(to: request(.get, "/videos", headers: ["Host": "h", "Origin": "https://evil.example"]))
        #expect(foreign.headers["Access-Control-Allow-Origin"] == nil)
        #expect(metrics.snapshot.requests == 3)
        #expect(metrics.snapshot.byStatusClass[2] == 3)
        #expect(metrics.prometheusText().contains("http_requests_total{status=\"2xx\"} 3"))
    }

    @Test func jsonHelpers() async throws {
        struct Item: Codable, Equatable { var name: String; var n: Int }
        var router = Router()
        router.post("/items") { r in try .json(try await r.decodeJSON(Item.self), status: .created) }
        var req = request(.post, "/items")
        req.body = .bytes(Array(#"{"name":"a","n":2}"#.utf8))
        let ok = try await router.respond(to: req)
        #expect(ok.status == .created)
        #expect(ok.headers["Content-Type"] == "application/json")
        req.body = .bytes(Array("{nope".utf8))
        await #expect(throws: HTTPError.self) { _ = try await router.respond(to: req) }
    }
}
