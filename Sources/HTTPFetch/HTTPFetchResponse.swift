import HTTPClientCodec

/// A response whose body has not been read yet. Read `body` once (it is a single pass over the
/// connection), or `close()` to drop it; the connection closes when the body ends or the
/// response is released.
public struct HTTPFetchResponse: Sendable {
    /// Where the response came from (after redirects).
    public let url: HTTPURL
    /// The URLs that redirected, in order.
    public let redirects: [HTTPURL]
    public let head: HTTPResponseHead
    public let body: HTTPFetchBody

    init(url: HTTPURL, redirects: [HTTPURL], head: HTTPResponseHead, connection: FetchConnection, maxBodyBytes: Int64?) {
        self.url = url
        self.redirects = redirects
        self.head = head
        self.body = HTTPFetchBody(connection: connection, maxBytes: maxBodyBytes)
    }

    public var status: Int { head.status }

    /// The declared length of an identity body (nil for chunked or close-delimited bodies).
    public var contentLength: Int64? {
        guard head.headers["Transfer-Encoding"] == nil, let text = head.headers["Content-Length"] else { return nil }
        // The parser already refused differing repeated values ("5, 5" is one length).
        let first = text.split(separator: ",").first ?? ""
        return Int64(first.filter { $0 != " " && $0 != "\t" })
    }

    public func close() { body.connection.close() }

    /// The whole body, for small responses (an error page, a webhook's answer).
    public func collect(upTo limit: Int) async throws -> [UInt8] {
        var out: [UInt8] = []
        for try await chunk in body {
            guard out.count + chunk.count <= limit else {
                close()
                throw HTTPFetchError.bodyTooLarge(limit: Int64(limit), declared: nil, url: url.description)
            }
            out += chunk
        }
        return out
    }
}

/// The body's bytes as they arrive, chunked and close-delimited bodies decoded.
public struct HTTPFetchBody: AsyncSequence, Sendable {
    public typealias Element = [UInt8]
    let connection: FetchConnection
    let maxBytes: Int64?

    public struct AsyncIterator: AsyncIteratorProtocol {
        let connection: FetchConnection
        let maxBytes: Int64?
        var received: Int64 = 0

        public mutating func next() async throws -> [UInt8]? {
            guard let chunk = try await connection.nextBodyChunk() else { return nil }
            received += Int64(chunk.count)
            if let maxBytes, received > maxBytes {
                connection.close()
                throw HTTPFetchError.bodyTooLarge(limit: maxBytes, declared: nil, url: connection.url.description)
            }
            return chunk
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(connection: connection, maxBytes: maxBytes) }
}
