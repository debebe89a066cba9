import Testing
@testable import PGWire

/// Builds a backend frame: tag, length, body.
func frame(_ tag: Character, _ body: [UInt8]) -> [UInt8] {
    let n = UInt32(body.count + 4)
    return [tag.asciiValue!, UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] + body
}
func cstr(_ s: String) -> [UInt8] { Array(s.utf8) + [0] }
func be32(_ v: Int32) -> [UInt8] { let u = UInt32(bitPattern: v); return [UInt8(u >> 24), UInt8(u >> 16 & 0xff), UInt8(u >> 8 & 0xff), UInt8(u & 0xff)] }
func be16(_ v: Int16) -> [UInt8] { let u = UInt16(bitPattern: v); return [UInt8(u >> 8), UInt8(u & 0xff)] }

@Suite struct FrontendEncoderTests {
    @Test func startupMessage() {
        var e = FrontendMessageEncoder()
        e.startup(user: "app", database: "db", parameters: [("application_name", "x")])
        let body = be32(196_608) + cstr("user") + cstr("app") + cstr("database") + cstr("db") + cstr("application_name") + cstr("x") + [0]
        #expect(e.bytes == be32(Int32(body.count + 4)) + body)
    }

    @Test func sslAndCancelRequests() {
        var e = FrontendMessageEncoder()
        e.sslRequest()
        #expect(e.bytes == [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])
        var c = FrontendMessageEncoder()
        c.cancelRequest(processID: 7, secretKey: -1)
        #expect(c.bytes == [0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff])
    }

    /// A batch is known to be answered with ReadyForQuery only when it ends in Sync or Query.
    @Test func onlyABatchEndingInSyncOrQueryIsAnswered() throws {
        var e = FrontendMessageEncoder()
        #expect(!e.endsWithSyncOrQuery)
        e.parse(statement: "", query: "SELECT 1", parameterTypes: [])
        e.execute(portal: "")
        #expect(!e.endsWithSyncOrQuery)
        e.sync()
        #expect(e.endsWithSyncOrQuery)
        e.flush()
        #expect(!e.endsWithSyncOrQuery)
        e.query("SELECT 1")
        #expect(e.endsWithSyncOrQuery)
        e.copyData([1, 2])
        #expect(!e.endsWithSyncOrQuery)
        e.query("COPY t FROM STDIN")
        e.copyDone()
        #expect(!e.endsWithSyncOrQuery)
        e.copyFail("no")
        #expect(!e.endsWithSyncOrQuery)
    }

    @Test func extendedQueryPipeline() throws {
        var e = FrontendMessageEncoder()
        e.parse(statement: "s1", query: "SELECT $1", parameterTypes: [.int4])
        e.bind(portal: "", statement: "s1", bindings: try PGBindings([Int32(5)]), resultFormats: [.binary])
        e.describe(.portal, name: "")
        e.execute(portal: "")
        e.sync()
        let expected =
            [UInt8(ascii: "P")] + be32(4 + 3 + 10 + 2 + 4) + cstr("s1") + cstr("SELECT $1") + be16(1) + be32(23)
            + [UInt8(ascii: "B")] + be32(4 + 1 + 3 + 2 + 2 + 2 + 8 + 2 + 2) + cstr("") + cstr("s1") + be16(1) + be16(1) + be16(1) + be32(4) + be32(5) + be16(1) + be16(1)
            + [UInt8(ascii: "D")] + be32(6) + [UInt8(ascii: "P"), 0]
            + [UInt8(ascii: "E")] + be32(9) + [0] + be32(0)
            + [UInt8(ascii: "S")] + be32(4)
        #expect(e.bytes == expected)
    }

    @Test func nullParameterHasLengthMinusOne() throws {
        let b = try PGBindings([Int?.none, "x"])
        #expect(b.values == [0xff, 0xff, 0xff, 0xff] + be32(1) + [UInt8(ascii: "x")])
        #expect(b.types == [.int8, .unspecified])
        #expect(b.formats == [.binary, .text])
    }

    @Test func stringWithNULIsRefused() {
        #expect(throws: PGError.self) { try PGBindings(["a\u{0}b"]) }
    }
}

