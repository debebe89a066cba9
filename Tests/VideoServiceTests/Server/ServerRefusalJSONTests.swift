import Foundation
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService

/// Requests HTTPServer refuses before any handler runs (docs/service.md, "Errors": every refusal is
/// the JSON error body). They used to be `text/plain`, so a client parsing `{"error":…}` got
/// nothing to show for a 414 from a long search or a 431 from a large cookie.
@Suite struct ServerRefusalJSONTests {
    static let host = "Host: 127.0.0.1\r\n"

    @Test(arguments: [
        ("GET /videos?q=\(String(repeating: "a", count: 10_000)) HTTP/1.1\r\n\(host)\r\n", 414, "uri_too_long"),
        ("GET /videos HTTP/1.1\r\n\(host)X-Big: \(String(repeating: "b", count: 70_000))\r\n\r\n", 431, "header_fields_too_large"),
        ("GARBAGE\r\n\r\n", 400, "bad_request"),
        ("GET /videos HTTP/2.0\r\n\(host)\r\n", 505, "http_version_not_supported"),
        ("POST /webhooks HTTP/1.1\r\n\(host)Transfer-Encoding: gzip, chunked\r\n\r\n", 501, "not_implemented"),
        ("POST /webhooks HTTP/1.1\r\n\(host)Expect: 200-ok\r\nContent-Length: 2\r\n\r\n{}", 417, "expectation_failed"),
        ("GET /videos HTTP/1.1\r\n\(host)Content-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, "bad_request"),
    ])
    func aRequestTheServerRefusesGetsTheJSONErrorBody(raw: String, status: Int, code: String) async throws {
        try await APITestEnvironment.with("refusal") { env in
            let r = try await env.client.exchange(raw: Array(raw.utf8))
            #expect(r.status == status, "\(r.status) \(r.text)")
            #expect(r.header("Content-Type") == "application/json", "\(r.headers)")
            let error = try r.apiError()
            #expect(error.code == code && !error.message.isEmpty, "\(r.text)")
        }
    }
}
