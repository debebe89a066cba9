import Testing
@testable import PGWire

/// A `String` read from a binary column is PostgreSQL's own text spelling of the value (what the
/// server prints in text format with its default settings: extra_float_digits 1, IntervalStyle
/// postgres). Expected strings below were printed by PostgreSQL 15; `BinaryAsTextServerTests`
/// compares against the server itself over many random values.
@Suite struct BinaryAsTextTests {
    static func bigEndian<I: FixedWidthInteger>(_ v: I) -> [UInt8] {
        withUnsafeBytes(of: v.bigEndian) { Array($0) }
    }

    static func text(_ bytes: [UInt8], _ type: PGOID) throws -> String {
        try decode(bytes, type, .binary, as: String.self)
    }

    @Test(arguments: [
        (1.0, "1"), (1.1, "1.1"), (-0.0, "-0"), (0.0, "0"), (.nan, "NaN"), (.infinity, "Infinity"),
        (-.infinity, "-Infinity"), (1e20, "1e+20"), (1.5e-7, "1.5e-07"), (1e15, "1e+15"), (1e14, "100000000000000"),
        (123456789012345.6, "123456789012345.6"), (1e-4, "0.0001"), (1e-5, "1e-05"), (0.00012345, "0.00012345"),
        (Double.leastNonzeroMagnitude, "5e-324"), (.greatestFiniteMagnitude, "1.7976931348623157e+308"),
        (2.2250738585072014e-308, "2.2250738585072014e-308"), (100, "100"), (1234567890123456768, "1.2345678901234568e+18"),
        (0.1, "0.1"), (3.141592653589793, "3.141592653589793"), (-2.5e-5, "-2.5e-05"), (1e100, "1e+100"),
        // Shorter digits exist but lie exactly on a bound (the reader would have to round the tie
        // to even): PostgreSQL's Ryu never relies on that, Swift's description does.
        (3.1722300588172752e+16, "3.1722300588172752e+16"),
    ] as [(Double, String)])
    func float8(_ value: Double, _ expected: String) throws {
        #expect(try Self.text(Self.bigEndian(value.bitPattern), .float8) == expected)
    }

    @Test(arguments: [
        (1.1, "1.1"), (1e6, "1e+06"), (1e5, "100000"), (123456, "123456"), (1234567, "1.234567e+06"),
        (0.0001, "0.0001"), (1.5e-7, "1.5e-07"), (.leastNonzeroMagnitude, "1e-45"), (.greatestFiniteMagnitude, "3.4028235e+38"),
        (16777216, "1.6777216e+07"), (-0.0, "-0"), (.nan, "NaN"), (-.infinity, "-Infinity"), (0.1, "0.1"), (1, "1"),
        (-4.2219952e+07, "-4.2219952e+07"), (-7.1010163e+08, "-7.1010163e+08"),  // on a bound, see float8
    ] as [(Float, String)])
    func float4(_ value: Float, _ expected: String) throws {
        #expect(try Self.text(Self.bigEndian(value.bitPattern), .float4) == expected)
    }

