import Testing
@testable import VideoCore

/// A private video's signed URLs in a webhook payload are signed again for each attempt: values
/// only, no database.
@Suite struct WebhookPayloadSigningTests {
    static let videoID = "0b7c9a52-5d0e-4c55-9f3a-3f5b1f0e2a10"
    static let signer = MediaSigner(keys: [Array("key-now".utf8), Array("key-before".utf8)], lifetime: .seconds(3600))
    // payload(signedAt: 1_800_000_000) expires at 1_800_003_600.

    /// The payload as WebhookEvents writes it, signed at `signedAt` with key `key`.
    static func payload(signedAt: Int64, key: Int = 0, title: String = "Holiday") -> (text: String, query: String) {
        let expires = signer.expiry(now: signedAt)
        let query = "exp=\(expires)&sig=\(signer.signature(videoID: videoID, expires: expires, key: key))"
        let data = JSONValue.object([
            ("id", .string(videoID)), ("title", .string(title)), ("visibility", "private"),
            ("media_expires_at", .string(Timestamp.rfc3339(milliseconds: expires * 1000))),
            ("hls_master_url", .string("/media/\(videoID)/hls/master.m3u8?\(query)")),
            ("poster_url", .string("/media/\(videoID)/poster.jpg?\(query)")),
            ("progress_url", .string("/progress/\(videoID)?\(query)")),
        ])
        return (JSONValue.object([("type", "video.completed"), ("timestamp", "2026-12-07T05:00:00Z"), ("data", data)]).text, query)
    }

    @Test func anAttemptHoursLaterGetsURLsValidFromItsOwnTime() throws {
        let written: Int64 = 1_800_000_000
        let (stored, oldQuery) = Self.payload(signedAt: written)
        let later = written + 5 * 3600
        let sent = WebhookPayloadSigning.refreshed(stored, videoID: Self.videoID, signer: Self.signer, now: later)
        let expires = Self.signer.expiry(now: later)
        let fresh = "exp=\(expires)&sig=\(Self.signer.signature(videoID: Self.videoID, expires: expires))"
        #expect(!sent.contains(oldQuery))
        #expect(sent.components(separatedBy: "?" + fresh).count - 1 == 3, "every URL: \(sent)")
        #expect(sent.contains("\"media_expires_at\":\"\(Timestamp.rfc3339(milliseconds: expires * 1000))\""))
        #expect(Self.signer.verify(videoID: Self.videoID, expires: String(expires),
                                   signature: Self.signer.signature(videoID: Self.videoID, expires: expires), now: later) == .valid)
        // Everything else is as stored.
        #expect(sent.replacing(fresh, with: oldQuery)
            .replacing(Timestamp.rfc3339(milliseconds: expires * 1000), with: Timestamp.rfc3339(milliseconds: Self.signer.expiry(now: written) * 1000)) == stored)
    }

    @Test func aQuerySignedWithAnOlderKeyIsFoundAndSignedWithTheFirst() {
        let (stored, oldQuery) = Self.payload(signedAt: 1_800_000_000, key: 1)
        let sent = WebhookPayloadSigning.refreshed(stored, videoID: Self.videoID, signer: Self.signer, now: 1_800_000_100)
        #expect(!sent.contains(oldQuery) && sent.contains("exp=\(Self.signer.expiry(now: 1_800_000_100))&sig="))
    }

    /// Signed with a key the operator has removed since: not this signer's, but its expiry is the
    /// payload's `media_expires_at`, so it is the payload's query and is signed again.
    @Test func aQuerySignedWithARemovedKeyIsFoundByItsStatedExpiry() {
        let (stored, oldQuery) = Self.payload(signedAt: 1_800_000_000)
        let rotated = MediaSigner(keys: [Array("key-after-rotation".utf8)], lifetime: .seconds(3600))
        let sent = WebhookPayloadSigning.refreshed(stored, videoID: Self.videoID, signer: rotated, now: 1_800_000_100)
        let expires = rotated.expiry(now: 1_800_000_100)
        #expect(!sent.contains(oldQuery))
        #expect(sent.components(separatedBy: "?" + rotated.query(videoID: Self.videoID, expires: expires)).count - 1 == 3)
        #expect(sent.contains(WebhookPayloadSigning.expiryMember(expires)))
    }

    @Test func aTitleThatLooksLikeASignedQueryIsLeftAlone() {
        let forged = "?exp=1800003600&sig=" + String(repeating: "ab", count: 32)
        let (stored, _) = Self.payload(signedAt: 1_800_000_000, title: "see \(forged) and ?exp=1&sig=zz")
        let sent = WebhookPayloadSigning.refreshed(stored, videoID: Self.videoID, signer: Self.signer, now: 1_800_000_100)
        #expect(sent.contains("see \(forged) and ?exp=1&sig=zz"), "only this signer's query for this video is replaced")
        #expect(sent.contains("exp=\(Self.signer.expiry(now: 1_800_000_100))&sig="))
    }

    @Test func payloadsWithoutASignedQueryAreSentAsStored() {
        // A title with a look-alike whose expiry is not the stated one.
        let forged = "?exp=1700000000&sig=" + String(repeating: "cd", count: 32)
        let (titled, _) = Self.payload(signedAt: 1_800_000_000, title: forged)
        let withoutURLs = titled.replacing(#/\?exp=1800003600&sig=[0-9a-f]{64}/#, with: "")
        #expect(WebhookPayloadSigning.refreshed(withoutURLs, videoID: Self.videoID, signer: Self.signer, now: 1_800_000_100) == withoutURLs)
        let publicVideo = #"{"type":"video.completed","data":{"id":"x","hls_master_url":"/media/x/hls/master.m3u8","media_expires_at":null}}"#
        #expect(WebhookPayloadSigning.refreshed(publicVideo, videoID: "x", signer: Self.signer) == publicVideo)
        for truncated in ["", "?exp=", "?exp=123&sig=", "?exp=123&sig=abc", "{\"u\":\"?exp=99999999999999&sig=" + String(repeating: "0", count: 64) + "\"}"] {
            #expect(WebhookPayloadSigning.refreshed(truncated, videoID: Self.videoID, signer: Self.signer) == truncated)
        }
    }
}
