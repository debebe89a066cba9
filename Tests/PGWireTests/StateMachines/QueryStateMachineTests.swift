import Testing
@testable import PGWire

@Suite struct QueryStateMachineTests {
    let cols = RowDescription(columns: [.init(name: "a", tableOID: 0, columnAttributeNumber: 0, dataType: .int4,
                                              dataTypeSize: 4, typeModifier: -1, format: .binary)])

    @Test func cachedStatementRowsWithoutDescribe() {
        var m = QueryStateMachine(.extended([cols]))
        #expect(m.received(.bindComplete) == .wait)
        let row = DataRow(values: [[0, 0, 0, 1]])
        #expect(m.received(.dataRow(row)) == .row(row))
        #expect(m.received(.dataRow(row)) == .row(row))
        #expect(m.received(.commandComplete("SELECT 2")) == .commandComplete("SELECT 2"))
        #expect(m.received(.readyForQuery(.idle)) == .done(.idle))
        #expect(m.isDone)
    }

    @Test func describedPortal() {
        var m = QueryStateMachine(.extended([nil]))
        #expect(m.received(.parseComplete) == .wait)
        #expect(m.received(.bindComplete) == .wait)
        #expect(m.received(.rowDescription(cols)) == .rowDescription(cols))
        #expect(m.received(.dataRow(DataRow(values: [nil]))) == .row(DataRow(values: [nil])))
        #expect(m.received(.commandComplete("SELECT 1")) == .commandComplete("SELECT 1"))
        #expect(m.received(.readyForQuery(.idle)) == .done(.idle))
    }

    @Test func pipelineErrorSkipsTheRest() {
        var m = QueryStateMachine(.extended([nil, nil, nil]))
        _ = m.received(.parseComplete); _ = m.received(.bindComplete); _ = m.received(.noData)
        #expect(m.received(.commandComplete("INSERT 0 1")) == .commandComplete("INSERT 0 1"))
        let e = PGServerError(fields: [UInt8(ascii: "C"): "23505"])
        #expect(m.received(.errorResponse(e)) == .error(e))
        #expect(m.received(.readyForQuery(.idle)) == .done(.idle))
        #expect(m.error == e)
    }

    @Test func dataRowWithoutDescriptionIsAViolation() {
        var m = QueryStateMachine(.extended([nil]))
        guard case .close = m.received(.dataRow(DataRow(values: [nil]))) else { Issue.record("accepted"); return }
        var s = QueryStateMachine(.simple)
        guard case .close = s.received(.dataRow(DataRow(values: [nil]))) else { Issue.record("accepted"); return }
    }

    @Test func wrongColumnCountIsAViolation() {
        var m = QueryStateMachine(.extended([cols]))
        guard case .close = m.received(.dataRow(DataRow(values: [nil, nil]))) else { Issue.record("accepted"); return }
    }

    @Test func simpleMultiStatement() {
        var m = QueryStateMachine(.simple)
        #expect(m.received(.commandComplete("CREATE TABLE")) == .commandComplete("CREATE TABLE"))
        #expect(m.received(.rowDescription(cols)) == .rowDescription(cols))
        #expect(m.received(.dataRow(DataRow(values: [[1]]))) == .row(DataRow(values: [[1]])))
        #expect(m.received(.commandComplete("SELECT 1")) == .commandComplete("SELECT 1"))
        #expect(m.received(.emptyQueryResponse) == .commandComplete(""))
        #expect(m.received(.readyForQuery(.inTransaction)) == .done(.inTransaction))
    }

    @Test func copyOut() {
        var m = QueryStateMachine(.simple)
        let r = CopyResponse(format: .text, columnFormats: [.text])
        #expect(m.received(.copyOutResponse(r)) == .copyOut(r))
        #expect(m.received(.copyData([49, 10])) == .copyData([49, 10]))
        #expect(m.received(.copyDone) == .wait)
        #expect(m.received(.commandComplete("COPY 1")) == .commandComplete("COPY 1"))
        #expect(m.received(.readyForQuery(.idle)) == .done(.idle))
    }

    @Test func copyIn() {
        var m = QueryStateMachine(.simple)
        let r = CopyResponse(format: .text, columnFormats: [.text])
        #expect(m.received(.copyInResponse(r)) == .copyIn(r))
        #expect(m.received(.commandComplete("COPY 3")) == .commandComplete("COPY 3"))
        #expect(m.received(.readyForQuery(.idle)) == .done(.idle))
    }

    @Test func readyForQueryMidResultIsAViolation() {
        var m = QueryStateMachine(.extended([cols]))
        _ = m.received(.dataRow(DataRow(values: [[0, 0, 0, 1]])))
        guard case .close = m.received(.readyForQuery(.idle)) else { Issue.record("accepted"); return }
    }

    @Test func prepare() {
        var m = QueryStateMachine(.prepare)
        #expect(m.received(.parseComplete) == .wait)
        #expect(m.received(.parameterDescription([.int4])) == .parameterDescription([.int4]))
        #expect(m.received(.rowDescription(cols)) == .rowDescription(cols))
        #expect(m.received(.readyForQuery(.idle)) == .done(.idle))
    }
}
