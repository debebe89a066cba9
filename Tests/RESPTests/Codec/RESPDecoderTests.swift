import Testing
@testable import RESP

/// A wire vector and the value it must decode to.
struct DecodeVector: Sendable, CustomTestStringConvertible {
    let wire: String
    let expected: RESPValue
    init(_ wire: String, _ expected: RESPValue) {
        self.wire = wire
        self.expected = expected
    }
    var testDescription: String { wire.debugDescription }
}

private func b(_ s: String) -> RESPValue { .bulkString(Array(s.utf8)) }

let decodeVectors: [DecodeVector] = [
    // RESP2 and RESP3 simple types
    .init("+OK\r\n", .simpleString("OK")),
    .init("+\r\n", .simpleString("")),
    .init("-ERR unknown command 'FOO'\r\n", .error(RESPServerError(code: "ERR", message: "unknown command 'FOO'"))),
    .init("-WRONGPASS invalid username-password pair\r\n", .error(RESPServerError(code: "WRONGPASS", message: "invalid username-password pair"))),
    .init("-lowercase message\r\n", .error(RESPServerError(code: "", message: "lowercase message"))),
    .init(":0\r\n", .integer(0)),
    .init(":-42\r\n", .integer(-42)),
    .init(":+7\r\n", .integer(7)),
    .init(":9223372036854775807\r\n", .integer(.max)),
    .init(":-9223372036854775808\r\n", .integer(.min)),
    .init("$5\r\nhello\r\n", b("hello")),
    .init("$0\r\n\r\n", b("")),
    .init("$4\r\na\r\nb\r\n", b("a\r\nb")),          // binary safe: CRLF inside payload
    .init("$-1\r\n", .null),                          // RESP2 null bulk
    .init("*-1\r\n", .null),                          // RESP2 null array
    .init("*0\r\n", .array([])),
    .init("*2\r\n$3\r\nfoo\r\n:1\r\n", .array([b("foo"), .integer(1)])),
    .init("*2\r\n*1\r\n+a\r\n*0\r\n", .array([.array([.simpleString("a")]), .array([])])),
    .init("*3\r\n$1\r\na\r\n$-1\r\n:3\r\n", .array([b("a"), .null, .integer(3)])),
    // RESP3
    .init("_\r\n", .null),
    .init("#t\r\n", .boolean(true)),
    .init("#f\r\n", .boolean(false)),
    .init(",1.5\r\n", .double(1.5)),
    .init(",-0.25\r\n", .double(-0.25)),
    .init(",10\r\n", .double(10)),
    .init(",1.5e3\r\n", .double(1500)),
    .init(",2E-2\r\n", .double(0.02)),
    .init(",inf\r\n", .double(.infinity)),
    .init(",-inf\r\n", .double(-.infinity)),
    .init("(3492890328409238509324850943850943825024385\r\n", .bigNumber("3492890328409238509324850943850943825024385")),
    .init("(-3492890328409238509324850943850943825024385\r\n", .bigNumber("-3492890328409238509324850943850943825024385")),
    .init("!21\r\nSYNTAX invalid syntax\r\n", .error(RESPServerError(code: "SYNTAX", message: "invalid syntax", isBulk: true))),
    .init("=15\r\ntxt:Some string\r\n", .verbatimString(format: "txt", text: Array("Some string".utf8))),
    .init("=4\r\nmkd:\r\n", .verbatimString(format: "mkd", text: [])),
    .init("%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n",
          .map([RESPPair(.simpleString("first"), .integer(1)), RESPPair(.simpleString("second"), .integer(2))])),
    .init("%0\r\n", .map([])),
    .init("~3\r\n+a\r\n+b\r\n#t\r\n", .set([.simpleString("a"), .simpleString("b"), .boolean(true)])),
    .init(">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n", .push([b("message"), b("ch"), b("hi")])),
    .init("|1\r\n+key-popularity\r\n*2\r\n$1\r\na\r\n,0.1923\r\n*2\r\n:2039123\r\n:9543892\r\n",
          .attributed(attributes: [RESPPair(.simpleString("key-popularity"), .array([b("a"), .double(0.1923)]))],
                      value: .array([.integer(2039123), .integer(9543892)]))),
    // An attribute inside an aggregate annotates one element and does not count as one.
    .init("*2\r\n:1\r\n|1\r\n+ttl\r\n:3600\r\n:2\r\n",
          .array([.integer(1), .attributed(attributes: [RESPPair(.simpleString("ttl"), .integer(3600))], value: .integer(2))])),
    .init("|0\r\n+x\r\n", .attributed(attributes: [], value: .simpleString("x"))),
    // Streamed strings and aggregates
    .init("$?\r\n;4\r\nHell\r\n;5\r\no wor\r\n;1\r\nd\r\n;0\r\n", b("Hello word")),
    .init("$?\r\n;0\r\n", b("")),
    .init("*?\r\n:1\r\n:2\r\n.\r\n", .array([.integer(1), .integer(2)])),
    .init("~?\r\n.\r\n", .set([])),
    .init("%?\r\n+a\r\n:1\r\n.\r\n", .map([RESPPair(.simpleString("a"), .integer(1))])),
    .init("*?\r\n*?\r\n.\r\n$?\r\n;1\r\nx\r\n;0\r\n.\r\n", .array([.array([]), b("x")])),
    // A HELLO 3 reply as Redis 7 sends it (abridged).
    .init("%3\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n$7\r\nmodules\r\n*0\r\n",
          .map([RESPPair(b("server"), b("redis")), RESPPair(b("proto"), .integer(3)), RESPPair(b("modules"), .array([]))])),
]

