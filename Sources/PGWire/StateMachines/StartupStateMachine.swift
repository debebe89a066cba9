/// Start-up and authentication, sans I/O: StartupMessage → authentication exchange →
/// ParameterStatus/BackendKeyData → ReadyForQuery.
///
/// Feed it every message the server sends during start-up; carry out the returned action.
public struct StartupStateMachine: Sendable {
    public enum ChannelBindingMode: String, Sendable { case disable, prefer, require }

    public struct Parameters: Sendable {
        public var user: String
        public var database: String?
        public var password: String?
        /// Run-time parameters for the StartupMessage (application_name, client_encoding, …).
        public var options: [(String, String)]
        public var channelBinding: ChannelBindingMode
        /// RFC 5929 tls-server-end-point hash of the server certificate; nil without TLS.
        public var tlsServerEndPointHash: [UInt8]?

        public init(user: String, database: String?, password: String?, options: [(String, String)] = [],
                    channelBinding: ChannelBindingMode = .prefer, tlsServerEndPointHash: [UInt8]? = nil) {
            self.user = user; self.database = database; self.password = password; self.options = options
            self.channelBinding = channelBinding; self.tlsServerEndPointHash = tlsServerEndPointHash
        }
    }

    /// What a finished start-up yields.
    public struct Session: Sendable, Equatable {
        public var parameters: [String: String]
        public var backendKey: BackendKeyData?
        public var transactionStatus: TransactionStatus
        /// The SASL mechanism used, if any ("SCRAM-SHA-256-PLUS" when channel binding was used).
        public var saslMechanism: String?
    }

    public enum Action: Sendable, Equatable {
        /// Write these bytes to the server.
        case send([UInt8])
        /// Nothing to do; read more.
        case wait
        /// Start-up finished; the connection is ready for queries.
        case ready(Session)
        /// Start-up failed; close the connection and report.
        case fail(PGError)
        /// A notice to hand to the application; keep reading.
        case notice(PGServerError)
    }

    enum State: Sendable {
        case initial
        case awaitingAuthentication
        case scram(SCRAMSHA256Client, final: Bool)
        case authenticated
        case ready
        case failed
    }

    let parameters: Parameters
    var state: State = .initial
    var session = Session(parameters: [:], backendKey: nil, transactionStatus: .idle, saslMechanism: nil)
    /// Nonce override for tests (RFC vectors).
    var scramNonce: String?

    public init(_ parameters: Parameters) { self.parameters = parameters }

    init(_ parameters: Parameters, scramNonce: String) {
        self.parameters = parameters
        self.scramNonce = scramNonce
    }

    /// The StartupMessage.
    public mutating func start() -> Action {
        guard case .initial = state else { return fail(.misuse("start-up started twice")) }
        state = .awaitingAuthentication
        var e = FrontendMessageEncoder()
        e.startup(user: parameters.user, database: parameters.database, parameters: parameters.options)
        return .send(e.bytes)
    }

    public mutating func received(_ message: BackendMessage) -> Action {
        switch message {
        case .authentication(let request): return authentication(request)
        case .errorResponse(let e):
            state = .failed
            return .fail(.server(e))
        case .noticeResponse(let n): return .notice(n)
        case .negotiateProtocolVersion(_, let options):
            // We only ask for 3.0 and send no _pq_ options; the server may still list any it ignored.
            _ = options
            return .wait
        case .parameterStatus(let name, let value):
            session.parameters[name] = value
            return .wait
        case .backendKeyData(let key):
            guard case .authenticated = state else { return fail(.protocolViolation("BackendKeyData before authentication completed")) }
            session.backendKey = key
            return .wait
        case .readyForQuery(let status):
            guard case .authenticated = state else { return fail(.protocolViolation("ReadyForQuery before authentication completed")) }
            state = .ready
            session.transactionStatus = status
            return .ready(session)
        default:
            return fail(.protocolViolation("unexpected message during start-up: \(message)"))
        }
    }

    private mutating func fail(_ error: PGError) -> Action {
        state = .failed
        return .fail(error)
    }

