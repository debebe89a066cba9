import FoundationEssentials
import Testing
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

@Suite struct RoutesTests {
    static let id = "0f8e3c9a-1111-4222-8333-444455556666"

    @Test func everyRouteOfTheIssueIsInTheTable() {
        let table = Set(APIRoutes.all.map { "\($0.method) \($0.path)" })
        #expect(table == [
            "POST /jobs", "GET /videos", "GET /videos/{id}", "PATCH /videos/{id}", "DELETE /videos/{id}", "POST /videos/{id}/retry",
            "GET /progress/{id}", "GET /progress", "GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.json",
            "GET /media/{id}/{path}",
            "OPTIONS /uploads", "POST /uploads", "HEAD /uploads/{id}", "PATCH /uploads/{id}", "DELETE /uploads/{id}", "OPTIONS /uploads/{id}",
            "POST /webhooks", "GET /webhooks", "GET /webhooks/{id}/deliveries", "DELETE /webhooks/{id}",
        ])
        #expect(APIRoutes.all.filter(\.mutating).map { "\($0.method) \($0.path)" }
                == ["POST /jobs", "PATCH /videos/{id}", "DELETE /videos/{id}", "POST /videos/{id}/retry", "POST /uploads", "PATCH /uploads/{id}", "DELETE /uploads/{id}",
                    "POST /webhooks", "DELETE /webhooks/{id}"])
        // Webhook endpoints expose URLs: their reads need a token too.
        #expect(APIRoutes.all.filter { $0.needsToken && !$0.mutating }.map { "\($0.method) \($0.path)" }
                == ["GET /webhooks", "GET /webhooks/{id}/deliveries"])
        #expect(Set(APIRoutes.all.map(\.handler)) == Set(APIRoute.Handler.allCases), "one handler per route")
    }

    @Test func matching() {
        func handler(_ method: String, _ path: String) -> APIRoute.Handler? {
            if case .found(let r, _) = APIRoutes.match(method: method, path: path) { return r.handler }
            return nil
        }
        #expect(handler("GET", "/videos") == .listVideos)
        #expect(handler("GET", "/videos/\(Self.id)") == .getVideo)
        #expect(handler("DELETE", "/videos/\(Self.id)") == .deleteVideo)
        #expect(handler("PATCH", "/videos/\(Self.id)") == .updateVideo)
        #expect(handler("POST", "/videos/\(Self.id)/retry") == .retryVideo)
        #expect(handler("GET", "/progress") == .progressAll)
        #expect(handler("GET", "/progress/\(Self.id)") == .progressOne)
        #expect(handler("HEAD", "/media/\(Self.id)/mp4/720p.mp4") == .media)
        #expect(APIRoutes.match(method: "GET", path: "/media/\(Self.id)/hls/720p/segment_00001.m4s")
                == .found(APIRoutes.all.first { $0.handler == .media }!, parameters: ["id": Self.id, "path": "hls/720p/segment_00001.m4s"]))
        #expect(APIRoutes.match(method: "GET", path: "/videos/a%20b") == .found(APIRoutes.all.first { $0.handler == .getVideo }!, parameters: ["id": "a b"]))
        #expect(APIRoutes.match(method: "PUT", path: "/videos/\(Self.id)") == .methodNotAllowed(allowed: ["GET", "PATCH", "DELETE"]))
        #expect(handler("PATCH", "/videos/\(Self.id)") == .updateVideo)
        #expect(handler("GET", "/webhooks/\(Self.id)/deliveries") == .webhookDeliveries)
        #expect(handler("DELETE", "/webhooks/\(Self.id)") == .deleteWebhook)
        #expect(APIRoutes.match(method: "GET", path: "/jobs") == .methodNotAllowed(allowed: ["POST"]))
        #expect(handler("POST", "/uploads") == .tusCreate)
        #expect(handler("HEAD", "/uploads/\(Self.id)") == .tusHead)
        #expect(handler("PATCH", "/uploads/\(Self.id)") == .tusAppend)
        #expect(handler("DELETE", "/uploads/\(Self.id)") == .tusTerminate)
        #expect(handler("OPTIONS", "/uploads") == .tusOptions)
        #expect(APIRoutes.match(method: "GET", path: "/uploads/\(Self.id)") == .methodNotAllowed(allowed: ["HEAD", "PATCH", "DELETE", "OPTIONS"]))
        for path in ["/", "/nope", "/videos/", "/videos/x/y", "/media/\(Self.id)", "/media/\(Self.id)/", "/media/\(Self.id)/a//b", "videos"] {
            #expect(APIRoutes.match(method: "GET", path: path) == .notFound, "\(path)")
        }
    }

    /// The document, decoded independently: every path and method in it is a route, and back.
    @Test func openAPIDocumentMatchesTheRoutes() throws {
        struct Document: Decodable {
            struct Operation: Decodable {
                struct Parameter: Decodable { var name: String; var `in`: String }
                var operationId: String
                var parameters: [Parameter]?
                var responses: [String: JSONAny]
                var security: [[String: [String]]]?
            }
            var openapi: String
            var paths: [String: [String: Operation]]
            var components: [String: [String: JSONAny]]
        }
        let text = OpenAPIDocument.make(version: "0.1.0").text
        let doc = try JSONDecoder().decode(Document.self, from: Data(text.utf8))
        #expect(doc.openapi == "3.1.0")
        var documented = Set<String>()
        for (path, operations) in doc.paths {
            for (method, op) in operations {
                documented.insert("\(method.uppercased()) \(path)")
                let route = try #require(APIRoutes.all.first { $0.path == path && $0.method == method.uppercased() })
                #expect(op.operationId == route.handler.rawValue)
                #expect(op.responses[String(route.successStatus)] != nil, "\(method) \(path) documents its success status")
                let pathParameters = (op.parameters ?? []).filter { $0.in == "path" }.map(\.name)
                #expect(pathParameters == route.parameterNames, "\(method) \(path)")
                #expect((op.security != nil) == route.needsToken, "\(method) \(path): bearer security iff a token is needed")
            }
        }
        #expect(documented == Set(APIRoutes.all.map { "\($0.method) \($0.path)" }))
        #expect(Set(doc.components["schemas"]?.keys.map { $0 } ?? []) == ["Error", "JobSubmission", "Rendition", "Video", "VideoList", "ProgressEvent",
                                                                          "VideoUpdate", "Failure", "WebhookRegistration", "WebhookEndpoint",
                                                                          "WebhookEndpointCreated", "WebhookDelivery", "WebhookPayload"])
    }

    /// URL ingest and rate limits are described where a client looks for them.
    @Test func openAPIDocumentsSourceURLRefusalsAndRateLimits() throws {
        let doc = OpenAPIDocument.make(version: "x")
        let submission = doc["components"]?["schemas"]?["JobSubmission"]?["properties"]?["source_url"]
        #expect(submission?["format"] == "uri")
        let rule = doc["components"]?["schemas"]?["Error"]?["properties"]?["error"]?["properties"]?["rule"]?["enum"]
        #expect(rule?.text.contains("\"loopback\"") == true && rule?.text.contains("\"cloud_metadata\"") == true)
        let submit = doc["paths"]?["/jobs"]?["post"]?["responses"]
        #expect(submit?["422"]?["description"]?.text.contains("source_url_refused") == true)
        for header in ["Retry-After", "RateLimit-Policy", "RateLimit"] {
            #expect(submit?["429"]?["headers"]?[header] != nil, "429 on POST /jobs documents \(header)")
            #expect(doc["paths"]?["/videos"]?["get"]?["responses"]?["429"]?["headers"]?[header] != nil)
        }
        #expect(doc["paths"]?["/videos"]?["get"]?["responses"]?["200"]?["headers"]?["RateLimit"] != nil)
        #expect(doc["paths"]?["/healthz"]?["get"]?["responses"]?["429"] == nil, "operations endpoints are not limited")
        #expect(doc["paths"]?["/media/{id}/{path}"]?["get"]?["responses"]?["429"] == nil)
    }

    @Test func openAPIRefsResolve() {
        let text = OpenAPIDocument.make(version: "x").text
        var rest = Substring(text)
        while let r = rest.firstRange(of: "\"#/components/schemas/") {
            let name = rest[r.upperBound...].prefix { $0 != "\"" }
            #expect(OpenAPIDocument.make(version: "x")["components"]?["schemas"]?[String(name)] != nil, "dangling $ref \(name)")
            rest = rest[r.upperBound...]
        }
    }
}

/// Any JSON value (for decoding documents whose parts a test does not inspect).
struct JSONAny: Decodable {
    init(from decoder: any Decoder) throws {
        if var a = try? decoder.unkeyedContainer() {
            while !a.isAtEnd { _ = try a.decode(JSONAny.self) }
        } else if let o = try? decoder.container(keyedBy: AnyKey.self) {
            for k in o.allKeys { _ = try o.decode(JSONAny.self, forKey: k) }
        } else {
            _ = try decoder.singleValueContainer()
        }
    }
    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
