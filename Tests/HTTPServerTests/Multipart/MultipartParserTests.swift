import Testing
@testable import HTTPServer

@Suite struct MultipartParserTests {
    static let boundary = "----vidd7MA4YWxkTrZu0gW"

    static let body: [UInt8] = Array("""
        preamble to ignore\r
        ------vidd7MA4YWxkTrZu0gW\r
        Content-Disposition: form-data; name="title"\r
        \r
        My holiday\r
        ------vidd7MA4YWxkTrZu0gW  \r
        Content-Disposition: form-data; name="file"; filename="clip one.mp4"\r
        Content-Type: video/mp4\r
        \r

        """.utf8) + fileBytes + Array("\r\n------vidd7MA4YWxkTrZu0gW--\r\nepilogue".utf8)

    /// Binary content containing near-boundaries: CRLF, `--`, a truncated delimiter.
    static let fileBytes: [UInt8] = Array("\u{0}\r\n--\r\n------vidd7MA4YWxkTrZu0g\r\r\n\r\n-".utf8) + (0..<2000).map { UInt8(truncatingIfNeeded: $0 &* 7) }

    struct Parsed: Equatable {
        var parts: [(MultipartParser.PartHeaders, [UInt8])] = []
        var ended = false
        static func == (a: Parsed, b: Parsed) -> Bool {
            a.ended == b.ended && a.parts.map(\.0) == b.parts.map(\.0) && a.parts.map(\.1) == b.parts.map(\.1)
        }
    }

    /// Feeds `body` in pieces of the given sizes (cycled) and collects the events.
    static func parse(_ body: [UInt8], pieces: [Int], boundary: String = boundary, maximumHeaderBytes: Int = 16 * 1024) throws -> (Parsed, maxChunk: Int) {
        var parser = MultipartParser(boundary: boundary)
        parser.maximumHeaderBytes = maximumHeaderBytes
        var out = Parsed()
        var current: MultipartParser.PartHeaders?
        var content: [UInt8] = []
        var maxChunk = 0
        var offset = 0
        var i = 0
        func drain() throws {
            while let event = try parser.next() {
                switch event {
                case .partBegin(let h): current = h; content = []
                case .bodyChunk(let c): content += c; maxChunk = max(maxChunk, c.count)
                case .partEnd: out.parts.append((current!, content)); current = nil
                case .end: out.ended = true
                }
            }
        }
        while offset < body.count {
            let n = min(pieces[i % pieces.count], body.count - offset)
            parser.feed(body[offset..<offset + n])
            offset += n
            i += 1
            try drain()
        }
        try drain()
        try parser.finish()
        return (out, maxChunk)
    }

    static let expected: Parsed = {
        var p = Parsed()
        p.parts = [
            (.init(name: "title", filename: nil, contentType: nil, fields: ["content-disposition": "form-data; name=\"title\""]), Array("My holiday".utf8)),
            (.init(name: "file", filename: "clip one.mp4", contentType: "video/mp4",
                   fields: ["content-disposition": "form-data; name=\"file\"; filename=\"clip one.mp4\"", "content-type": "video/mp4"]), fileBytes),
        ]
        p.ended = true
        return p
    }()

    @Test(arguments: [[Int.max], [1], [2], [3], [7], [41], [1, 60, 2], [64, 1], [500]])
    func sameResultWhateverTheChunking(pieces: [Int]) throws {
        #expect(try Self.parse(Self.body, pieces: pieces).0 == Self.expected)
    }

    @Test func everySplitPointOfTheBody() throws {
        for split in 1..<Self.body.count {
            var parser = MultipartParser(boundary: Self.boundary)
            var events: [MultipartParser.Event] = []
            parser.feed(Self.body[..<split])
            while let e = try parser.next() { events.append(e) }
            parser.feed(Self.body[split...])
            while let e = try parser.next() { events.append(e) }
            let file = events.drop { if case .partBegin(let h) = $0 { h.name != "file" } else { true } }.compactMap { e -> [UInt8]? in
                if case .bodyChunk(let c) = e { c } else { nil }
            }
            #expect(Array(file.joined()) == Self.fileBytes, "split at \(split)")
            #expect(events.last == .end)
        }
    }

