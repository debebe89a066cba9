import Reactor

/// An endpoint's signing secret in the Standard Webhooks form: `whsec_` + base64 of the key bytes
/// (the form the specification's libraries take as it is).
public struct WebhookSecret: Sendable, Equatable, CustomStringConvertible {
    public static let prefix = "whsec_"
    /// 32 random bytes (the specification asks for at least 24).
    public static let generatedLength = 32

    public let key: [UInt8]

    public init(key: [UInt8]) { self.key = key }

    /// A fresh random secret.
    public static func generate() -> WebhookSecret { WebhookSecret(key: Crypto.randomBytes(generatedLength)) }

    /// `whsec_…` as stored and handed out; nil for anything else.
    public init?(text: String) {
        guard text.hasPrefix(Self.prefix), let key = Base64.decode(text.dropFirst(Self.prefix.count)), key.count >= 24 else { return nil }
        self.key = key
    }

    public var text: String { Self.prefix + Base64.encode(key) }
    /// Never the key itself (it would end up in logs).
    public var description: String { "whsec_…" }
}

/// The Standard Webhooks symmetric signature: HMAC-SHA256, keyed with the secret's bytes, over
/// `{webhook-id}.{webhook-timestamp}.{body}`, sent as `v1,<base64>` in `webhook-signature`.
public enum WebhookSignature {
    public static func sign(secret: WebhookSecret, messageID: String, timestamp: Int64, body: [UInt8]) -> String {
        var content = Array("\(messageID).\(timestamp).".utf8)
        content.append(contentsOf: body)
        return "v1," + Base64.encode(Crypto.hmacSHA256(key: secret.key, data: content))
    }

    /// The three headers of one attempt (`webhook-timestamp` is the attempt's time, in seconds).
    public static func headers(secret: WebhookSecret, messageID: String, timestamp: Int64, body: [UInt8]) -> [(String, String)] {
        [("webhook-id", messageID), ("webhook-timestamp", String(timestamp)),
         ("webhook-signature", sign(secret: secret, messageID: messageID, timestamp: timestamp, body: body))]
    }
}
