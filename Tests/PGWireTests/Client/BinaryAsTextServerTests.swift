import Testing
import TestSupport
import Reactor
@testable import PGWire

/// The same values fetched twice from the real server — in binary (a column of the value's own
/// type, turned into text by PGWire) and as the server's own text (`v::text`, the type's output
/// function) — must read the same, for many random values. Session settings are the defaults
/// the documented spelling assumes (extra_float_digits 1, IntervalStyle postgres), with
/// TimeZone UTC (PGWire prints timestamptz in UTC).
@Suite struct BinaryAsTextServerTests {
    /// A deterministic generator (xorshift), so a failure can be replayed.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return state
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    static func connect() async throws -> PGConnection? {
        guard let env = try PGTestEnvironment.get() else { return nil }
        var config = env.config()
        config.runtimeParameters = [("TimeZone", "UTC"), ("extra_float_digits", "1"), ("IntervalStyle", "postgres")]
        return try await PGConnection.connect(config)
    }

    /// Rows of (binary value, server text); records every row where they differ.
    static func compare(_ c: PGConnection, _ sql: String, _ parameters: [any PGEncodable]) async throws -> Int {
        let rows = try await c.collect(sql, parameters)
        var mismatches = 0
        for row in rows {
            let fromBinary = try row.decode(String?.self, at: 0)
            let fromServer = try row.decode(String?.self, at: 1)
            if fromBinary != fromServer {
                mismatches += 1
                if mismatches <= 10 { Issue.record("binary as text \(fromBinary ?? "NULL") != server text \(fromServer ?? "NULL")") }
            }
        }
        return rows.count
    }

    @Test func float8() async throws {
        guard let c = try await Self.connect() else { return }
        defer { Task { await c.close() } }
        var random = Random(state: 0x9E37_79B9_7F4A_7C15)
        var values: [Double] = [0, -0.0, .nan, .infinity, -.infinity, .leastNonzeroMagnitude, .leastNormalMagnitude,
                                .greatestFiniteMagnitude, 1e14, 1e15, 1e16, 1e-4, 1e-5, 0.1, 1.1, 100, 123456789012345.6]
        for _ in 0..<4000 { values.append(Double(bitPattern: random.next())) }                    // any bits
        for _ in 0..<2000 { values.append(Double(random.below(2_000_001) - 1_000_000) / 1000) }   // everyday numbers
        for e in -20...20 { values.append(pow10(e) * 1.5); values.append(-pow10(e)) }               // around the layout switch
        let count = try await Self.compare(c, "SELECT v, v::text FROM unnest($1::float8[]) AS t(v)", [values])
        #expect(count == values.count)
    }

    @Test func float4() async throws {
        guard let c = try await Self.connect() else { return }
        defer { Task { await c.close() } }
        var random = Random(state: 0xD1B5_4A32_D192_ED03)
        var values: [Float] = [0, -0.0, .nan, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
                               1e5, 1e6, 1e-4, 1e-5, 1.1, 0.1, 16_777_216]
        for _ in 0..<4000 { values.append(Float(bitPattern: UInt32(truncatingIfNeeded: random.next()))) }
        for _ in 0..<2000 { values.append(Float(random.below(200_001) - 100_000) / 100) }
        let count = try await Self.compare(c, "SELECT v, v::text FROM unnest($1::float4[]) AS t(v)", [values])
        #expect(count == values.count)
        // Arrays of floats: the elements are spelled the same way.
        _ = try await Self.compare(c, "SELECT $1::float4[], $1::float4[]::text", [Array(values.prefix(200))])
        _ = try await Self.compare(c, "SELECT $1::float8[], $1::float8[]::text", [values.prefix(200).map(Double.init)])
    }

