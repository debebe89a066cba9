/// A message delivered to a subscriber.
public struct RESPPubSubMessage: Sendable, Hashable {
    /// The channel it was published to.
    public var channel: String
    /// The pattern that matched, for PSUBSCRIBE subscriptions.
    public var pattern: String?
    public var payload: [UInt8]

    public init(channel: String, pattern: String? = nil, payload: [UInt8]) {
        self.channel = channel
        self.pattern = pattern
        self.payload = payload
    }

    /// The payload decoded as UTF-8.
    public var string: String { String(decoding: payload, as: UTF8.self) }

    /// Parses `message ch payload`, `smessage ch payload` or `pmessage pattern ch payload` pushes.
    init?(push items: [RESPValue]) {
        guard let kind = items.first?.string else { return nil }
        switch kind {
        case "message", "smessage":
            guard items.count == 3, let ch = items[1].string, let p = items[2].bytes else { return nil }
            self.init(channel: ch, payload: p)
        case "pmessage":
            guard items.count == 4, let pat = items[1].string, let ch = items[2].string, let p = items[3].bytes else { return nil }
            self.init(channel: ch, pattern: pat, payload: p)
        default:
            return nil
        }
    }
}