    private mutating func authentication(_ request: AuthenticationRequest) -> Action {
        switch (state, request) {
        case (.awaitingAuthentication, .ok):
            // libpq: with channel_binding=require, a server that let us in without SCRAM-PLUS
            // (trust, password, md5, plain SCRAM) is refused — it may be an impostor.
            if parameters.channelBinding == .require {
                return fail(.authentication("channel binding required, but the server authenticated the client without channel binding"))
            }
            state = .authenticated
            return .wait
        case (.awaitingAuthentication, .cleartextPassword):
            if parameters.channelBinding == .require {
                return fail(.authentication("channel binding required, but the server requested a cleartext password"))
            }
            guard let password = parameters.password else { return fail(.authentication("the server requested a password but none was given")) }
            var e = FrontendMessageEncoder()
            e.password(password)
            return .send(e.bytes)
        case (.awaitingAuthentication, .md5Password(let salt)):
            if parameters.channelBinding == .require {
                return fail(.authentication("channel binding required, but the server requested MD5 authentication"))
            }
            guard let password = parameters.password else { return fail(.authentication("the server requested a password but none was given")) }
            var e = FrontendMessageEncoder()
            e.password(MD5Password.response(user: parameters.user, password: password, salt: salt))
            return .send(e.bytes)
        case (.awaitingAuthentication, .sasl(let mechanisms)):
            return startSCRAM(mechanisms: mechanisms)
        case (.scram(var client, false), .saslContinue(let data)):
            do {
                let final = try client.clientFinalMessage(serverFirst: data)
                state = .scram(client, final: true)
                var e = FrontendMessageEncoder()
                e.saslResponse(final)
                return .send(e.bytes)
            } catch {
                return fail(error)
            }
        case (.scram(var client, true), .saslFinal(let data)):
            do {
                try client.verifyServerFinal(data)
                state = .scram(client, final: true)
                return .wait
            } catch {
                return fail(error)
            }
        case (.scram(let client, true), .ok):
            // AuthenticationOk without SASLFinal would skip the server's proof.
            guard client.serverFinalVerified else {
                return fail(.authentication("server sent AuthenticationOk without proving it knows the password"))
            }
            session.saslMechanism = client.mechanism
            state = .authenticated
            return .wait
        case (_, .unsupported(let code)):
            return fail(.authentication("unsupported authentication method (code \(code)); supported: trust, password, md5, SCRAM-SHA-256(-PLUS)"))
        default:
            return fail(.protocolViolation("unexpected authentication request \(request)"))
        }
    }

    private mutating func startSCRAM(mechanisms: [String]) -> Action {
        let offersPlus = mechanisms.contains("SCRAM-SHA-256-PLUS")
        let offersPlain = mechanisms.contains("SCRAM-SHA-256")
        let binding: SCRAMSHA256Client.ChannelBinding
        switch parameters.channelBinding {
        case .disable:
            guard offersPlain else { return fail(.authentication("server offers only \(mechanisms) and channel binding is disabled")) }
            binding = .unsupported
        case .prefer, .require:
            if offersPlus, let hash = parameters.tlsServerEndPointHash {
                binding = .tlsServerEndPoint(hash: hash)
            } else if parameters.channelBinding == .require {
                // Never downgrade to "n,,"/"y,," when binding is required.
                let why = parameters.tlsServerEndPointHash == nil ? "the connection is not using TLS" : "the server does not offer SCRAM-SHA-256-PLUS"
                return fail(.authentication("channel binding required, but \(why)"))
            } else {
                guard offersPlain else { return fail(.authentication("no supported SASL mechanism in \(mechanisms)")) }
                // "y,,": we could bind but the server did not offer it (lets it detect a downgrade).
                binding = parameters.tlsServerEndPointHash == nil ? .unsupported : .supportedButNotUsed
            }
        }
        guard let password = parameters.password else { return fail(.authentication("the server requested SCRAM authentication but no password was given")) }
        var client = SCRAMSHA256Client(password: password, channelBinding: binding, clientNonce: scramNonce)
        let first = client.clientFirstMessage()
        state = .scram(client, final: false)
        var e = FrontendMessageEncoder()
        e.saslInitialResponse(mechanism: client.mechanism, data: first)
        return .send(e.bytes)
    }
}

