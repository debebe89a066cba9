import Testing
@testable import HTTPServer

@Suite struct HeaderParametersTests {
    @Test func quotedEscapedAndCaseFolded() {
        #expect(HeaderParameters.parse("form-data; name=\"file\"; filename=\"a \\\"b\\\".mp4\"") == ["name": "file", "filename": "a \"b\".mp4"])
        #expect(HeaderParameters.parse("text/plain;CHARSET=utf-8 ; x=y") == ["charset": "utf-8", "x": "y"])
    }
}
