import HTTPServer
import Testing

@Suite struct ServerSentEventTests {
    func text(_ e: ServerSentEvent) -> String { String(decoding: e.encoded, as: UTF8.self) }

    @Test func fieldsInOrderWithBlankLineTerminator() {
        #expect(text(ServerSentEvent(event: "progress", data: "50", id: "7", retry: 2000)) == "event: progress\nid: 7\nretry: 2000\ndata: 50\n\n")
        #expect(text(ServerSentEvent(data: "")) == "data: \n\n")
    }

    /// Every line break the WHATWG parser recognizes starts a new data line, so a payload can never
    /// end the event early or inject an `id:`/`event:` field.
    @Test(arguments: [
        ("a\nb", "data: a\ndata: b\n\n"),
        ("a\r\nb", "data: a\ndata: b\n\n"),
        ("a\rb", "data: a\ndata: b\n\n"),
        ("a\n\nid: 9", "data: a\ndata: \ndata: id: 9\n\n"),
        ("trailing\n", "data: trailing\ndata: \n\n"),
    ])
    func multiLineData(data: String, wire: String) {
        #expect(text(ServerSentEvent(data: data)) == wire)
    }

    @Test func eventAndIdCannotInjectLines() {
        #expect(text(ServerSentEvent(event: "a\nb", data: "x", id: "1\r\n2\u{0}")) == "event: ab\nid: 12\ndata: x\n\n")
    }

    @Test func comments() {
        #expect(String(decoding: ServerSentEvent.comment(), as: UTF8.self) == ":\n\n")
        #expect(String(decoding: ServerSentEvent.comment("keep\nalive"), as: UTF8.self) == ": keepalive\n\n")
    }
}
