import Foundation
import TestSupport
@testable import VideoCore
@testable import VideoService

/// What the fault scenarios add to `ServiceUnderTest`.
extension ServiceUnderTest {
    /// POST /jobs with the file at `path` as a raw body. `maxTime` bounds the request (curl's
    /// --max-time): during an outage an answer must come within seconds.
    func uploadFile(_ daemon: Daemon, path: String, name: String, maxTime: Int = 120) async throws -> Response {
        try await request(daemon, "POST", "/jobs?name=\(name)",
                          ["--max-time", String(maxTime), "-H", "Content-Type: video/mp4", "--data-binary", "@" + path])
    }

    /// Uploads `path` and returns the new video's id; anything but 202 is a failure.
    func submit(_ daemon: Daemon, path: String, name: String) async throws -> String {
        let r = try await uploadFile(daemon, path: path, name: name)
        guard r.status == 202, let id = Self.videoID(r.json) else { throw Failure("upload of \(name): \(r.status) \(r.text)") }
        return id
    }

    /// The storage vidd uses, reached without the S3 fault proxy: what the audit reads.
    func directStorage() throws -> any Storage {
        var env = environment
        if bucket != nil, let endpoint = TestServices.s3Endpoint { env["VIDD_S3_ENDPOINT"] = endpoint }
        return try ServiceContext.makeStorage(try Configuration.load(from: env))
    }

    /// Log lines of every process started so far that contain every one of `texts`.
    func logLines(containing texts: String...) -> [Substring] {
        logs.split(separator: "\n").filter { line in texts.allSatisfy { line.contains($0) } }
    }
}