@Suite struct BackendDecoderTests {
    @Test func decodesEveryMessageKind() throws {
        let cases: [([UInt8], BackendMessage)] = [
            (frame("R", be32(0)), .authentication(.ok)),
            (frame("R", be32(3)), .authentication(.cleartextPassword)),
            (frame("R", be32(5) + [1, 2, 3, 4]), .authentication(.md5Password(salt: [1, 2, 3, 4]))),
            (frame("R", be32(10) + cstr("SCRAM-SHA-256-PLUS") + cstr("SCRAM-SHA-256") + [0]),
             .authentication(.sasl(mechanisms: ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]))),
            (frame("R", be32(11) + [65, 66]), .authentication(.saslContinue([65, 66]))),
            (frame("R", be32(12) + [67]), .authentication(.saslFinal([67]))),
            (frame("R", be32(7)), .authentication(.unsupported(code: 7))),
            (frame("K", be32(42) + be32(-7)), .backendKeyData(.init(processID: 42, secretKey: -7))),
            (frame("2", []), .bindComplete),
            (frame("3", []), .closeComplete),
            (frame("C", cstr("SELECT 1")), .commandComplete("SELECT 1")),
            (frame("d", [1, 2]), .copyData([1, 2])),
            (frame("c", []), .copyDone),
            (frame("G", [0] + be16(2) + be16(0) + be16(0)), .copyInResponse(.init(format: .text, columnFormats: [.text, .text]))),
            (frame("H", [1] + be16(1) + be16(1)), .copyOutResponse(.init(format: .binary, columnFormats: [.binary]))),
            (frame("D", be16(2) + be32(1) + [9] + be32(-1)), .dataRow(DataRow(values: [[9], nil]))),
            (frame("I", []), .emptyQueryResponse),
            (frame("n", []), .noData),
            (frame("A", be32(5) + cstr("ch") + cstr("hi")), .notificationResponse(.init(processID: 5, channel: "ch", payload: "hi"))),
            (frame("t", be16(2) + be32(23) + be32(25)), .parameterDescription([.int4, .text])),
            (frame("S", cstr("TimeZone") + cstr("UTC")), .parameterStatus(name: "TimeZone", value: "UTC")),
            (frame("1", []), .parseComplete),
            (frame("s", []), .portalSuspended),
            (frame("Z", [UInt8(ascii: "T")]), .readyForQuery(.inTransaction)),
            (frame("v", be32(0) + be32(1) + cstr("_pq_.x")), .negotiateProtocolVersion(newestMinor: 0, unrecognizedOptions: ["_pq_.x"])),
        ]
        for (bytes, expected) in cases {
            var s = BackendMessageStream()
            s.feed(bytes)
            #expect(try s.next() == expected)
            #expect(s.bufferedBytes == 0)
        }
    }

    @Test func errorResponseKeepsEveryField() throws {
        var body = [UInt8]()
        for (c, v) in [("S", "ERROR"), ("V", "ERROR"), ("C", "23505"), ("M", "duplicate key value violates unique constraint \"t_pkey\""),
                       ("D", "Key (id)=(1) already exists."), ("H", "try another"), ("s", "public"), ("t", "t"),
                       ("n", "t_pkey"), ("F", "nbtinsert.c"), ("L", "664"), ("R", "_bt_check_unique"), ("Z", "future field")] {
            body += [Character(c).asciiValue!] + cstr(v)
        }
        body.append(0)
        var s = BackendMessageStream()
        s.feed(frame("E", body))
        guard case .errorResponse(let e) = try s.next() else { Issue.record("not an error"); return }
        #expect(e.sqlState == "23505")
        #expect(e.detail == "Key (id)=(1) already exists.")
        #expect(e.constraintName == "t_pkey" && e.schemaName == "public" && e.tableName == "t" && e.line == 664)
        #expect(e.fields[UInt8(ascii: "Z")] == "future field")
        #expect(e.description == "ERROR 23505: duplicate key value violates unique constraint \"t_pkey\" DETAIL: Key (id)=(1) already exists. HINT: try another")
    }

    @Test func rowDescription() throws {
        let body = be16(1) + cstr("id") + be32(16384) + be16(1) + be32(23) + be16(4) + be32(-1) + be16(1)
        var s = BackendMessageStream()
        s.feed(frame("T", body))
        guard case .rowDescription(let d) = try s.next() else { Issue.record("not a description"); return }
        #expect(d.columns.count == 1 && d.columns[0].name == "id" && d.columns[0].dataType == .int4 && d.columns[0].format == .binary)
        #expect(d.index(of: "id") == 0)
    }

    /// Fed one byte at a time, the stream yields the same messages as fed at once.
    @Test func incrementalFeeding() throws {
        let bytes = frame("S", cstr("a") + cstr("b")) + frame("D", be16(1) + be32(3) + [1, 2, 3]) + frame("Z", [UInt8(ascii: "I")])
        var s = BackendMessageStream()
        var got = [BackendMessage]()
        for b in bytes {
            s.feed([b])
            while let m = try s.next() { got.append(m) }
        }
        #expect(got == [.parameterStatus(name: "a", value: "b"), .dataRow(DataRow(values: [[1, 2, 3]])), .readyForQuery(.idle)])
    }

    @Test func limitsAndMalformedInput() {
        var s = BackendMessageStream(decoder: BackendMessageDecoder(maxMessageLength: 100))
        s.feed([UInt8(ascii: "D"), 0x7f, 0xff, 0xff, 0xff])
        #expect(throws: PGError.messageTooLong(tag: UInt8(ascii: "D"), length: Int(Int32.max), maximum: 100)) { try s.next() }

        let bad: [[UInt8]] = [
            [UInt8(ascii: "Z"), 0, 0, 0, 3],                            // length below 4
            frame("D", be16(1) + be32(10) + [1]),                        // value runs past the end
            frame("D", be16(30000)),                                     // count larger than bytes
            frame("D", be16(1) + be32(-2)),                              // negative length other than -1
            frame("C", Array("no terminator".utf8)),                     // unterminated string
            frame("Z", [UInt8(ascii: "X")]),                             // unknown status
            frame("?", []),                                              // unknown tag
            frame("K", be32(1)),                                         // truncated
            frame("2", [0]),                                             // trailing bytes
        ]
        for b in bad {
            var s = BackendMessageStream()
            s.feed(b)
            #expect(throws: PGError.self) { try s.next() }
        }
    }

    @Test func incompleteFrameAsksForMore() throws {
        var s = BackendMessageStream()
        s.feed(frame("C", cstr("SELECT 1")).dropLast())
        #expect(try s.next() == nil)
        s.feed([0])
        #expect(try s.next() == .commandComplete("SELECT 1"))
    }
}
