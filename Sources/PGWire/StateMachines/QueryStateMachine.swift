/// One request/response exchange, up to and including its ReadyForQuery, sans I/O.
///
/// A request is whatever the client sent before (and including) one Sync or one simple Query:
/// a prepare (Parse/Describe/Sync), an execution (Bind/Execute/Sync, with or without Parse and
/// Describe), a pipeline of several executions before one Sync, a simple multi-statement query,
/// or a COPY. The machine checks that the server's answer fits the request and turns it into
/// actions. Asynchronous messages (NoticeResponse, NotificationResponse, ParameterStatus) are
/// handled by the connection before they get here.
public struct QueryStateMachine: Sendable {
    public enum Kind: Sendable, Equatable {
        /// Parse + Describe(statement) + Sync.
        case prepare
        /// One or more Bind/Execute before one Sync. For each Execute: the row description the
        /// client already knows (a cached prepared statement, Describe not sent), or nil when a
        /// Describe(portal) precedes it and the server will say.
        case extended([RowDescription?])
        /// A simple Query: any number of statements, each with its own result.
        case simple
    }

    public enum Action: Sendable, Equatable {
        case wait
        /// Parse succeeded and the statement's parameter types are known (prepare).
        case parameterDescription([PGOID])
        /// A result set starts with these columns (for a prepare: the statement's columns).
        case rowDescription(RowDescription)
        /// The statement returns no rows (prepare, or Describe of a portal).
        case noData
        case row(DataRow)
        /// One statement finished ("INSERT 0 1", "SELECT 3", "" for an empty query).
        case commandComplete(String)
        /// The server waits for CopyData from the client.
        case copyIn(CopyResponse)
        /// The server starts sending CopyData.
        case copyOut(CopyResponse)
        case copyData([UInt8])
        /// The statement failed; rest of the request is skipped by the server up to ReadyForQuery.
        case error(PGServerError)
        /// The exchange is over; the connection is ready for the next request.
        case done(TransactionStatus)
        /// The server broke the protocol; close the connection.
        case close(PGError)
    }

    enum State: Sendable, Equatable {
        /// Between statements: waiting for Parse/Bind acknowledgements, a description or the result.
        case awaitingResult
        /// Rows of a result set are arriving.
        case rows(RowDescription)
        case copyIn
        case copyOut
        case copyOutDone
        /// An ErrorResponse arrived: everything up to ReadyForQuery is ignored.
        case draining
        case done
        case closed
    }

    let kind: Kind
    var state: State = .awaitingResult
    /// Index of the Execute whose result is arriving (extended).
    var statement = 0
    /// Columns learnt from Describe(portal) for the current Execute.
    var described: RowDescription?
    /// The server's error, if the request failed.
    public private(set) var error: PGServerError?

    public init(_ kind: Kind) { self.kind = kind }

    public var isDone: Bool { state == .done || state == .closed }

    public mutating func received(_ message: BackendMessage) -> Action {
        switch (state, message) {
        case (.done, _), (.closed, _):
            return close(.protocolViolation("message after ReadyForQuery: \(message)"))

        case (_, .readyForQuery(let status)):
            switch state {
            case .awaitingResult, .draining: break
            case .copyIn, .copyOut, .rows, .copyOutDone:
                // libpq tolerates nothing here either: a result cut short means a lost message.
                if error == nil { return close(.protocolViolation("ReadyForQuery in the middle of a result")) }
            case .done, .closed: break
            }
            if case .extended(let presets) = kind, error == nil, statement < presets.count {
                return close(.protocolViolation("ReadyForQuery after \(statement) of \(presets.count) results"))
            }
            state = .done
            return .done(status)

        case (.draining, _):
            return .wait

        case (_, .errorResponse(let e)):
            error = e
            state = .draining
            return .error(e)

        case (.awaitingResult, .parseComplete), (.awaitingResult, .bindComplete), (.awaitingResult, .closeComplete):
            return .wait

        case (.awaitingResult, .parameterDescription(let oids)):
            guard kind == .prepare else { return close(.protocolViolation("unexpected ParameterDescription")) }
            return .parameterDescription(oids)

        case (.awaitingResult, .rowDescription(let d)):
            switch kind {
            case .prepare: return .rowDescription(d)
            case .simple:
                state = .rows(d)
                return .rowDescription(d)
            case .extended:
                described = d
                return .rowDescription(d)
            }

        case (.awaitingResult, .noData):
            if case .extended = kind { described = nil }
            return .noData

        case (.awaitingResult, .dataRow(let row)):
            // First row of an extended Execute: columns come from Describe or the cache.
            guard case .extended(let presets) = kind, statement < presets.count,
                  let columns = described ?? presets[statement] else {
                return close(.protocolViolation("DataRow without a RowDescription"))
            }
            guard row.columnCount == columns.columns.count else {
                return close(.protocolViolation("DataRow has \(row.columnCount) columns, description has \(columns.columns.count)"))
            }
            state = .rows(columns)
            return .row(row)

        case (.rows(let d), .dataRow(let row)):
            guard row.columnCount == d.columns.count else {
                return close(.protocolViolation("DataRow has \(row.columnCount) columns, description has \(d.columns.count)"))
            }
            return .row(row)

        case (.awaitingResult, .commandComplete(let tag)), (.rows, .commandComplete(let tag)),
             (.copyOutDone, .commandComplete(let tag)), (.copyIn, .commandComplete(let tag)):
            return finishStatement(tag)

        case (.awaitingResult, .emptyQueryResponse):
            return finishStatement("")

        case (.rows, .portalSuspended), (.awaitingResult, .portalSuspended):
            return finishStatement("")

        case (.awaitingResult, .copyInResponse(let r)):
            state = .copyIn
            return .copyIn(r)

        case (.awaitingResult, .copyOutResponse(let r)):
            state = .copyOut
            return .copyOut(r)

        case (.copyOut, .copyData(let data)):
            return .copyData(data)

        case (.copyOut, .copyDone):
            state = .copyOutDone
            return .wait

        default:
            return close(.protocolViolation("unexpected \(message) while \(state)"))
        }
    }

    private mutating func finishStatement(_ tag: String) -> Action {
        state = .awaitingResult
        described = nil
        if case .extended(let presets) = kind {
            statement += 1
            if statement > presets.count { return close(.protocolViolation("more results than Execute messages")) }
        }
        return .commandComplete(tag)
    }

    private mutating func close(_ error: PGError) -> Action {
        state = .closed
        return .close(error)
    }
}
