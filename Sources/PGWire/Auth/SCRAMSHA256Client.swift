import Reactor

/// The client side of SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (RFC 5802, RFC 7677), sans I/O.
///
/// Every primitive (PBKDF2 as `Hi()`, HMAC, SHA-256, random nonce) comes from OpenSSL via
/// `Reactor.Crypto`. The password is used as its UTF-8 bytes: SASLprep (RFC 4013) is the identity
/// on ASCII passwords, which is what PostgreSQL does too for them; libpq also falls back to the raw
/// bytes when SASLprep fails.
public struct SCRAMSHA256Client: Sendable {
    /// What the client puts in the GS2 header (RFC 5802 §6).
    public enum ChannelBinding: Sendable, Equatable {
        /// "n,,": the client does not support channel binding (or it is disabled).
        case unsupported
        /// "y,,": the client supports it but thinks the server does not (no PLUS offered).
        case supportedButNotUsed
        /// "p=tls-server-end-point,,": bind to the server certificate's hash.
        case tlsServerEndPoint(hash: [UInt8])
    }

    public let username: String
    let password: [UInt8]
    let clientNonce: String
    public let channelBinding: ChannelBinding

    private var clientFirstBare = ""
    private var expectedServerSignature: [UInt8]?
    /// True once the server proved it knows the password (server-final-message verified).
    public private(set) var serverFinalVerified = false

    /// `clientNonce` is generated from 18 random bytes unless given (tests use the RFC's).
    public init(username: String = "", password: String, channelBinding: ChannelBinding, clientNonce: String? = nil) {
        self.username = username
        self.password = Array(password.utf8)
        self.channelBinding = channelBinding
        self.clientNonce = clientNonce ?? Base64.encode(Crypto.randomBytes(18))
    }

    public var mechanism: String {
        if case .tlsServerEndPoint = channelBinding { return "SCRAM-SHA-256-PLUS" }
        return "SCRAM-SHA-256"
    }

    var gs2Header: String {
        switch channelBinding {
        case .unsupported: return "n,,"
        case .supportedButNotUsed: return "y,,"
        case .tlsServerEndPoint: return "p=tls-server-end-point,,"
        }
    }

    /// client-first-message.
    public mutating func clientFirstMessage() -> [UInt8] {
        clientFirstBare = "n=\(Self.saslName(username)),r=\(clientNonce)"
        return Array((gs2Header + clientFirstBare).utf8)
    }

    /// Consumes server-first-message, returns client-final-message.
    public mutating func clientFinalMessage(serverFirst: [UInt8]) throws(PGError) -> [UInt8] {
        let serverFirstText = String(decoding: serverFirst, as: UTF8.self)
        let attrs = Self.attributes(serverFirstText)
        if attrs.first?.key == "m" { throw PGError.authentication("SCRAM: server requires an unsupported extension") }
        guard let nonce = attrs.first(where: { $0.key == "r" })?.value,
              let saltB64 = attrs.first(where: { $0.key == "s" })?.value,
              let iterText = attrs.first(where: { $0.key == "i" })?.value else {
            throw PGError.authentication("SCRAM: malformed server-first-message")
        }
        // The server's nonce must extend ours, or a replayed exchange could be accepted.
        guard nonce.hasPrefix(clientNonce), nonce.utf8.count > clientNonce.utf8.count else {
            throw PGError.authentication("SCRAM: server nonce does not start with the client nonce")
        }
        guard let salt = Base64.decode(saltB64), !salt.isEmpty else {
            throw PGError.authentication("SCRAM: invalid salt")
        }
        // Bound the work a hostile server can make us do (libpq accepts any; PG uses 4096).
        guard let iterations = Int(iterText), iterations >= 1, iterations <= 10_000_000 else {
            throw PGError.authentication("SCRAM: invalid iteration count \(iterText)")
        }

        var cbInput = Array(gs2Header.utf8)
        if case .tlsServerEndPoint(let hash) = channelBinding { cbInput += hash }
        let withoutProof = "c=\(Base64.encode(cbInput)),r=\(nonce)"

        let salted = Crypto.pbkdf2SHA256(password: password, salt: salt, iterations: iterations, keyLength: 32)
        let clientKey = Crypto.hmacSHA256(key: salted, data: Array("Client Key".utf8))
        let storedKey = Crypto.sha256(clientKey)
        let authMessage = Array("\(clientFirstBare),\(serverFirstText),\(withoutProof)".utf8)
        let clientSignature = Crypto.hmacSHA256(key: storedKey, data: authMessage)
        var proof = clientKey
        for i in proof.indices { proof[i] ^= clientSignature[i] }
        let serverKey = Crypto.hmacSHA256(key: salted, data: Array("Server Key".utf8))
        expectedServerSignature = Crypto.hmacSHA256(key: serverKey, data: authMessage)
        return Array("\(withoutProof),p=\(Base64.encode(proof))".utf8)
    }

    /// Verifies server-final-message: the server must prove it knows the password too.
    public mutating func verifyServerFinal(_ serverFinal: [UInt8]) throws(PGError) {
        guard let expected = expectedServerSignature else {
            throw PGError.authentication("SCRAM: server-final-message before server-first-message")
        }
        let attrs = Self.attributes(String(decoding: serverFinal, as: UTF8.self))
        if let e = attrs.first(where: { $0.key == "e" })?.value {
            throw PGError.authentication("SCRAM: server reported error \(e)")
        }
        guard let v = attrs.first(where: { $0.key == "v" })?.value, let signature = Base64.decode(v) else {
            throw PGError.authentication("SCRAM: malformed server-final-message")
        }
        guard Crypto.constantTimeEqual(signature, expected) else {
            throw PGError.authentication("SCRAM: server signature is wrong; the server does not know the password")
        }
        serverFinalVerified = true
    }

    /// RFC 5802 saslname: "=" and "," are escaped.
    static func saslName(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "=": out += "=3D"
            case ",": out += "=2C"
            default: out.append(c)
            }
        }
        return out
    }

    static func attributes(_ message: String) -> [(key: String, value: String)] {
        message.split(separator: ",", omittingEmptySubsequences: false).compactMap { part in
            guard part.count >= 2, part[part.index(after: part.startIndex)] == "=" else { return nil }
            return (String(part.prefix(1)), String(part.dropFirst(2)))
        }
    }
}
