import HTTPClientCodec
import Reactor

/// One request and its response on a connection of their own: the thin layer that feeds socket
/// bytes to `HTTPResponseParser`, with a stall timeout on every read and write and an overall
/// deadline.
///
/// `@unchecked Sendable`: owned by one task at a time — the fetch that opened it, then whoever
/// iterates the response body it was handed to — so its parser state is never shared.
final class FetchConnection: @unchecked Sendable {
    let connection: Connection
    let url: HTTPURL
    let stall: Duration
    let deadline: ContinuousClock.Instant?
    private var parser: HTTPResponseParser
    private var buffer = ByteBuffer(capacity: 64 * 1024)
    private(set) var finished = false

    init(connection: Connection, url: HTTPURL, limits: HTTPResponseParser.Limits, stall: Duration, deadline: ContinuousClock.Instant?) {
        self.connection = connection
        self.url = url
        self.parser = HTTPResponseParser(limits: limits)
        self.stall = stall
        self.deadline = deadline
    }

    deinit { connection.close() }

    func close() {
        finished = true
        connection.close()
    }

    func send(_ bytes: [UInt8], method: String) async throws {
        parser.expectResponse(toMethod: method)
        do {
            try await connection.write(bytes, timeout: try timeout(.request))
        } catch {
            throw map(error, .request)
        }
    }

    /// The final head (interim 1xx heads are skipped).
    func readHead() async throws -> HTTPResponseHead {
        while true {
            guard case .head(let head) = try await nextPart(.response) else {
                throw HTTPFetchError.malformedResponse(url: url.description, reason: .unexpectedData)
            }
            if head.status == 101 {
                throw HTTPFetchError.malformedResponse(url: url.description, reason: .invalidStatusLine("101 Switching Protocols was not asked for"))
            }
            if !head.isInformational { return head }
        }
    }

    /// The next body bytes, or nil once the response has ended (the connection is then closed:
    /// it is never reused).
    func nextBodyChunk() async throws -> [UInt8]? {
        if finished { return nil }
        switch try await nextPart(.body) {
        case .body(let bytes): return bytes
        case .end:
            close()
            return nil
        case .head:
            throw HTTPFetchError.malformedResponse(url: url.description, reason: .unexpectedData)
        }
    }

    private func nextPart(_ phase: HTTPFetchError.Phase) async throws -> HTTPResponsePart {
        do {
            while true {
                if let part = try parser.next() { return part }
                buffer.clear()
                do {
                    try await connection.read(into: &buffer, timeout: try timeout(phase))
                } catch NetworkError.endOfStream {
                    if let part = try parser.endOfInput() { return part }
                    throw NetworkError.endOfStream
                }
                parser.feed(buffer.readableBytesView)
            }
        } catch {
            throw map(error, phase)
        }
    }

    /// The stall timeout, shortened to what is left before the deadline.
    private func timeout(_ phase: HTTPFetchError.Phase) throws(HTTPFetchError) -> Duration {
        guard let deadline else { return stall }
        let left = deadline - ContinuousClock.now
        guard left > .zero else { throw .deadlineExceeded(phase: phase, url: url.description) }
        return min(stall, left)
    }

    private func map(_ error: any Error, _ phase: HTTPFetchError.Phase) -> any Error {
        HTTPFetcher.map(error, phase: phase, url: url, deadline: deadline, stall: stall)
    }
}