    /// The fast path (Swift's shortest digits unless they sit on a bound) against the exact digit
    /// generation, on random bit patterns of both widths.
    @Test func fastAndExactFloatSpellingsAgree() {
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x }
        for _ in 0..<3000 {
            let d = Double(bitPattern: next())
            #expect(postgresText(d) == postgresText(d, exact: true), "\(d.bitPattern)")
            let f = Float(bitPattern: UInt32(truncatingIfNeeded: next()))
            #expect(postgresText(f) == postgresText(f, exact: true), "\(f.bitPattern)")
            let big = Float(Int32(truncatingIfNeeded: next()))  // large integers: many ties on bounds
            #expect(postgresText(big) == postgresText(big, exact: true), "\(big.bitPattern)")
        }
    }

    /// PostgreSQL's EncodeInterval (IntervalStyle postgres): a field after a negative one carries
    /// an explicit "+" when positive — only the field right after it (each field sets the rule
    /// for the next one).
    @Test(arguments: [
        (PGInterval(months: -1, days: 3, microseconds: 14_400_000_000), "-1 mons +3 days 04:00:00"),
        (PGInterval(months: -12, days: 2), "-1 years +2 days"),
        (PGInterval(months: 10), "10 mons"),
        (PGInterval(days: -1, microseconds: 3_600_000_000), "-1 days +01:00:00"),
        (PGInterval(days: 1, microseconds: -3_600_000_000), "1 day -01:00:00"),
        (PGInterval(), "00:00:00"),
        (PGInterval(months: -13), "-1 years -1 mons"),
        (PGInterval(months: 1, days: -1, microseconds: -500_000), "1 mon -1 days -00:00:00.5"),
        (PGInterval(months: -12, days: -2, microseconds: -10_800_000_000), "-1 years -2 days -03:00:00"),
        (PGInterval(days: 2, microseconds: 1_000_001), "2 days 00:00:01.000001"),
        (PGInterval(days: -2, microseconds: 1), "-2 days +00:00:00.000001"),
        (PGInterval(months: 2_147_483_647, days: 2_147_483_647, microseconds: 9_223_372_036_854_775_806),
         "178956970 years 7 mons 2147483647 days 2562047788:00:54.775806"),
        (PGInterval(months: -1, days: 1), "-1 mons +1 day"),
        (PGInterval(months: -1, days: -1), "-1 mons -1 days"),
        (PGInterval(months: -1, days: 1, microseconds: -3_600_000_000), "-1 mons +1 day -01:00:00"),
        (PGInterval(months: 12, days: -1, microseconds: 3_600_000_000), "1 year -1 days +01:00:00"),
        (PGInterval(months: -12, microseconds: 60_000_000), "-1 years +00:01:00"),
        (PGInterval(microseconds: -1), "-00:00:00.000001"),
    ])
    func interval(_ value: PGInterval, _ expected: String) throws {
        #expect(value.description == expected)
        var bytes = [UInt8]()
        try value.encode(into: &bytes)
        #expect(try Self.text(bytes, .interval) == expected)
        // And the spelling reads back as the same interval.
        #expect(PGInterval.parse(expected) == value)
    }

    /// PostgreSQL 17's infinite intervals (all three fields at their limits).
    @Test func infiniteIntervals() {
        #expect(PGInterval(months: .max, days: .max, microseconds: .max).description == "infinity")
        #expect(PGInterval(months: .min, days: .min, microseconds: .min).description == "-infinity")
    }

    /// A binary array as array_send writes it: dimensions with lower bounds, then each element's
    /// length (-1 for NULL) and bytes.
    static func array(_ element: PGOID, dims: [(count: Int32, lowerBound: Int32)], _ elements: [[UInt8]?]) -> [UInt8] {
        var out = bigEndian(Int32(dims.count)) + bigEndian(Int32(elements.contains { $0 == nil } ? 1 : 0))
        out += bigEndian(element.rawValue)
        for d in dims { out += bigEndian(d.count) + bigEndian(d.lowerBound) }
        for e in elements {
            if let e { out += bigEndian(Int32(e.count)) + e } else { out += bigEndian(Int32(-1)) }
        }
        return out
    }

    static func int4(_ v: Int32) -> [UInt8]? { bigEndian(v) }
    static func text(_ s: String) -> [UInt8]? { Array(s.utf8) }

    @Test func arraysKeepTheirLowerBoundsAndShape() throws {
        #expect(try Self.text(Self.array(.int4, dims: [(3, 0)], [1, 2, 3].map(Self.int4)), .int4Array) == "[0:2]={1,2,3}")
        #expect(try Self.text(Self.array(.int4, dims: [(2, 1), (2, 3)], [1, 2, 3, 4].map(Self.int4)), .int4Array)
                == "[1:2][3:4]={{1,2},{3,4}}")
        #expect(try Self.text(Self.array(.int4, dims: [(2, 1), (2, 1)], [Self.int4(1), Self.int4(2), Self.int4(3), nil]), .int4Array)
                == "{{1,2},{3,NULL}}")
        #expect(try Self.text(Self.array(.int4, dims: [(1, -5)], [Self.int4(7)]), .int4Array) == "[-5:-5]={7}")
        #expect(try Self.text(Self.array(.int4, dims: [], []), .int4Array) == "{}")
        #expect(try Self.text(Self.array(.int4, dims: Array(repeating: (1, 1), count: 6), [Self.int4(9)]), .int4Array)
                == "{{{{{{9}}}}}}")
        #expect(try Self.text(Self.array(.float4, dims: [(3, 1)], [Float(1.5), 0.1, -0.0].map { Self.bigEndian($0.bitPattern) }), .float4Array)
                == "{1.5,0.1,-0}")
    }

    /// array_out's quoting: an element is quoted when empty, when it is "NULL" in any case, or
    /// when it holds a quote, backslash, brace, the delimiter or white space (space, \t, \n, \r,
    /// \v, \f); inside quotes only " and \ are escaped. Checked byte by byte: "a\r\nb" is one
    /// Character in Swift but holds \r and \n, and a quote followed by a combining accent is one
    /// Character but still a quote to PostgreSQL.
    @Test(arguments: [
        ("plain", "plain"), ("", "\"\""), ("NULL", "\"NULL\""), ("null", "\"null\""), ("NuLl", "\"NuLl\""), ("NULLs", "NULLs"),
        ("a b", "\"a b\""), ("a\tb", "\"a\tb\""), ("a\nb", "\"a\nb\""), ("a\rb", "\"a\rb\""), ("a\u{0B}b", "\"a\u{0B}b\""),
        ("a\u{0C}b", "\"a\u{0C}b\""), ("a\r\nb", "\"a\r\nb\""), ("q\"x", "\"q\\\"x\""), ("back\\slash", "\"back\\\\slash\""),
        ("{", "\"{\""), ("}", "\"}\""), ("a,b", "\"a,b\""), ("a;b", "a;b"), ("[1]", "[1]"), ("é", "é"),
        ("\"\u{301}", "\"\\\"\u{301}\""), ("\\\u{301}", "\"\\\\\u{301}\""), ("🎬 x", "\"🎬 x\""), ("x=y:z", "x=y:z"),
    ])
    func textElementQuoting(_ element: String, _ expected: String) throws {
        #expect(try Self.text(Self.array(.text, dims: [(1, 1)], [Self.text(element)]), .textArray) == "{\(expected)}")
    }

    @Test func malformedArraysAreErrorsNotCrashes() {
        // More dimensions than PostgreSQL allows, a count larger than the bytes, a negative count,
        // a truncated element, an element length past the end.
        let bad: [[UInt8]] = [
            Self.array(.int4, dims: Array(repeating: (1, 1), count: 7), [Self.int4(1)]),
            Self.array(.int4, dims: [(1000, 1)], [Self.int4(1)]),
            Self.array(.int4, dims: [(-1, 1)], []),
            Array(Self.array(.int4, dims: [(2, 1)], [Self.int4(1), Self.int4(2)]).dropLast(2)),
            Self.bigEndian(Int32(1)) + Self.bigEndian(Int32(0)) + Self.bigEndian(PGOID.int4.rawValue)
                + Self.bigEndian(Int32(1)) + Self.bigEndian(Int32(1)) + Self.bigEndian(Int32(100)),
            Self.array(.int4, dims: [(65536, 1), (65536, 1)], []),
        ]
        for bytes in bad {
            #expect(throws: PGError.self) { try Self.text(bytes, .int4Array) }
        }
    }
}
