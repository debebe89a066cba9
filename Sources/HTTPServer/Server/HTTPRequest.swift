/// A request as a handler sees it: the validated head, path parameters filled by the router, and
/// the body as an async sequence of chunks read from the socket on demand.
public struct HTTPRequest: Sendable {
    public var head: HTTPRequestHead
    /// Values of `:name` and `*name` segments of the matched route.
    public var parameters: [String: String] = [:]
    public var body: HTTPRequestBody
    /// The client's address as text (`127.0.0.1:51234`), when known.
    public var remoteAddress: String?

    public init(head: HTTPRequestHead, body: HTTPRequestBody = .empty, remoteAddress: String? = nil) {
        self.head = head
        self.body = body
        self.remoteAddress = remoteAddress
    }

    public var method: HTTPMethod { head.method }
    public var path: Substring { head.path }
    public var headers: HTTPFields { head.headers }

    /// The decoded value of a query parameter (`+` is a space, percent-escapes decoded).
    public func queryParameter(_ name: String) -> String? {
        guard let query = head.query else { return nil }
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = SafePath.percentDecode(Substring(kv[0].replacingPlus)), String(decoding: key, as: UTF8.self) == name else { continue }
            guard kv.count == 2 else { return "" }
            return SafePath.percentDecode(Substring(kv[1].replacingPlus)).map { String(decoding: $0, as: UTF8.self) }
        }
        return nil
    }
}

extension Substring {
    fileprivate var replacingPlus: String { String(self.map { $0 == "+" ? " " : $0 }) }
}

/// The request body: `for try await chunk in request.body { … }` streams it (chunks of up to ~64 KiB,
/// each read from the socket when asked for), `collect(upTo:)` gathers a small one.
public struct HTTPRequestBody: AsyncSequence, Sendable {
    public typealias Element = [UInt8]
    let channel: RequestBodyChannel?
    let beforeFirstRead: (@Sendable () async throws -> Void)?

    init(channel: RequestBodyChannel?, beforeFirstRead: (@Sendable () async throws -> Void)?) {
        self.channel = channel
        self.beforeFirstRead = beforeFirstRead
    }

    public static let empty = HTTPRequestBody(channel: nil, beforeFirstRead: nil)

    /// A body that yields the given bytes (for tests of handlers without a server).
    public static func bytes(_ bytes: [UInt8]) -> HTTPRequestBody {
        let channel = RequestBodyChannel()
        let body = HTTPRequestBody(channel: channel, beforeFirstRead: nil)
        Task {
            if await channel.waitForDemand() { channel.deliver(bytes) }
            if await channel.waitForDemand() { channel.finish() }
        }
        return body
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let channel: RequestBodyChannel?
        var beforeFirstRead: (@Sendable () async throws -> Void)?
        public mutating func next() async throws -> [UInt8]? {
            guard let channel else { return nil }
            if let hook = beforeFirstRead {
                beforeFirstRead = nil
                try await hook()
            }
            return try await channel.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(channel: channel, beforeFirstRead: beforeFirstRead)
    }

    /// The whole body, refused with 413 beyond `maxBytes`.
    public func collect(upTo maxBytes: Int) async throws -> [UInt8] {
        var out: [UInt8] = []
        for try await chunk in self {
            guard out.count + chunk.count <= maxBytes else {
                throw HTTPError(.contentTooLarge, "request body exceeds \(maxBytes) bytes")
            }
            out.append(contentsOf: chunk)
        }
        return out
    }
}

/// Thrown by handlers (or by the body sequence) to answer with a status; other errors become 500.
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    public var status: HTTPStatus
    public var message: String
    public var headers: HTTPFields

    public init(_ status: HTTPStatus, _ message: String? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message ?? status.reason
        self.headers = headers
    }

    public var description: String { "\(status): \(message)" }

    var response: HTTPResponse {
        var r = HTTPResponse.error(status, message)
        for f in headers { r.headers.append(name: f.name, value: f.value) }
        return r
    }
}
