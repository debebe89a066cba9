import Testing
import Reactor
@testable import PGWire

@Suite struct SCRAMTests {
    /// RFC 7677 §3: the SCRAM-SHA-256 exchange for user "user", password "pencil".
    @Test func rfc7677TestVector() throws {
        var client = SCRAMSHA256Client(username: "user", password: "pencil", channelBinding: .unsupported,
                                       clientNonce: "rOprNGfwEbeRWgbNEkqO")
        #expect(String(decoding: client.clientFirstMessage(), as: UTF8.self) == "n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
        let serverFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        let final = try client.clientFinalMessage(serverFirst: Array(serverFirst.utf8))
        #expect(String(decoding: final, as: UTF8.self)
            == "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
        try client.verifyServerFinal(Array("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".utf8))
        #expect(client.serverFinalVerified)
    }

    @Test func wrongServerSignatureIsRefused() throws {
        var client = SCRAMSHA256Client(username: "user", password: "pencil", channelBinding: .unsupported,
                                       clientNonce: "rOprNGfwEbeRWgbNEkqO")
        _ = client.clientFirstMessage()
        _ = try client.clientFinalMessage(serverFirst: Array("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096".utf8))
        #expect(throws: PGError.self) {
            try client.verifyServerFinal(Array("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".utf8))
        }
        #expect(!client.serverFinalVerified)
    }

    @Test func serverNonceMustExtendClientNonce() {
        var client = SCRAMSHA256Client(password: "pencil", channelBinding: .unsupported, clientNonce: "abc")
        _ = client.clientFirstMessage()
        #expect(throws: PGError.self) { try client.clientFinalMessage(serverFirst: Array("r=xyz123,s=QUJD,i=4096".utf8)) }
        #expect(throws: PGError.self) { try client.clientFinalMessage(serverFirst: Array("r=abc,s=QUJD,i=4096".utf8)) }
        #expect(throws: PGError.self) { try client.clientFinalMessage(serverFirst: Array("r=abcd,s=QUJD,i=0".utf8)) }
    }

    @Test func channelBindingHeaderCarriesTheCertificateHash() throws {
        let hash: [UInt8] = Array(repeating: 0xAB, count: 32)
        var client = SCRAMSHA256Client(password: "pw", channelBinding: .tlsServerEndPoint(hash: hash), clientNonce: "nonce")
        #expect(client.mechanism == "SCRAM-SHA-256-PLUS")
        #expect(String(decoding: client.clientFirstMessage(), as: UTF8.self) == "p=tls-server-end-point,,n=,r=nonce")
        let final = String(decoding: try client.clientFinalMessage(serverFirst: Array("r=nonceSRV,s=QUJD,i=16".utf8)), as: UTF8.self)
        let c = final.split(separator: ",")[0].dropFirst(2)
        #expect(Base64.decode(c) == Array("p=tls-server-end-point,,".utf8) + hash)
    }

    @Test func md5PasswordMatchesPostgres() {
        // Expected value from Python's hashlib: "md5" + md5(md5("secret" + "alice").hex + salt).hex
        #expect(MD5Password.response(user: "alice", password: "secret", salt: [1, 2, 3, 4]) == "md598a0412b9c31436fc53776e863350083")
    }
}
