import Reactor
import RESP
import Testing
import TestSupport

/// A subscriber whose task is cancelled while it subscribes or unsubscribes (an SSE client that
/// leaves at once, in a loop): nothing may stay subscribed, locally or on the server.
@Suite struct PubSubCancellationTests {
    @Test func cancelledSubscribersLeaveNoSubscriptionBehind() async throws {
        guard let config = try TestRedis.configuration() else { return }
        let pubsub = RESPPubSub(configuration: config)
        guard let publisher = try await TestRedis.connect() else { return }
        defer { publisher.close() }
        let ch = TestServices.uniqueName("resp:cancel:")
        let warm = try await pubsub.subscribe(ch + ":warm")  // the connection is up: commands go straight out
        for i in 0..<60 {
            let task = Task {
                let subscription = try await pubsub.subscribe(ch)
                await subscription.unsubscribe()
            }
            for _ in 0..<(i % 4) { await Task.yield() }
            task.cancel()
            _ = await task.result
        }
        // Every subscriber is gone: the server must come to count none on the channel.
        var subscribers = try await publisher.publish(ch, "anyone?")
        let deadline = ContinuousClock.now + .seconds(3)
        while subscribers != 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            subscribers = try await publisher.publish(ch, "anyone?")
        }
        #expect(subscribers == 0, "a cancelled subscriber left the channel subscribed")

        // And locally: a new subscriber is the only one, so its unsubscribe empties the channel.
        let probe = try await pubsub.subscribe(ch)
        #expect(try await publisher.publish(ch, "x") == 1)
        await probe.unsubscribe()
        subscribers = try await publisher.publish(ch, "y")
        let again = ContinuousClock.now + .seconds(3)
        while subscribers != 0 && ContinuousClock.now < again {
            try await Task.sleep(for: .milliseconds(20))
            subscribers = try await publisher.publish(ch, "y")
        }
        #expect(subscribers == 0, "a cancelled subscriber is still registered locally")
        await warm.unsubscribe()
        await pubsub.shutdown()
    }
}
