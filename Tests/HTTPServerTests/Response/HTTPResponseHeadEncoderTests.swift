import HTTPServer
import Testing

@Suite struct HTTPResponseHeadEncoderTests {
    let date = Array("date: Sun, 06 Nov 1994 08:49:37 GMT\r\n".utf8)

    func encode(_ status: HTTPStatus, _ headers: HTTPFields = [:], _ framing: HTTPResponseFraming, version: HTTPVersion = .http1_1, keepAlive: Bool = true) -> String {
        var out: [UInt8] = []
        HTTPResponseHeadEncoder.encode(status: status, headers: headers, framing: framing, version: version, keepAlive: keepAlive, date: date, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test func contentLengthAndKeepAlive() {
        #expect(encode(.ok, ["Content-Type": "text/plain"], .contentLength(5))
            == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 5\r\ndate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n")
    }

    @Test func handlerFramingFieldsAreReplacedAndLineBreaksNeutralized() {
        let head = encode(.ok, ["Content-Length": "999", "Transfer-Encoding": "gzip", "Connection": "upgrade", "X-Evil": "a\r\nSet-Cookie: x"], .chunked, keepAlive: false)
        #expect(head == "HTTP/1.1 200 OK\r\nX-Evil: a  Set-Cookie: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\ndate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n")
    }

    @Test func http10KeepAliveIsAnnounced() {
        #expect(encode(.ok, [:], .contentLength(0), version: .http1_0).contains("connection: keep-alive\r\n"))
        #expect(encode(.ok, [:], .contentLength(0), version: .http1_0).hasPrefix("HTTP/1.0 200 OK\r\n"))
    }

    @Test func framingDecisions() {
        let bytes = HTTPResponseBody.bytes([1, 2, 3])
        let stream = HTTPResponseBody.stream { _ in }
        #expect(HTTPResponseHeadEncoder.framing(status: .ok, body: bytes, requestMethod: .get, requestVersion: .http1_1) == .contentLength(3))
        #expect(HTTPResponseHeadEncoder.framing(status: .ok, body: bytes, requestMethod: .head, requestVersion: .http1_1) == .noBody(contentLength: 3))
        #expect(HTTPResponseHeadEncoder.framing(status: .ok, body: stream, requestMethod: .get, requestVersion: .http1_1) == .chunked)
        #expect(HTTPResponseHeadEncoder.framing(status: .ok, body: stream, requestMethod: .get, requestVersion: .http1_0) == .untilClose)
        #expect(HTTPResponseHeadEncoder.framing(status: .noContent, body: bytes, requestMethod: .get, requestVersion: .http1_1) == .noBody(contentLength: nil))
        #expect(HTTPResponseHeadEncoder.framing(status: .notModified, body: .empty, requestMethod: .get, requestVersion: .http1_1) == .noBody(contentLength: nil))
    }

    @Test func chunkFraming() {
        var out: [UInt8] = []
        HTTPResponseHeadEncoder.appendChunk(Array(repeating: 0x61, count: 26), to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "1a\r\n" + String(repeating: "a", count: 26) + "\r\n")
    }
}
