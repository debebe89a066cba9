import Foundation
import HTTPServer
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService

/// A client that leaves while its handler waits on PostgreSQL (an EventSource reconnecting in a
/// loop, a closed tab): the server cancels the handler, the query is cancelled with it — and that
/// is the client's departure, not a failure. It used to be answered (to nobody) as a 500 and logged
/// at error level with "PostgreSQL query cancelled", an alert per impatient client.
@Suite struct ClientGoneTests {
    @Test func aHandlerCancelledMidQueryEndsQuietly() async throws {
        try await APITestEnvironment.with("client-gone") { env in
            let video = try await env.recordVideo()
            let responder = APIResponder(handlers: env.service.handlers)
            for target in ["/videos/\(video.id)", "/progress/\(video.id)", "/videos?q=x", "/webhooks"] {
                let request = HTTPRequest(head: HTTPRequestHead(method: .get, target: target))
                let task = Task { try await responder.respond(to: request) }
                task.cancel()
                let result = await task.result
                switch result {
                case .success(let response):
                    #expect(response.status.code < 500, "\(target): answered \(response.status.code) to a client that is gone")
                case .failure(let error):
                    #expect(error is CancellationError, "\(target): \(error)")
                }
            }
            let errors = env.logs.lines.filter { $0.contains("level=error") }
            #expect(errors.isEmpty, "\(errors)")
        }
    }
}