    @Test func intervals() async throws {
        guard let c = try await Self.connect() else { return }
        defer { Task { await c.close() } }
        var random = Random(state: 0x2545_F491_4F6C_DD1D)
        var values: [PGInterval] = [PGInterval(), PGInterval(months: -1, days: 3, microseconds: 14_400_000_000)]
        func field(_ limit: Int) -> Int {  // zero a third of the time, either sign, small or large
            switch random.below(6) {
            case 0, 1: return 0
            case 2: return random.below(25) - 12
            case 3: return random.below(2 * limit + 1) - limit
            default: return random.below(61) - 30
            }
        }
        for _ in 0..<3000 {
            let micros: Int64
            switch random.below(4) {
            case 0: micros = 0
            case 1: micros = Int64(field(1_000_000))
            case 2: micros = Int64(field(86_400)) * 1_000_000
            default: micros = Int64(bitPattern: random.next()) / Int64(1 + random.below(1000))
            }
            values.append(PGInterval(months: Int32(field(2_000_000_000)), days: Int32(field(2_000_000_000)), microseconds: micros))
        }
        let count = try await Self.compare(c, "SELECT v, v::text FROM unnest($1::interval[]) AS t(v)", [values])
        #expect(count == values.count)
    }

    /// Text elements made of the pieces array_out treats specially, in random combinations, in
    /// arrays of every shape: lower bounds other than 1, two dimensions, NULL elements.
    @Test func textArrays() async throws {
        guard let c = try await Self.connect() else { return }
        defer { Task { await c.close() } }
        let pieces = ["a", "B", "\"", "\\", "{", "}", ",", " ", "\t", "\n", "\r", "\u{0B}", "\u{0C}", "NULL", "null", "é",
                      "🎬", "\u{301}", ";", "[", "]", ":", "=", "\r\n", "x y", "0"]
        var random = Random(state: 0x0123_4567_89AB_CDEF)
        for round in 0..<60 {
            let elements = (0..<(1 + random.below(6))).map { _ in
                (0..<random.below(4)).map { _ in pieces[random.below(pieces.count)] }.joined()
            }
            let lower = random.below(11) - 5
            let upper = lower + elements.count - 1
            let shapes = [
                "$1::text[]",
                "('[\(lower):\(upper)]=' || $1::text[]::text)::text[]",
                "ARRAY[$1::text[], $1::text[]]",
                "('[\(lower):\(lower + 1)][\(lower):\(upper)]=' || ARRAY[$1::text[], $1::text[]]::text)::text[]",
                "array_append($1::text[], NULL)",
                "$1::varchar[]",
            ]
            for shape in shapes {
                let sql = "SELECT a, a::text FROM (SELECT \(shape) AS a) AS t"
                #expect(try await Self.compare(c, sql, [elements]) == 1, "round \(round): \(shape)")
            }
        }
    }

    /// Arrays of the other element types PGWire decodes in binary; their elements' own text is
    /// checked by the scalar tests, here the quoting and shapes around it.
    @Test func arraysOfOtherTypes() async throws {
        guard let c = try await Self.connect() else { return }
        defer { Task { await c.close() } }
        let literals = [
            "'[0:2]={1,2,3}'::int4[]", "'[1:2][3:4]={{1,2},{3,4}}'::int8[]", "'{{{{{{1}}}}}}'::int2[]", "'{}'::int4[]",
            "'[-3:-2]={t,f}'::bool[]", "ARRAY[NULL, 1.50, -0.001, 'NaN']::numeric[]", "ARRAY['\\x00ff'::bytea, '\\x'::bytea]",
            "ARRAY['2024-02-29 12:34:56.789'::timestamp, 'infinity']", "ARRAY['2024-02-29 12:34:56+05'::timestamptz]",
            "ARRAY['2024-02-29'::date, '0044-03-15 BC']", "ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid]",
            "ARRAY['-1 mon 3 days 04:00:00'::interval, '0']", "ARRAY['{\"a\": [1, \"b,c\"]}'::jsonb, 'null']",
            "ARRAY['{\"x\":  1}'::json]", "ARRAY['name with space'::name]", "ARRAY['x '::bpchar(3), NULL]",
            "ARRAY[1e20::float8, 'NaN', '-Infinity', 1.5e-7, -0.0]", "'[5:6]={1.1,2.5e-07}'::float4[]", "ARRAY[26::oid]",
        ]
        for literal in literals {
            #expect(try await Self.compare(c, "SELECT a, a::text FROM (SELECT \(literal) AS a) AS t", []) == 1, "\(literal)")
        }
    }

    private func pow10(_ e: Int) -> Double {
        var r = 1.0
        for _ in 0..<abs(e) { r *= 10 }
        return e < 0 ? 1 / r : r
    }
}