    @Test func streamsWithoutBufferingTheFile() throws {
        let big = (0..<1_000_000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) }
        let body = Array("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\n".utf8) + big + Array("\r\n--b--".utf8)
        var parser = MultipartParser(boundary: "b")
        var total = 0
        var largestChunk = 0
        var offset = 0
        while offset < body.count {
            let n = min(65_536, body.count - offset)
            parser.feed(body[offset..<offset + n])
            offset += n
            while let e = try parser.next() {
                if case .bodyChunk(let c) = e { total += c.count; largestChunk = max(largestChunk, c.count) }
            }
        }
        try parser.finish()
        #expect(total == big.count)
        #expect(largestChunk <= 65_536 + 2, "each chunk is handed out as it arrives (largest \(largestChunk))")
    }

    @Test func emptyPartAndNoHeaders() throws {
        let body = Array("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\r\n--b--".utf8)
        let (parsed, _) = try Self.parse(body, pieces: [3], boundary: "b")
        #expect(parsed.parts.count == 1 && parsed.parts[0].1.isEmpty && parsed.ended)
    }

    @Test(arguments: [
        ("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nabc", "body ended before the closing boundary"),
        ("--b\r\nContent-Type: text/plain\r\n\r\nabc\r\n--b--", "part without Content-Disposition: form-data"),
        ("--b\r\nContent-Disposition: form-data\r\n\r\nabc\r\n--b--", "part without a name"),
        ("--b\r\nno colon here\r\n\r\nx\r\n--b--", "part header line without a colon"),
        ("--bX\r\n", "unexpected bytes after a boundary"),
        ("no boundary at all", "body ended before the closing boundary"),
    ])
    func malformed(body: String, reason: String) {
        #expect(throws: MultipartParser.ParseError(reason: reason)) { _ = try Self.parse(Array(body.utf8), pieces: [5], boundary: "b") }
    }

    @Test func headerBlockIsBounded() {
        var parser = MultipartParser(boundary: "b")
        parser.feed(Array("--b\r\nContent-Disposition: form-data; name=\"a\"\r\nX: ".utf8) + Array(repeating: UInt8(ascii: "x"), count: 20_000))
        #expect(throws: MultipartParser.ParseError.self) { while try parser.next() != nil {} }
    }

    /// Found by MultipartFuzz in its first minute (Fuzz/Seeds/MultipartFuzz/regression-header-block-at-the-limit):
    /// a header block of exactly `maximumHeaderBytes` was accepted whole but refused when its
    /// terminating CRLFCRLF had only partly arrived (the limit was checked against bytes that could
    /// still be the terminator).
    @Test(arguments: [[Int.max], [1], [7]])
    func headerBlockOfExactlyTheLimitIsAcceptedWhateverTheSplit(pieces: [Int]) throws {
        let head = "Content-Disposition: form-data; name=\"a\""
        let filler = "X: " + String(repeating: "y", count: 100 - head.utf8.count - 5)
        let block = head + "\r\n" + filler
        #expect(block.utf8.count == 100)
        let body = Array("--b\r\n\(block)\r\n\r\nv\r\n--b--".utf8)
        let parsed = try Self.parse(body, pieces: pieces, boundary: "b", maximumHeaderBytes: 100)
        #expect(parsed.0.parts.count == 1 && parsed.0.parts[0].1 == Array("v".utf8))
        // One byte more is refused, however it arrives.
        let over = Array("--b\r\n\(block)y\r\n\r\nv\r\n--b--".utf8)
        #expect(throws: MultipartParser.ParseError.self) { _ = try Self.parse(over, pieces: pieces, boundary: "b", maximumHeaderBytes: 100) }
    }

    /// Found while writing MultipartFuzz's split property (by reading, not by the fuzzer): more than
    /// 256 bytes of transport padding after a boundary were refused when they arrived before their
    /// CRLF and accepted when the CRLF came with them. Now refused either way.
    @Test(arguments: [[Int.max], [1], [100]])
    func longTransportPaddingIsRefusedWhateverTheSplit(pieces: [Int]) throws {
        let padded = Array(("--b" + String(repeating: " ", count: 257) + "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--b--").utf8)
        #expect(throws: MultipartParser.ParseError(reason: "more than 256 bytes of padding after a boundary")) {
            _ = try Self.parse(padded, pieces: pieces, boundary: "b")
        }
        let allowed = Array(("--b" + String(repeating: "\t", count: 256) + "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--b--").utf8)
        #expect(try Self.parse(allowed, pieces: pieces, boundary: "b").0.parts.count == 1)
    }

    @Test func boundaryValidation() {
        #expect(MultipartParser.isValidBoundary("----WebKitFormBoundary7MA4YWxkTrZu0gW"))
        #expect(!MultipartParser.isValidBoundary(""))
        #expect(!MultipartParser.isValidBoundary(String(repeating: "a", count: 71)))
        #expect(!MultipartParser.isValidBoundary("ends with space "))
        #expect(!MultipartParser.isValidBoundary("bad\"quote"))
    }
}
