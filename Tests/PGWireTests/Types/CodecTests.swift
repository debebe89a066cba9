import Testing
@testable import PGWire

/// Encodes with the type's encoder, then decodes those bytes as binary of `type`.
func binaryRoundTrip<T: PGEncodable & PGDecodable>(_ v: T, as type: PGOID? = nil) throws -> T {
    var bytes = [UInt8]()
    try v.encode(into: &bytes)
    return try decode(bytes, type ?? T.pgType, .binary)
}

func decode<T: PGDecodable>(_ bytes: [UInt8]?, _ type: PGOID, _ format: PGFormat, as _: T.Type = T.self) throws -> T {
    guard let bytes else { return try T.decode(from: PGValue(bytes: nil, type: type, format: format)) }
    let r: Result<T, PGError> = bytes.withUnsafeBytes { raw in
        do throws(PGError) { return .success(try T.decode(from: PGValue(bytes: raw, type: type, format: format))) } catch { return .failure(error) }
    }
    return try r.get()
}

func text<T: PGDecodable>(_ s: String, _ type: PGOID, as _: T.Type = T.self) throws -> T {
    try decode(Array(s.utf8), type, .text)
}

@Suite struct CodecTests {
    @Test func integersAndBool() throws {
        for v in [Int64.min, -1, 0, 1, Int64.max] { #expect(try binaryRoundTrip(v) == v) }
        for v in [Int32.min, 0, Int32.max] { #expect(try binaryRoundTrip(v) == v) }
        for v in [Int16.min, 0, Int16.max] { #expect(try binaryRoundTrip(v) == v) }
        #expect(try binaryRoundTrip(true) == true && binaryRoundTrip(false) == false)
        #expect(try text("-9223372036854775808", .int8, as: Int64.self) == .min)
        #expect(try text("t", .bool, as: Bool.self) && !text("f", .bool, as: Bool.self))
        // int2 bytes widen into Int; an int8 too large for Int16 is an error, not a wrap.
        #expect(try decode([0xff, 0xfe], .int2, .binary, as: Int.self) == -2)
        #expect(throws: PGError.self) { try decode([0, 0, 0, 0, 0, 1, 0, 0], .int8, .binary, as: Int16.self) }
        #expect(throws: PGError.self) { try text("99999999999999999999", .int8, as: Int64.self) }
        #expect(throws: PGError.self) { try decode(nil, .int4, .binary, as: Int32.self) }
        #expect(try decode(nil, .int4, .binary, as: Int32?.self) == nil)
    }

    @Test func floats() throws {
        for v in [Double.leastNonzeroMagnitude, -0.0, 1.5, .greatestFiniteMagnitude, .infinity, -.infinity] {
            #expect(try binaryRoundTrip(v) == v)
        }
        #expect(try binaryRoundTrip(Double.nan).isNaN)
        #expect(try binaryRoundTrip(Float(3.25)) == 3.25)
        #expect(try text("NaN", .float8, as: Double.self).isNaN)
        #expect(try text("-Infinity", .float8, as: Double.self) == -.infinity)
        #expect(try text("1.7976931348623157e+308", .float8, as: Double.self) == .greatestFiniteMagnitude)
    }

    @Test(arguments: [
        ("0", [0, 0, 0, 0, 0, 0, 0, 0] as [UInt8]),
        ("1", [0, 1, 0, 0, 0, 0, 0, 0, 0, 1]),
        ("-12.50", [0, 2, 0, 0, 0x40, 0, 0, 2, 0, 12, 0x13, 0x88]),
        ("10000", [0, 1, 0, 1, 0, 0, 0, 0, 0, 1]),
        ("0.0001", [0, 1, 0xff, 0xff, 0, 0, 0, 4, 0, 1]),
        ("NaN", [0, 0, 0, 0, 0xC0, 0, 0, 0]),
    ])
    func numericBinaryVectors(_ text: String, _ bytes: [UInt8]) throws {
        var out = [UInt8]()
        try PGNumeric(text)!.encode(into: &out)
        #expect(out == bytes)
        #expect(try decode(bytes, .numeric, .binary, as: PGNumeric.self).description == text)
    }

    @Test func numericFortyDigitsExact() throws {
        for s in ["1234567890123456789012345678901234567890", "-0.0000000000000000000000000000000000000001",
                  "12345678901234567890.12345678901234567890", "100000000.00000000", "0.5", "Infinity", "-Infinity"] {
            #expect(try binaryRoundTrip(PGNumeric(s)!).description == s)
        }
        #expect(PGNumeric("1e5") == nil && PGNumeric("") == nil && PGNumeric("1.2.3") == nil)
    }

    @Test func stringsAndBytes() throws {
        #expect(try decode(Array("héllo 🐘".utf8), .text, .binary, as: String.self) == "héllo 🐘")
        #expect(try decode([1] + Array("{\"a\":1}".utf8), .jsonb, .binary, as: String.self) == "{\"a\":1}")
        #expect(try binaryRoundTrip(PGBytea([0, 1, 255])) == PGBytea([0, 1, 255]))
        #expect(try text("\\x00ff10", .bytea, as: PGBytea.self) == PGBytea([0, 255, 16]))
        #expect(try text("a\\\\b\\001", .bytea, as: PGBytea.self) == PGBytea([97, 92, 98, 1]))
        #expect(try binaryRoundTrip(PGJSONB("[1, 2]")) == PGJSONB("[1, 2]"))
        #expect(try binaryRoundTrip(PGJSON("{}")) == PGJSON("{}"))
    }

    @Test func uuid() throws {
        let u = PGUUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")!
        #expect(u.description == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
        #expect(PGUUID("{A0EEBC999C0B4EF8BB6D6BB9BD380A11}") == u)
        #expect(try binaryRoundTrip(u) == u)
        #expect(try text(u.description, .uuid, as: PGUUID.self) == u)
        #expect(PGUUID("xyz") == nil)
    }

    @Test func dates() throws {
        #expect(PGDate(year: 2000, month: 1, day: 1).daysSince2000 == 0)
        #expect(PGDate(year: 1999, month: 12, day: 31).daysSince2000 == -1)
        #expect(PGDate(year: 2024, month: 2, day: 29).description == "2024-02-29")
        #expect(PGDate(year: 0, month: 1, day: 1).description == "0001-01-01 BC")
        #expect(try text("0001-01-01 BC", .date, as: PGDate.self) == PGDate(year: 0, month: 1, day: 1))
        #expect(try text("infinity", .date, as: PGDate.self) == .infinity)
        #expect(try binaryRoundTrip(PGDate(year: 9999, month: 12, day: 31)) == PGDate(year: 9999, month: 12, day: 31))
    }

    @Test func timestamps() throws {
        let t = PGTimestamp(year: 2024, month: 3, day: 4, hour: 5, minute: 6, second: 7, microsecond: 890_000)
        #expect(t.description == "2024-03-04 05:06:07.89")
        #expect(try text("2024-03-04 05:06:07.89", .timestamp, as: PGTimestamp.self) == t)
        #expect(try binaryRoundTrip(t) == t)
        // The same instant printed in three time zones.
        let utc = try text("2024-03-04 05:06:07+00", .timestamptz, as: PGTimestampTZ.self)
        #expect(try text("2024-03-04 10:36:07+05:30", .timestamptz, as: PGTimestampTZ.self) == utc)
        #expect(try text("2024-03-03 21:06:07-08", .timestamptz, as: PGTimestampTZ.self) == utc)
        #expect(utc.unixMicroseconds == 1_709_528_767_000_000)
        #expect(PGTimestampTZ(secondsSince1970: 0).description == "1970-01-01 00:00:00+00")
        #expect(try text("1999-12-31 23:59:59.999999", .timestamp, as: PGTimestamp.self).microsecondsSince2000 == -1)
    }

    @Test(arguments: [
        ("1 year 2 mons 3 days 04:05:06.789", PGInterval(months: 14, days: 3, microseconds: 14_706_789_000)),
        ("-1 days +02:00:00", PGInterval(days: -1, microseconds: 7_200_000_000)),
        ("00:00:00", PGInterval()),
        ("-00:00:01", PGInterval(microseconds: -1_000_000)),
        ("-1 years -2 mons", PGInterval(months: -14)),
        ("1 day", PGInterval(days: 1)),
    ])
    func intervals(_ s: String, _ v: PGInterval) throws {
        #expect(try text(s, .interval, as: PGInterval.self) == v)
        #expect(v.description == s)
        #expect(try binaryRoundTrip(v) == v)
    }

    @Test func arrays() throws {
        #expect(try binaryRoundTrip([1, 2, 3]) == [1, 2, 3])
        #expect(try binaryRoundTrip([Int]()) == [])
        #expect(try binaryRoundTrip([Int32?.none, 7]) == [nil, 7])
        #expect(try binaryRoundTrip(["a", "b,c", "ü"]) == ["a", "b,c", "ü"])
        #expect(try binaryRoundTrip([PGNumeric("1.5")!]) == [PGNumeric("1.5")!])
        #expect(try text("{1,NULL,3}", .int4Array, as: [Int?].self) == [1, nil, 3])
        #expect(try text("{\"a b\",\"q\\\"x\",NULL,\"NULL\",plain}", .textArray, as: [String?].self) == ["a b", "q\"x", nil, "NULL", "plain"])
        #expect(try text("{}", .textArray, as: [String].self) == [])
        #expect(try text("[0:1]={5,6}", .int8Array, as: [Int].self) == [5, 6])
        #expect(throws: PGError.self) { try text("{{1},{2}}", .int4Array, as: [Int].self) }
        // Binary header claiming more elements than bytes present.
        #expect(throws: PGError.self) {
            try decode([0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 23, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1], .int4Array, .binary, as: [Int32].self)
        }
    }
}
