import Testing
@testable import VideoCore

/// One delivery's life as a value: vectors of outcomes in, decisions out.
@Suite struct WebhookRetryTests {
    let policy = WebhookRetryPolicy()

    /// Without jitter (random 0.5 is the middle): 5 s, 30 s, 2 min, 10 min, 1 h, then hourly.
    @Test(arguments: [(1, 5), (2, 30), (3, 120), (4, 600), (5, 3600), (6, 3600), (20, 3600)])
    func theSchedule(attempts: Int, seconds: Int64) {
        #expect(policy.delay(afterAttempts: attempts, random: 0.5) == .seconds(seconds))
    }

    @Test func jitterStaysWithinTenPercent() {
        #expect(policy.delay(afterAttempts: 1, random: 0) == .milliseconds(4500))
        #expect(policy.delay(afterAttempts: 1, random: 1) == .milliseconds(5500))
        #expect(policy.delay(afterAttempts: 2, random: 0.25) == .seconds(28.5))
    }

    @Test func successOnTheFirstAttempt() {
        var d = WebhookDeliveryState()
        #expect(d.attemptFinished(.answered(status: 204, retryAfter: nil), age: .zero, policy: policy, random: 0.5) == .delivered)
        #expect(d.status == .delivered && d.attempts == 1)
    }

    /// Fails twice (a 500, then no answer), then a 200: retried after 5 s and 30 s, delivered on the third.
    @Test func failsTwiceThenSucceeds() {
        var d = WebhookDeliveryState()
        #expect(d.attemptFinished(.answered(status: 500, retryAfter: nil), age: .zero, policy: policy, random: 0.5) == .retry(after: .seconds(5)))
        #expect(d.attemptFinished(.noAnswer("timed out"), age: .seconds(5), policy: policy, random: 0.5) == .retry(after: .seconds(30)))
        #expect(d.attemptFinished(.answered(status: 200, retryAfter: nil), age: .seconds(35), policy: policy, random: 0.5) == .delivered)
        #expect(d.status == .delivered && d.attempts == 3)
    }

    @Test(arguments: [301, 302, 400, 404, 429, 500, 502, 503])
    func everyOtherAnswerIsRetried(status: Int) {
        var d = WebhookDeliveryState()
        #expect(d.attemptFinished(.answered(status: status, retryAfter: nil), age: .zero, policy: policy, random: 0.5) == .retry(after: .seconds(5)))
        #expect(d.status == .pending)
    }

    @Test func goneDisablesTheEndpoint() {
        var d = WebhookDeliveryState()
        let decision = d.attemptFinished(.answered(status: 410, retryAfter: nil), age: .zero, policy: policy, random: 0.5)
        guard case .giveUp(_, let disable) = decision else { Issue.record("\(decision)"); return }
        #expect(disable && d.status == .failed)
    }

    @Test func retryAfterLongerThanTheScheduleWins() {
        var d = WebhookDeliveryState()
        #expect(d.attemptFinished(.answered(status: 503, retryAfter: .seconds(90)), age: .zero, policy: policy, random: 0.5) == .retry(after: .seconds(90)))
        var e = WebhookDeliveryState()
        #expect(e.attemptFinished(.answered(status: 429, retryAfter: .seconds(1)), age: .zero, policy: policy, random: 0.5) == .retry(after: .seconds(5)))
    }

    /// Hourly until a day has passed since the event; the attempt that would land past it is not made.
    @Test func givesUpAfterADay() {
        var d = WebhookDeliveryState()
        var age = Duration.zero
        var attempts = 0
        while true {
            let decision = d.attemptFinished(.answered(status: 500, retryAfter: nil), age: age, policy: policy, random: 0.5)
            attempts += 1
            guard case .retry(let after) = decision else {
                guard case .giveUp(_, false) = decision else { Issue.record("\(decision)"); return }
                break
            }
            age += after
        }
        // 0, 5 s, 35 s, 2:35, 12:35, 1:12:35, then hourly to 23:12:35: 28 attempts.
        #expect(attempts == 28 && d.status == .failed && d.attempts == 28)
        #expect(age <= .seconds(86_400))
    }
}
