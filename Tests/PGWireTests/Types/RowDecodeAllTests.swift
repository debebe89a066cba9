import Testing
@testable import PGWire

/// `decodeAll` reads the row once and gives what decoding each column in turn gives.
@Suite struct RowDecodeAllTests {
    static func column(_ name: String, _ type: PGOID, _ format: PGFormat) -> RowDescription.Column {
        .init(name: name, tableOID: 0, columnAttributeNumber: 0, dataType: type, dataTypeSize: -1, typeModifier: -1, format: format)
    }

    @Test func everyColumnInOnePassAsEachAlone() throws {
        let columns = RowDescription(columns: [
            Self.column("a", .text, .text), Self.column("b", .int4, .binary), Self.column("c", .text, .text),
            Self.column("d", .bool, .binary), Self.column("e", .text, .text),
        ])
        let row = PGRow(columns: columns, data: DataRow(values: [
            Array("héllo".utf8), [0xff, 0xff, 0xff, 0xfe], nil, [1], [],
        ]))
        let all = try row.decodeAll(String?.self)
        #expect(all == ["héllo", "-2", nil, "t", ""])
        #expect(all == (try (0..<row.count).map { try row.decode(String?.self, at: $0) }))
        #expect(try PGRow(columns: RowDescription(columns: []), data: DataRow(values: [])).decodeAll(String?.self).isEmpty)
    }

    @Test func aValueThatDoesNotDecodeNamesItsColumn() throws {
        let columns = RowDescription(columns: [Self.column("n", .int4, .binary), Self.column("missing", .int4, .binary)])
        let row = PGRow(columns: columns, data: DataRow(values: [[0, 0, 0, 7], nil]))
        let error = #expect(throws: PGError.self) { try row.decodeAll(Int32.self) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("missing"), "\(String(describing: error))")
        #expect(try row.decodeAll(Int32?.self) == [7, nil])
    }
}
