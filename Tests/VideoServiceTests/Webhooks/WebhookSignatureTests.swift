import Reactor
import Testing
@testable import VideoCore

/// Standard Webhooks signing, against the specification's reference libraries' vector (the same
/// signature the `standardwebhooks` package computes for it; the delivery tests also have that
/// package verify what vidd sends).
@Suite struct WebhookSignatureTests {
    @Test func theReferenceVector() throws {
        let secret = try #require(WebhookSecret(text: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        let signature = WebhookSignature.sign(secret: secret, messageID: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330,
                                              body: Array(#"{"test": 2432232314}"#.utf8))
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test func theHeadersOfOneAttempt() throws {
        let secret = try #require(WebhookSecret(text: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        let headers = WebhookSignature.headers(secret: secret, messageID: "msg_1", timestamp: 7, body: Array("{}".utf8))
        #expect(headers.map(\.0) == ["webhook-id", "webhook-timestamp", "webhook-signature"])
        #expect(headers[0].1 == "msg_1" && headers[1].1 == "7" && headers[2].1.hasPrefix("v1,"))
        // Any change to id, timestamp or body changes the signature.
        let base = WebhookSignature.sign(secret: secret, messageID: "msg_1", timestamp: 7, body: Array("{}".utf8))
        #expect(WebhookSignature.sign(secret: secret, messageID: "msg_2", timestamp: 7, body: Array("{}".utf8)) != base)
        #expect(WebhookSignature.sign(secret: secret, messageID: "msg_1", timestamp: 8, body: Array("{}".utf8)) != base)
        #expect(WebhookSignature.sign(secret: secret, messageID: "msg_1", timestamp: 7, body: Array("{ }".utf8)) != base)
    }

    @Test func generatedSecretsHaveTheSpecificationsForm() throws {
        let a = WebhookSecret.generate(), b = WebhookSecret.generate()
        #expect(a.text.hasPrefix("whsec_") && a.key.count == 32 && a != b)
        #expect(WebhookSecret(text: a.text) == a, "the text form parses back")
        #expect("\(a)" == "whsec_…", "never printed")
    }

    @Test(arguments: ["", "whsec_", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_!!!", "whsec_c2hvcnQ="])
    func malformedSecretsAreRefused(text: String) {
        #expect(WebhookSecret(text: text) == nil)
    }
}
