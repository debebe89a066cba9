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
}
