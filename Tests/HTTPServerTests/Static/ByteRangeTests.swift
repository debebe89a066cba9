import HTTPServer
import Testing

@Suite struct ByteRangeTests {
    @Test(arguments: [
        (nil, ByteRangeRequest.whole),
        ("bytes=0-99", .partial(0...99)),
        ("bytes=100-", .partial(100...999)),
        ("bytes=-100", .partial(900...999)),
        ("bytes=-5000", .partial(0...999)),
        ("bytes=900-5000", .partial(900...999)),
        ("bytes=999-999", .partial(999...999)),
        ("BYTES=1-2", .partial(1...2)),
        (" bytes=1-2 ", .partial(1...2)),
        ("bytes=1000-", .unsatisfiable),
        ("bytes=5000-6000", .unsatisfiable),
        ("bytes=-0", .unsatisfiable),
        ("bytes=5-1", .whole),          // invalid: ignored
        ("bytes=0-1,5-6", .whole),      // multiple ranges: ignored (whole 200)
        ("items=0-1", .whole),          // other unit
        ("bytes=a-b", .whole),
        ("bytes=-", .whole),
        ("bytes=99999999999999999999-", .whole),
    ] as [(String?, ByteRangeRequest)])
    func resolve(header: String?, expected: ByteRangeRequest) {
        #expect(ByteRangeRequest.resolve(header, length: 1000) == expected)
    }

    @Test func emptyRepresentation() {
        #expect(ByteRangeRequest.resolve("bytes=0-", length: 0) == .unsatisfiable)
        #expect(ByteRangeRequest.resolve("bytes=-1", length: 0) == .unsatisfiable)
    }
}

@Suite struct ConditionalRequestTests {
    let etag = "\"abc\""
    let modified = 1_000_000_000  // Sun, 09 Sep 2001 01:46:40 GMT

    func eval(_ headers: HTTPFields, method: HTTPMethod = .get) -> ConditionalRequest.Outcome {
        ConditionalRequest.evaluate(method: method, headers: headers, etag: etag, lastModified: modified)
    }

    @Test func ifNoneMatch() {
        #expect(eval(["If-None-Match": "\"abc\""]) == .notModified)
        #expect(eval(["If-None-Match": "\"x\", W/\"abc\""]) == .notModified)  // weak comparison
        #expect(eval(["If-None-Match": "*"]) == .notModified)
        #expect(eval(["If-None-Match": "\"other\""]) == .proceed)
        #expect(eval(["If-None-Match": "*"], method: .put) == .preconditionFailed)
        // If-None-Match wins over If-Modified-Since
        #expect(eval(["If-None-Match": "\"other\"", "If-Modified-Since": HTTPDate.format(epochSeconds: modified)]) == .proceed)
    }

    @Test func ifModifiedSince() {
        #expect(eval(["If-Modified-Since": HTTPDate.format(epochSeconds: modified)]) == .notModified)
        #expect(eval(["If-Modified-Since": HTTPDate.format(epochSeconds: modified - 1)]) == .proceed)
        #expect(eval(["If-Modified-Since": "garbage"]) == .proceed)
    }

    @Test func ifMatchAndUnmodifiedSince() {
        #expect(eval(["If-Match": "\"abc\""], method: .put) == .proceed)
        #expect(eval(["If-Match": "W/\"abc\""], method: .put) == .preconditionFailed)  // strong comparison
        #expect(eval(["If-Unmodified-Since": HTTPDate.format(epochSeconds: modified - 10)], method: .put) == .preconditionFailed)
    }

    @Test func ifRange() {
        #expect(ConditionalRequest.rangeApplies(headers: [:], etag: etag, lastModified: modified))
        #expect(ConditionalRequest.rangeApplies(headers: ["If-Range": "\"abc\""], etag: etag, lastModified: modified))
        #expect(!ConditionalRequest.rangeApplies(headers: ["If-Range": "\"old\""], etag: etag, lastModified: modified))
        #expect(ConditionalRequest.rangeApplies(headers: ["If-Range": HTTPDate.format(epochSeconds: modified)], etag: etag, lastModified: modified))
    }

    @Test func httpDateRoundTrip() {
        #expect(HTTPDate.format(epochSeconds: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT") == nil)
    }
}

@Suite struct SafePathTests {
    @Test(arguments: [
        ("/a/b.txt", "a/b.txt"),
        ("//a///b", "a/b"),
        ("/caf%C3%A9.mp4", "café.mp4"),
        ("/", ""),
        ("/a%20b", "a b"),
    ])
    func accepted(path: String, relative: String) {
        #expect(SafePath.relativePath(forRequestPath: Substring(path)) == relative)
    }

    @Test(arguments: ["/../etc/passwd", "/a/../../b", "/%2e%2e/x", "/a/..%2f..%2fx", "/a%2fb", "/a%5cb", "/a%00b", "/./a", "/%", "/%zz", "/%ff"])
    func refused(path: String) {
        #expect(SafePath.relativePath(forRequestPath: Substring(path)) == nil)
    }

    @Test func mimeTypes() {
        #expect(MIMEType.forExtension("MP4") == "video/mp4")
        #expect(MIMEType.forExtension("m3u8") == "application/vnd.apple.mpegurl")
        #expect(MIMEType.forExtension("html") == "text/html; charset=utf-8")
        #expect(MIMEType.forExtension("exe") == "application/octet-stream")
    }
}
