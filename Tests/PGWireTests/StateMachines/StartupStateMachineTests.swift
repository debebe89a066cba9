import Testing
import Reactor
@testable import PGWire

@Suite struct StartupStateMachineTests {
    typealias M = StartupStateMachine

    func finish(_ m: inout M) -> M.Action {
        #expect(m.received(.parameterStatus(name: "server_version", value: "15.4")) == .wait)
        #expect(m.received(.backendKeyData(.init(processID: 1, secretKey: 2))) == .wait)
        return m.received(.readyForQuery(.idle))
    }

    @Test func trust() {
        var m = M(.init(user: "u", database: "d", password: nil))
        guard case .send = m.start() else { Issue.record("no startup"); return }
        #expect(m.received(.authentication(.ok)) == .wait)
        #expect(finish(&m) == .ready(.init(parameters: ["server_version": "15.4"], backendKey: .init(processID: 1, secretKey: 2),
                                            transactionStatus: .idle, saslMechanism: nil)))
    }

    @Test func cleartextAndMD5() {
        var m = M(.init(user: "u", database: nil, password: "pw"))
        _ = m.start()
        var e = FrontendMessageEncoder(); e.password("pw")
        #expect(m.received(.authentication(.cleartextPassword)) == .send(e.bytes))

        var m2 = M(.init(user: "u", database: nil, password: "pw"))
        _ = m2.start()
        var e2 = FrontendMessageEncoder(); e2.password(MD5Password.response(user: "u", password: "pw", salt: [1, 2, 3, 4]))
        #expect(m2.received(.authentication(.md5Password(salt: [1, 2, 3, 4]))) == .send(e2.bytes))
        #expect(m2.received(.authentication(.ok)) == .wait)
    }

    @Test func missingPasswordFails() {
        var m = M(.init(user: "u", database: nil, password: nil))
        _ = m.start()
        guard case .fail(.authentication) = m.received(.authentication(.cleartextPassword)) else { Issue.record("expected failure"); return }
    }

    /// A full SCRAM exchange against a server computed here from the same primitives.
    @Test func scramExchangeVerifiesServer() throws {
        var m = M(.init(user: "u", database: nil, password: "pencil", channelBinding: .prefer), scramNonce: "cnonce")
        _ = m.start()
        guard case .send(let first) = m.received(.authentication(.sasl(mechanisms: ["SCRAM-SHA-256"]))) else { Issue.record("no first"); return }
        // Not TLS: "n,," and the plain mechanism.
        #expect(String(decoding: first, as: UTF8.self).contains("SCRAM-SHA-256\0"))
        #expect(String(decoding: first, as: UTF8.self).hasSuffix("n,,n=,r=cnonce"))
        let salt: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8]
        let serverFirst = "r=cnonceSNONCE,s=\(Base64.encode(salt)),i=4096"
        guard case .send(let finalMsg) = m.received(.authentication(.saslContinue(Array(serverFirst.utf8)))) else { Issue.record("no final"); return }
        let finalText = String(decoding: finalMsg.dropFirst(5), as: UTF8.self)
        let withoutProof = "c=biws,r=cnonceSNONCE"
        #expect(finalText.hasPrefix(withoutProof + ",p="))
        // Server side of RFC 5802 computed independently.
        let salted = Crypto.pbkdf2SHA256(password: Array("pencil".utf8), salt: salt, iterations: 4096)
        let auth = Array("n=,r=cnonce,\(serverFirst),\(withoutProof)".utf8)
        let clientKey = Crypto.hmacSHA256(key: salted, data: Array("Client Key".utf8))
        let sig = Crypto.hmacSHA256(key: Crypto.sha256(clientKey), data: auth)
        let proof = zip(clientKey, sig).map { $0 ^ $1 }
        #expect(finalText == withoutProof + ",p=" + Base64.encode(proof))
        let serverSig = Crypto.hmacSHA256(key: Crypto.hmacSHA256(key: salted, data: Array("Server Key".utf8)), data: auth)
        #expect(m.received(.authentication(.saslFinal(Array("v=\(Base64.encode(serverSig))".utf8)))) == .wait)
        #expect(m.received(.authentication(.ok)) == .wait)
        guard case .ready(let s) = finish(&m) else { Issue.record("not ready"); return }
        #expect(s.saslMechanism == "SCRAM-SHA-256")
    }

    @Test func serverSkippingSASLFinalIsRefused() {
        var m = M(.init(user: "u", database: nil, password: "pencil"), scramNonce: "cnonce")
        _ = m.start()
        _ = m.received(.authentication(.sasl(mechanisms: ["SCRAM-SHA-256"])))
        _ = m.received(.authentication(.saslContinue(Array("r=cnonceS,s=AQID,i=1".utf8))))
        guard case .fail(.authentication) = m.received(.authentication(.ok)) else { Issue.record("accepted unproven server"); return }
    }

    @Test func channelBindingPreferUsesPlusWithTLS() {
        let hash = [UInt8](repeating: 7, count: 32)
        var m = M(.init(user: "u", database: nil, password: "p", channelBinding: .prefer, tlsServerEndPointHash: hash), scramNonce: "n")
        _ = m.start()
        guard case .send(let first) = m.received(.authentication(.sasl(mechanisms: ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]))) else { Issue.record("no first"); return }
        let text = String(decoding: first, as: UTF8.self)
        #expect(text.contains("SCRAM-SHA-256-PLUS\0") && text.hasSuffix("p=tls-server-end-point,,n=,r=n"))

        // TLS but the server offers no PLUS: "y,," so the server can detect a downgrade.
        var m2 = M(.init(user: "u", database: nil, password: "p", channelBinding: .prefer, tlsServerEndPointHash: hash), scramNonce: "n")
        _ = m2.start()
        guard case .send(let f2) = m2.received(.authentication(.sasl(mechanisms: ["SCRAM-SHA-256"]))) else { Issue.record("no first"); return }
        #expect(String(decoding: f2, as: UTF8.self).hasSuffix("y,,n=,r=n"))

        // disable: never PLUS.
        var m3 = M(.init(user: "u", database: nil, password: "p", channelBinding: .disable, tlsServerEndPointHash: hash), scramNonce: "n")
        _ = m3.start()
        guard case .send(let f3) = m3.received(.authentication(.sasl(mechanisms: ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]))) else { Issue.record("no first"); return }
        #expect(String(decoding: f3, as: UTF8.self).hasSuffix("n,,n=,r=n"))
    }

    @Test(arguments: [
        BackendMessage.authentication(.sasl(mechanisms: ["SCRAM-SHA-256"])),
        .authentication(.ok), .authentication(.cleartextPassword), .authentication(.md5Password(salt: [0, 0, 0, 0])),
    ])
    func channelBindingRequireNeverDowngrades(_ request: BackendMessage) {
        var m = M(.init(user: "u", database: nil, password: "p", channelBinding: .require, tlsServerEndPointHash: [1, 2]))
        _ = m.start()
        guard case .fail(.authentication) = m.received(request) else { Issue.record("downgraded on \(request)"); return }
    }

    @Test func channelBindingRequireWithoutTLSFails() {
        var m = M(.init(user: "u", database: nil, password: "p", channelBinding: .require, tlsServerEndPointHash: nil))
        _ = m.start()
        #expect(m.received(.authentication(.sasl(mechanisms: ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"])))
            == .fail(.authentication("channel binding required, but the connection is not using TLS")))
    }

    @Test func serverErrorFails() {
        var m = M(.init(user: "u", database: nil, password: "p"))
        _ = m.start()
        let e = PGServerError(fields: [UInt8(ascii: "C"): "28P01", UInt8(ascii: "M"): "password authentication failed for user \"u\""])
        #expect(m.received(.errorResponse(e)) == .fail(.server(e)))
    }

    @Test func readyBeforeAuthIsAViolation() {
        var m = M(.init(user: "u", database: nil, password: "p"))
        _ = m.start()
        guard case .fail(.protocolViolation) = m.received(.readyForQuery(.idle)) else { Issue.record("accepted"); return }
    }
}
