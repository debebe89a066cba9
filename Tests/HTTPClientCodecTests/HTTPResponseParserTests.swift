import Testing
@testable import HTTPClientCodec

/// Byte vectors in llhttp's spirit: raw response bytes beside the event log they must produce.
/// Every vector is parsed twice, whole and one byte at a time, to prove the parser is incremental.
@Suite struct HTTPResponseParserTests {
    struct Vector: Sendable, CustomStringConvertible {
        var name: String
        var method: String = "GET"
        var bytes: String
        var closeAtEnd = false
        var log: [String]
        var description: String { name }
    }

    /// Runs the parser, merging adjacent body parts so the log is independent of read sizes.
    static func run(_ v: Vector, byteByByte: Bool) -> [String] {
        var parser = HTTPResponseParser()
        parser.expectResponse(toMethod: v.method)
        var log: [String] = []
        var body: [UInt8] = []
        func record(_ part: HTTPResponsePart) {
            switch part {
            case .head(let h):
                log.append("head \(h.status) \(h.reason) keepAlive=\(h.keepAlive) " + h.headers.map { "\($0.name)=\($0.value)" }.joined(separator: ","))
            case .body(let b): body += b
            case .end(let reusable):
                if !body.isEmpty { log.append("body \(String(decoding: body, as: UTF8.self))"); body = [] }
                log.append("end reusable=\(reusable)")
            }
        }
        let bytes = Array(v.bytes.utf8)
        let pieces: [[UInt8]] = byteByByte ? bytes.map { [$0] } : [bytes]
        do {
            var done = false
            for piece in pieces where !done {
                parser.feed(piece)
                while !done, let part = try parser.next() {
                    record(part)
                    if case .end = part { done = true }
                }
            }
            if v.closeAtEnd && !done { while let part = try parser.endOfInput() { record(part); if case .end = part { break } } }
        } catch {
            if !body.isEmpty { log.append("body \(String(decoding: body, as: UTF8.self))") }
            log.append("error \(error)")
        }
        return log
    }

    static let vectors: [Vector] = [
        Vector(name: "content-length", bytes: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: \"x\"\r\n\r\nhello",
               log: ["head 200 OK keepAlive=true Content-Length=5,ETag=\"x\"", "body hello", "end reusable=true"]),
        Vector(name: "empty body, header value spaces trimmed", bytes: "HTTP/1.1 204 No Content\r\nx-amz-request-id:   abc  \r\n\r\n",
               log: ["head 204 No Content keepAlive=true x-amz-request-id=abc", "end reusable=true"]),
        Vector(name: "HEAD ignores Content-Length", method: "HEAD", bytes: "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
               log: ["head 200 OK keepAlive=true Content-Length=1000", "end reusable=true"]),
        Vector(name: "chunked with extensions and trailers",
               bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nB\r\n, world!!!!\r\n0\r\nX-Trailer: t\r\n\r\n",
               log: ["head 200 OK keepAlive=true Transfer-Encoding=chunked", "body hello, world!!!!", "end reusable=true"]),
        Vector(name: "close-delimited", bytes: "HTTP/1.1 200 OK\r\n\r\nuntil the end", closeAtEnd: true,
               log: ["head 200 OK keepAlive=true ", "body until the end", "end reusable=false"]),
        Vector(name: "Connection: close", bytes: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
               log: ["head 200 OK keepAlive=false Connection=close,Content-Length=2", "body ok", "end reusable=false"]),
        Vector(name: "HTTP/1.0 closes by default", bytes: "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
               log: ["head 200 OK keepAlive=false Content-Length=0", "end reusable=false"]),
        Vector(name: "100 Continue then final", method: "PUT",
               bytes: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
               log: ["head 100 Continue keepAlive=true ", "head 200 OK keepAlive=true Content-Length=0", "end reusable=true"]),
        Vector(name: "status without reason", bytes: "HTTP/1.1 503\r\nContent-Length: 0\r\n\r\n",
               log: ["head 503  keepAlive=true Content-Length=0", "end reusable=true"]),
        Vector(name: "truncated fixed body", bytes: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", closeAtEnd: true,
               log: ["head 200 OK keepAlive=true Content-Length=10", "body abc",
                     "error connection closed mid-response after 3 body bytes of 10"]),
        Vector(name: "truncated chunked body", bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", closeAtEnd: true,
               log: ["head 200 OK keepAlive=true Transfer-Encoding=chunked", "body ab", "error connection closed mid-response after 2 body bytes"]),
        Vector(name: "conflicting Content-Length", bytes: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
               log: ["error invalid Content-Length: 1, 2"]),
        Vector(name: "equal repeated Content-Length", bytes: "HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\nx",
               log: ["head 200 OK keepAlive=true Content-Length=1, 1", "body x", "end reusable=true"]),
        Vector(name: "negative Content-Length", bytes: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
               log: ["error invalid Content-Length: -1"]),
        Vector(name: "bad chunk size", bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
               log: ["head 200 OK keepAlive=true Transfer-Encoding=chunked", "error invalid chunked encoding: bad size zz"]),
        Vector(name: "gzip transfer coding refused", bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
               log: ["error unsupported Transfer-Encoding: gzip, chunked"]),
        Vector(name: "bad status line", bytes: "HTTX/1.1 200 OK\r\n\r\n", log: ["error invalid HTTP status line: HTTX/1.1 200 OK"]),
        Vector(name: "space before colon", bytes: "HTTP/1.1 200 OK\r\nBad : x\r\n\r\n", log: ["error invalid HTTP header line: Bad : x"]),
        Vector(name: "obsolete line folding", bytes: "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", log: ["error invalid HTTP header line:  c"]),
        Vector(name: "extra bytes after response poison reuse", bytes: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxy",
               log: ["head 200 OK keepAlive=true Content-Length=1", "body x", "end reusable=false"]),
    ]

