import Reactor

/// A request body. Every kind can be sent again, so every request can be retried: streams of
/// unknown length are cut into parts held in memory before they are sent (see multipart).
enum RequestPayload: Sendable {
    case empty
    /// In memory; `sha256` computed once, reused across retries.
    case bytes([UInt8], sha256: [UInt8]?)
    /// A region of a file, re-read on each attempt; `sha256` computed once, reused across
    /// retries (nil: aws-chunked or unsigned, per the configuration).
    case file(FileHandle, offset: Int64, length: Int64, sha256: [UInt8]? = nil)

    var length: Int64 {
        switch self {
        case .empty: return 0
        case .bytes(let b, _): return Int64(b.count)
        case .file(_, _, let length, _): return length
        }
    }
}

/// One S3 API call before addressing and signing.
struct S3Request: Sendable {
    var operation: String
    var method: String
    var bucket: String?
    var key: String?
    var query: [QueryItem] = []
    var headers = HTTPHeaders()
    var payload: RequestPayload = .empty
}

/// The streamed body of a successful response; valid only inside the handler it is passed to.
public final class S3ResponseBody: @unchecked Sendable {
    // @unchecked: used only by the task running the handler (see HTTPClientConnection).
    let connection: HTTPClientConnection
    private(set) var finished = false

    init(connection: HTTPClientConnection) { self.connection = connection }

    /// The next piece of the body, nil at its end.
    public func next() async throws -> [UInt8]? {
        if finished { return nil }
        guard let part = try await connection.nextPart() else { return nil }
        switch part {
        case .body(let bytes): return bytes
        case .end: finished = true; return nil
        case .head: throw HTTPMessageError.unexpectedData
        }
    }

    /// The whole body, refusing more than `limit` bytes (XML documents, small objects).
    public func collect(limit: Int = 16 * 1024 * 1024) async throws -> [UInt8] {
        var out = [UInt8]()
        while let chunk = try await next() {
            out += chunk
            if out.count > limit { throw S3ClientError.invalidResponse(operation: "read", reason: "body larger than \(limit) bytes") }
        }
        return out
    }
}
