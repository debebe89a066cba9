import HTTPServer
import Testing

@Suite struct HTTPRequestParserTests {
    static let corpus = ParserCorpusCase.loadAll()

    @Test func corpusIsPresent() {
        #expect(Self.corpus.count > 80)
        #expect(Self.corpus.allSatisfy { !$0.input.isEmpty && !$0.expected.isEmpty })
    }

    /// Every case, with the input delivered whole, one byte at a time, and in 7-byte pieces: the
    /// events must not depend on how the bytes were split (bodies are compared merged).
    @Test(arguments: corpus)
    func corpusCase(_ c: ParserCorpusCase) {
        #expect(runParser(c, chunkSize: c.input.count) == c.expected, "whole input")
        #expect(runParser(c, chunkSize: 1) == c.expected, "one byte at a time")
        #expect(runParser(c, chunkSize: 7) == c.expected, "7-byte pieces")
    }

    @Test func bodyEventsPointIntoTheInputWithoutCopying() throws {
        var parser = HTTPRequestParser()
        let bytes = Array("POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello".utf8)
        let head = try parser.parse(bytes)
        guard case .head(let h) = head.event else { Issue.record("no head"); return }
        #expect(h.framing == .contentLength(5))
        let rest = Array(bytes[head.consumed...])
        let body = try parser.parse(rest)
        #expect(body == .init(consumed: 5, event: .body(0..<5)))
        #expect(try parser.parse([]) == .init(consumed: 0, event: .end(trailers: [:])))
        #expect(parser.isIdle)
    }

    @Test func failedParserStaysFailed() {
        var parser = HTTPRequestParser()
        #expect(throws: HTTPParseError.self) { try parser.parse(Array("GET / HTTP/1.1\n".utf8)) }
        #expect(throws: HTTPParseError.self) { try parser.parse(Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8)) }
    }

    @Test func errorDescriptionNamesStatusKindAndOffset() {
        var parser = HTTPRequestParser()
        do {
            _ = try parser.parse(Array("GET / HTTP/1.1\r\nHost : a\r\n\r\n".utf8))
            Issue.record("accepted whitespace before colon")
        } catch {
            #expect(error.status == .badRequest)
            #expect(error.offset == 20)
            #expect(error.description == "HTTP request refused (400 Bad Request): whitespace-before-colon at byte 20")
        }
    }

    @Test func pathAndQueryOfTargets() {
        #expect(HTTPRequestHead(method: .get, target: "/a/b?x=1").path == "/a/b")
        #expect(HTTPRequestHead(method: .get, target: "/a/b?x=1").query == "x=1")
        #expect(HTTPRequestHead(method: .get, target: "http://h:8/p/q?z").path == "/p/q")
        #expect(HTTPRequestHead(method: .get, target: "http://h:8").path == "/")
    }
}