    /// What a server of a user-given URL may send: several interim heads, folded or poisoned
    /// fields, framing conflicts, truncation at every stage.
    static let hostileVectors: [Vector] = [
        Vector(name: "two 1xx heads before the final one",
               bytes: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
               log: ["head 100 Continue keepAlive=true ", "head 103 Early Hints keepAlive=true Link=</a>", "head 200 OK keepAlive=true Content-Length=2", "body ok", "end reusable=true"]),
        Vector(name: "1xx with a body length is still bodiless",
               bytes: "HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
               log: ["head 100 Continue keepAlive=true Content-Length=5", "head 204 No Content keepAlive=true ", "end reusable=true"]),
        Vector(name: "Transfer-Encoding wins over Content-Length",
               bytes: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
               log: ["head 200 OK keepAlive=true Content-Length=100,Transfer-Encoding=chunked", "body ok", "end reusable=false"]),
        Vector(name: "chunked, upper-case hex and empty trailer",
               bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n",
               log: ["head 200 OK keepAlive=true Transfer-Encoding=Chunked", "body 0123456789", "end reusable=true"]),
        Vector(name: "chunk size beyond 15 hex digits",
               bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n",
               log: ["head 200 OK keepAlive=true Transfer-Encoding=chunked", "error invalid chunked encoding: size too large"]),
        Vector(name: "chunk data not followed by CRLF",
               bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX0\r\n\r\n",
               log: ["head 200 OK keepAlive=true Transfer-Encoding=chunked", "body ok", "error invalid chunked encoding: missing CRLF after chunk data"]),
        Vector(name: "empty chunk size line",
               bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
               log: ["head 200 OK keepAlive=true Transfer-Encoding=chunked", "error invalid chunked encoding: empty size line"]),
        Vector(name: "truncated inside the head", bytes: "HTTP/1.1 200 OK\r\nContent-Len", closeAtEnd: true,
               log: ["error connection closed mid-response after 0 body bytes"]),
        Vector(name: "truncated before any byte", bytes: "", closeAtEnd: true,
               log: ["error connection closed mid-response after 0 body bytes"]),
        Vector(name: "truncated in the trailers",
               bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n", closeAtEnd: true,
               log: ["head 200 OK keepAlive=true Transfer-Encoding=chunked", "error connection closed mid-response after 0 body bytes"]),
        Vector(name: "header without a colon", bytes: "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
               log: ["error invalid HTTP header line: NoColon"]),
        Vector(name: "empty header name", bytes: "HTTP/1.1 200 OK\r\n: v\r\n\r\n",
               log: ["error invalid HTTP header line: : v"]),
        Vector(name: "NUL in a value", bytes: "HTTP/1.1 200 OK\r\nX: a\u{0}b\r\n\r\n",
               log: ["error invalid HTTP header line: X: a\u{0}b"]),
        Vector(name: "bare CR in a value", bytes: "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
               log: ["error invalid HTTP header line: X: a\rb"]),
        Vector(name: "status code of two digits", bytes: "HTTP/1.1 20 OK\r\n\r\n",
               log: ["error invalid HTTP status line: HTTP/1.1 20 OK"]),
        Vector(name: "HTTP/2 status line", bytes: "HTTP/2 200\r\n\r\n",
               log: ["error invalid HTTP status line: HTTP/2 200"]),
        Vector(name: "Content-Length with a plus sign", bytes: "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n",
               log: ["error invalid Content-Length: +5"]),
        Vector(name: "Content-Length of 19 digits", bytes: "HTTP/1.1 200 OK\r\nContent-Length: 9999999999999999999\r\n\r\n",
               log: ["error invalid Content-Length: 9999999999999999999"]),
    ]

    @Test(arguments: hostileVectors)
    func hostile(_ v: Vector) {
        #expect(Self.run(v, byteByByte: false) == v.log)
        #expect(Self.run(v, byteByByte: true) == v.log)
    }

