/// A message sent by the server (protocol 3.0), decoded from one complete frame.
public enum BackendMessage: Sendable, Equatable {
    case authentication(AuthenticationRequest)
    case backendKeyData(BackendKeyData)
    case bindComplete
    case closeComplete
    case commandComplete(String)
    case copyData([UInt8])
    case copyDone
    case copyInResponse(CopyResponse)
    case copyOutResponse(CopyResponse)
    case copyBothResponse(CopyResponse)
    case dataRow(DataRow)
    case emptyQueryResponse
    case errorResponse(PGServerError)
    case negotiateProtocolVersion(newestMinor: Int32, unrecognizedOptions: [String])
    case noData
    case noticeResponse(PGServerError)
    case notificationResponse(PGNotification)
    case parameterDescription([PGOID])
    case parameterStatus(name: String, value: String)
    case parseComplete
    case portalSuspended
    case readyForQuery(TransactionStatus)
    case rowDescription(RowDescription)
}

/// What the server asks of the client during authentication ('R').
public enum AuthenticationRequest: Sendable, Equatable {
    case ok
    case cleartextPassword
    case md5Password(salt: [UInt8])
    case sasl(mechanisms: [String])
    case saslContinue([UInt8])
    case saslFinal([UInt8])
    /// Kerberos, SSPI, GSS, SCM credentials: not supported; the code is kept for the error.
    case unsupported(code: Int32)
}

/// The key a CancelRequest must quote to cancel this session's running query.
public struct BackendKeyData: Sendable, Equatable, Hashable {
    public var processID: Int32
    public var secretKey: Int32
    public init(processID: Int32, secretKey: Int32) { self.processID = processID; self.secretKey = secretKey }
}

/// Transaction status reported by ReadyForQuery.
public enum TransactionStatus: UInt8, Sendable, Equatable {
    case idle = 0x49           // 'I'
    case inTransaction = 0x54  // 'T'
    case failed = 0x45         // 'E'
}

public struct CopyResponse: Sendable, Equatable {
    /// Overall format: text (0) or binary (1).
    public var format: PGFormat
    public var columnFormats: [PGFormat]
}

/// An asynchronous NOTIFY delivered to a listening session.
public struct PGNotification: Sendable, Equatable {
    public var processID: Int32
    public var channel: String
    public var payload: String
    public init(processID: Int32, channel: String, payload: String) {
        self.processID = processID; self.channel = channel; self.payload = payload
    }
}
