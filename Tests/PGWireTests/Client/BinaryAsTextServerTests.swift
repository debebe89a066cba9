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

    private func pow10(_ e: Int) -> Double {
        var r = 1.0
        for _ in 0..<abs(e) { r *= 10 }
        return e < 0 ? 1 / r : r
    }
}