    @Test func headerCountIsLimited() throws {
        var limits = HTTPResponseParser.Limits()
        limits.maxHeaderCount = 3
        var parser = HTTPResponseParser(limits: limits)
        parser.expectResponse(toMethod: "GET")
        parser.feed(Array("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n".utf8))
        #expect(throws: HTTPMessageError.invalidHeader("more than 3 fields")) { try parser.next() }
    }

    /// A head that never ends (no CRLFCRLF) is refused once it passes the limit, not buffered forever.
    @Test func endlessHeadIsRefusedAtTheLimit() throws {
        var parser = HTTPResponseParser()
        parser.expectResponse(toMethod: "GET")
        parser.feed(Array("HTTP/1.1 200 OK\r\n".utf8))
        var fed = 0
        let line = Array("X-Filler: \(String(repeating: "a", count: 1000))\r\n".utf8)
        do {
            while fed < 1 << 20 {
                parser.feed(line)
                fed += line.count
                _ = try parser.next()
            }
            Issue.record("an endless head was accepted")
        } catch {
            #expect(error == .headTooLarge(limit: 64 * 1024))
            #expect(fed < 70 * 1024)
        }
    }

    @Test(arguments: vectors)
    func wholeAndByteByByte(_ v: Vector) {
        let whole = Self.run(v, byteByByte: false)
        #expect(whole == v.log)
        // Byte by byte, "extra bytes" are not yet there when the response ends: reuse is then fine.
        if v.name != "extra bytes after response poison reuse" {
            #expect(Self.run(v, byteByByte: true) == v.log)
        }
    }

    @Test func headLimitIsEnforcedWithoutTheWholeHead() throws {
        var limits = HTTPResponseParser.Limits()
        limits.maxHeadBytes = 100
        var parser = HTTPResponseParser(limits: limits)
        parser.expectResponse(toMethod: "GET")
        parser.feed(Array("HTTP/1.1 200 OK\r\n".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 200))
        #expect(throws: HTTPMessageError.headTooLarge(limit: 100)) { try parser.next() }
    }

    @Test func twoResponsesOnOneConnection() throws {
        var parser = HTTPResponseParser()
        parser.expectResponse(toMethod: "GET")
        parser.feed(Array("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na".utf8))
        var parts: [HTTPResponsePart] = []
        while let p = try parser.next() { parts.append(p); if case .end = p { break } }
        #expect(parts.count == 3)
        #expect(parser.isIdle)
        parser.expectResponse(toMethod: "DELETE")
        parser.feed(Array("HTTP/1.1 204 No Content\r\n\r\n".utf8))
        guard case .head(let h)? = try parser.next() else { Issue.record("no head"); return }
        #expect(h.status == 204)
        #expect(try parser.next() == .end(reusable: true))
    }

    /// Whether the peer said anything of the expected response: a connection closed before that is
    /// a dropped keep-alive connection, after it a truncated response.
    @Test func responseStartedTellsSilenceFromATruncatedResponse() throws {
        var parser = HTTPResponseParser()
        #expect(!parser.responseStarted)
        parser.expectResponse(toMethod: "GET")
        #expect(!parser.responseStarted)
        #expect(try parser.next() == nil)
        parser.feed([UInt8]())
        #expect(!parser.responseStarted)
        parser.feed(Array("HTTP/1.1 2".utf8))
        #expect(parser.responseStarted)
        #expect(try parser.next() == nil)
        #expect(throws: HTTPMessageError.truncated(expected: nil, received: 0)) { try parser.endOfInput() }
        // The next response starts over.
        var next = HTTPResponseParser()
        next.expectResponse(toMethod: "HEAD")
        next.feed(Array("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n".utf8))
        while let p = try next.next() { if case .end = p { break } }
        next.expectResponse(toMethod: "HEAD")
        #expect(!next.responseStarted)
    }

    @Test func bytesWhileIdleAreAnError() {
        var parser = HTTPResponseParser()
        parser.feed(Array("HTTP/1.1 200 OK\r\n".utf8))
        #expect(throws: HTTPMessageError.unexpectedData) { try parser.next() }
    }

    @Test func requestHeadEncodingRejectsInjection() throws {
        let ok = HTTPRequestHead(method: "PUT", target: "/b/k%20x?uploads=", headers: ["Host": "h", "X-Amz-Meta-A": "v"])
        #expect(String(decoding: try ok.encode(), as: UTF8.self) == "PUT /b/k%20x?uploads= HTTP/1.1\r\nHost: h\r\nX-Amz-Meta-A: v\r\n\r\n")
        let bad = HTTPRequestHead(method: "GET", target: "/", headers: ["X": "a\r\nInjected: 1"])
        #expect(throws: HTTPMessageError.self) { try bad.encode() }
        let badTarget = HTTPRequestHead(method: "GET", target: "/a b", headers: [:])
        #expect(throws: HTTPMessageError.self) { try badTarget.encode() }
    }
}
