import Reactor
import Synchronization
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore

/// `POST /jobs` edges the submission tests leave out.
@Suite struct SubmitEdgeTests {
    struct Refusal: Sendable, CustomTestStringConvertible {
        var query: String
        var fields: [(String, String)]
        var words: String
        var testDescription: String { "\(query.prefix(24)) \(fields.map(\.0)) → \(words)" }
    }

    static let refusals: [Refusal] = [
        Refusal(query: "?visibility=bogus", fields: [], words: "visibility must be public or private"),
        Refusal(query: "", fields: [("visibility", "Private")], words: "visibility must be public or private"),
        Refusal(query: "?title=" + String(repeating: "t", count: 501), fields: [], words: "title is longer than 500"),
        Refusal(query: "", fields: [("title", String(repeating: "t", count: 501))], words: "title is longer than 500"),
    ]

    /// A multipart upload whose title or visibility is wrong before its file begins (a query
    /// parameter, a field ahead of the file part) is refused then, as a raw upload is: not after
    /// gigabytes were streamed into storage only to be deleted. The 100 MiB announced are never
    /// sent, so an answer can only come from a check made before the file.
    @Test(arguments: refusals)
    func aMultipartUploadIsRefusedBeforeItsFile(_ v: Refusal) async throws {
        try await APITestEnvironment.with("submit-early") { env in
            let boundary = "vidd-edge-boundary"
            var form = ""
            for (name, value) in v.fields {
                form += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n"
            }
            form += "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"clip.mp4\"\r\nContent-Type: video/mp4\r\n\r\n"
            let head = "POST /jobs\(v.query) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=\(boundary)\r\n"
                + "Content-Length: \(100 << 20)\r\n\r\n"
            let connection = try await Connection.connect(host: "127.0.0.1", port: env.port)
            defer { connection.close() }
            try await connection.write(Array((head + form).utf8) + randomBytes(64 * 1024))
            var raw = ByteBuffer()
            while true {
                do { try await connection.read(into: &raw, timeout: .seconds(10)) } catch NetworkError.endOfStream { break } catch NetworkError.connectionReset where raw.readableBytes > 0 { break }
            }
            let response = try TestHTTPClient.parse(Array(raw.readableBytesView), method: "POST")
            #expect(response.status == 422 && response.text.contains(v.words), "\(response.status) \(response.text)")
            #expect(try await env.storage.list(prefix: ObjectKeys.sourcePrefix).isEmpty, "nothing was stored")
        }
    }

    /// A storage whose first deletion fails, as S3 answering 503 right then would.
    final class FirstDeleteFails: ForwardingStorage {
        let inner: FileStorage
        let deletes = Mutex(0)
        init(_ inner: FileStorage) { self.inner = inner }
        func delete(prefix: String) async throws -> Int {
            let n = deletes.withLock { $0 += 1; return $0 }
            if n == 1 { throw StorageError.unavailable("503 Slow Down (the first deletion)") }
            return try await inner.delete(prefix: prefix)
        }
    }

    /// A multipart upload refused after its file was stored (a title field after the file) whose
    /// removal fails right then: removed in the background, retried, not left behind.
    @Test func aRefusedUploadWhoseRemovalFailsIsRemovedLater() async throws {
        let storage = Mutex<FirstDeleteFails?>(nil)
        try await APITestEnvironment.with("submit-removal", wrapFileStorage: { file in
            let wrapped = FirstDeleteFails(file)
            storage.withLock { $0 = wrapped }
            return wrapped
        }) { env in
            let body = SubmitJobTests.multipartBody(boundary: "b0undary", fileName: "clip.mp4", file: randomBytes(4096),
                                                    fieldsAfter: [("title", String(repeating: "t", count: 501))])
            let response = try await env.client.request("POST", "/jobs", headers: [("Content-Type", "multipart/form-data; boundary=b0undary")],
                                                        body: .bytes(body))
            #expect(response.status == 422, "\(response.status) \(response.text)")
            try await waitUntil("the stored upload removed", timeout: .seconds(20)) {
                try await env.storage.list(prefix: ObjectKeys.sourcePrefix).isEmpty
            }
            #expect(storage.withLock { $0?.deletes.withLock { $0 } ?? 0 } >= 2, "the first deletion failed and was retried")
        }
    }
}