/// Feeds `wire` in the given chunk sizes (cycled) and collects every decoded value.
func decodeAll(_ wire: [UInt8], chunk: Int, limits: RESPDecoderLimits = .default) throws(RESPDecodingError) -> [RESPValue] {
    var reader = RESPReader(limits: limits)
    var values: [RESPValue] = []
    var i = 0
    while i < wire.count {
        let end = min(wire.count, i + chunk)
        reader.feed(wire[i..<end])
        i = end
        while let v = try reader.next() { values.append(v) }
    }
    return values
}

@Suite struct RESPDecoderTests {
    @Test(arguments: decodeVectors)
    func decodesWholeAndByteByByte(_ vector: DecodeVector) throws {
        let wire = Array(vector.wire.utf8)
        for chunk in [wire.count, 1, 2, 3, 7] {
            let values = try decodeAll(wire, chunk: chunk)
            #expect(values == [vector.expected], "chunk size \(chunk)")
        }
    }

    @Test func nanDecodes() throws {
        let values = try decodeAll(Array(",nan\r\n".utf8), chunk: 1)
        guard case .double(let d) = values.first else { Issue.record("not a double: \(values)"); return }
        #expect(d.isNaN)
    }

    @Test func allVectorsBackToBackInOneStream() throws {
        let wire = decodeVectors.flatMap { Array($0.wire.utf8) }
        for chunk in [wire.count, 1, 5, 64] {
            #expect(try decodeAll(wire, chunk: chunk) == decodeVectors.map(\.expected))
        }
    }

    @Test func consumedCountLeavesTrailingBytes() throws {
        var decoder = RESPDecoder()
        let wire = Array("+OK\r\n:1".utf8)
        let (value, consumed) = try wire.withUnsafeBytes { try decoder.decode($0) }
        #expect(value == .simpleString("OK"))
        #expect(consumed == 5)
    }

    @Test func partialAggregateIsNotRescanned() throws {
        // Elements already decoded are consumed even though their array is incomplete: the caller's
        // buffer never holds more than the element in progress.
        var decoder = RESPDecoder()
        let first = Array("*3\r\n$3\r\nfoo\r\n:12".utf8)
        let r1 = try first.withUnsafeBytes { try decoder.decode($0) }
        #expect(r1.value == nil)
        #expect(r1.consumed == 13)   // header and "foo" consumed, ":12" awaits its CRLF
        #expect(!decoder.isIdle)
        let rest = Array(":12\r\n+bar\r\n".utf8)
        let r2 = try rest.withUnsafeBytes { try decoder.decode($0) }
        #expect(r2.value == .array([b("foo"), .integer(12), .simpleString("bar")]))
        #expect(r2.consumed == rest.count)
        #expect(decoder.isIdle)
    }

    @Test func bulkPayloadIsAwaitedByLength() throws {
        var decoder = RESPDecoder()
        let header = Array("$10\r\nabc".utf8)
        let r1 = try header.withUnsafeBytes { try decoder.decode($0) }
        #expect(r1.value == nil)
        #expect(r1.consumed == 5)
        #expect(decoder.bytesNeededHint == 12)
    }

    @Test func hugeCountHeaderAllocatesNothing() throws {
        // hiredis #1357: 12 bytes claiming 2^32-1 elements. The header is accepted (within the
        // element limit) but storage is bounded by the bytes received: nothing is reserved.
        var reader = RESPReader()
        reader.feed(Array("*4294967295\r\n".utf8))
        #expect(try reader.next() == nil)
        reader.feed(Array(":1\r\n".utf8))
        #expect(try reader.next() == nil)
    }

    @Test func valuesOutliveTheirBuffer() throws {
        var reader = RESPReader()
        reader.feed(Array("$3\r\nabc\r\n$3\r\ndef\r\n".utf8))
        let a = try reader.next()
        let c = try reader.next()
        #expect(a == b("abc"))
        #expect(c == b("def"))
    }
}

/// A malformed (or over-limit) wire vector and the error it must raise.
struct MalformedVector: Sendable, CustomTestStringConvertible {
    let wire: String
    let kind: RESPDecodingError.Kind
    let limits: RESPDecoderLimits
    init(_ wire: String, _ kind: RESPDecodingError.Kind, limits: RESPDecoderLimits = .default) {
        self.wire = wire
        self.kind = kind
        self.limits = limits
    }
    var testDescription: String { wire.debugDescription }
}

let small = RESPDecoderLimits(maxBulkLength: 16, maxElementCount: 4, maxDepth: 3, maxLineLength: 8)

