import Synchronization

/// Messages for one subscriber, as an AsyncSequence. Iteration ends when the subscription is
/// cancelled (`unsubscribe()`) or the pub/sub client shuts down.
///
/// Buffering policy: each subscriber has its own bounded buffer (`capacity` messages). The
/// connection never waits for a subscriber; when a subscriber's buffer is full the **oldest**
/// buffered message is dropped to make room for the new one and `droppedMessages` counts it. One slow
/// consumer therefore cannot stall the shared connection or the other subscribers, and a consumer
/// that catches up sees the most recent messages (what progress updates want).
public final class RESPSubscription: AsyncSequence, Sendable {
    public typealias Element = RESPPubSubMessage

    let id: UInt64
    public let channels: [String]
    public let patterns: [String]
    let stream: AsyncStream<RESPPubSubMessage>
    let continuation: AsyncStream<RESPPubSubMessage>.Continuation
    let dropped = Atomic<Int>(0)
    private let owner: Mutex<RESPPubSub?>

    init(id: UInt64, channels: [String], patterns: [String], capacity: Int, owner: RESPPubSub) {
        self.id = id
        self.channels = channels
        self.patterns = patterns
        (stream, continuation) = AsyncStream.makeStream(of: RESPPubSubMessage.self, bufferingPolicy: .bufferingNewest(capacity))
        self.owner = Mutex(owner)
    }

    /// Messages dropped because this subscriber's buffer was full.
    public var droppedMessages: Int { dropped.load(ordering: .relaxed) }

    func deliver(_ message: RESPPubSubMessage) {
        if case .dropped = continuation.yield(message) {
            dropped.add(1, ordering: .relaxed)
        }
    }

    /// Stops delivery, ends iteration and unsubscribes channels no other subscriber still wants.
    public func unsubscribe() async {
        guard let pubsub = owner.withLock({ o -> RESPPubSub? in defer { o = nil }; return o }) else { return }
        continuation.finish()
        await pubsub.remove(self)
    }

    public func makeAsyncIterator() -> AsyncStream<RESPPubSubMessage>.Iterator {
        stream.makeAsyncIterator()
    }
}