let malformedVectors: [MalformedVector] = [
    .init("?\r\n", .unknownType(UInt8(ascii: "?"))),
    .init("\r\n", .unknownType(UInt8(ascii: "\r"))),
    .init("+OK\rX", .missingCRLF),
    .init("+OK\nmore bytes", .lineTooLong(limit: 8), limits: small),     // bare LF is not a terminator
    .init("$3\r\nabcX\r\n", .missingCRLF),
    .init("$3\r\nabc\rX", .missingCRLF),
    .init("$\r\n", .invalidLength),
    .init("$-2\r\n", .invalidLength),
    .init("$abc\r\n", .invalidLength),
    .init("$ 3\r\n", .invalidLength),
    .init("$99999999999999999999\r\n", .invalidLength),
    .init("!-1\r\n", .invalidLength),
    .init("=?\r\n", .invalidLength),
    .init("*-2\r\n", .invalidLength),
    .init("*x\r\n", .invalidLength),
    .init("%-1\r\n", .invalidLength),
    .init(">?\r\n", .invalidLength),
    .init(":\r\n", .invalidInteger),
    .init(":-\r\n", .invalidInteger),
    .init(":12a\r\n", .invalidInteger),
    .init(":9223372036854775808\r\n", .invalidInteger),
    .init(":-9223372036854775809\r\n", .invalidInteger),
    .init(",\r\n", .invalidDouble),
    .init(",1.\r\n", .invalidDouble),
    .init(",.5\r\n", .invalidDouble),
    .init(",1e\r\n", .invalidDouble),
    .init(",infinity\r\n", .invalidDouble),
    .init(",0x10\r\n", .invalidDouble),
    .init("#x\r\n", .invalidBoolean),
    .init("#\r\n", .invalidBoolean),
    .init("#tt\r\n", .invalidBoolean),
    .init("(\r\n", .invalidBigNumber),
    .init("(12a\r\n", .invalidBigNumber),
    .init("(-\r\n", .invalidBigNumber),
    .init("_x\r\n", .invalidNull),
    .init("=3\r\ntxt\r\n", .invalidVerbatimString),
    .init("=5\r\ntxt-x\r\n", .invalidVerbatimString),
    .init(";3\r\nabc\r\n", .unexpectedStreamMarker(UInt8(ascii: ";"))),
    .init(".\r\n", .unexpectedStreamMarker(UInt8(ascii: "."))),
    .init("*1\r\n.\r\n", .unexpectedStreamMarker(UInt8(ascii: "."))),
    .init("*?\r\n.x\r\n", .unexpectedStreamMarker(UInt8(ascii: "."))),
    .init("$?\r\n+a\r\n", .expectedStreamedStringChunk(UInt8(ascii: "+"))),
    .init("$?\r\n;x\r\n", .invalidLength),
    .init("%?\r\n+a\r\n.\r\n", .oddStreamedMap),
    .init("$17\r\n", .bulkTooLong(length: 17, limit: 16), limits: small),
    .init("!17\r\n", .bulkTooLong(length: 17, limit: 16), limits: small),
    .init("$?\r\n;10\r\n0123456789\r\n;7\r\n", .bulkTooLong(length: 17, limit: 16), limits: small),
    .init("*5\r\n", .tooManyElements(count: 5, limit: 4), limits: small),
    .init("%5\r\n", .tooManyElements(count: 5, limit: 4), limits: small),
    .init("*4294967295\r\n", .tooManyElements(count: 4294967295, limit: 4),
          limits: RESPDecoderLimits(maxElementCount: 4)),
    .init("*1\r\n*1\r\n*1\r\n*1\r\n", .tooDeep(limit: 3), limits: small),
    .init("|1\r\n+a\r\n+b\r\n|1\r\n+a\r\n+b\r\n|1\r\n+a\r\n+b\r\n|1\r\n", .tooDeep(limit: 3), limits: small),
    .init("+123456789", .lineTooLong(limit: 8), limits: small),
    .init("+123456789\r\n", .lineTooLong(limit: 8), limits: small),
]

@Suite struct RESPDecoderMalformedTests {
    @Test(arguments: malformedVectors)
    func rejects(_ vector: MalformedVector) {
        let wire = Array(vector.wire.utf8)
        for chunk in [wire.count, 1] {
            do {
                let values = try decodeAll(wire, chunk: chunk, limits: vector.limits)
                Issue.record("decoded \(values) instead of failing, chunk \(chunk)")
            } catch {
                #expect(error.kind == vector.kind, "chunk \(chunk): \(error)")
            }
        }
    }

    @Test func errorDescriptionNamesOffsetAndCause() {
        var reader = RESPReader()
        reader.feed(Array("+OK\r\n:x\r\n".utf8))
        #expect(throws: RESPDecodingError(.invalidInteger, offset: 5)) {
            while try reader.next() != nil {}
        }
        #expect(RESPDecodingError(.invalidInteger, offset: 5).description == "RESP protocol error at byte 5: invalid integer")
    }
}
