/// A private video's webhook payload carries its media URLs signed (`MediaSigner`) the moment the
/// event was written, but a delivery is retried for up to a day and a signature lives
/// `VIDD_SIGNED_URL_TTL_SECONDS` (an hour by default): an attempt hours later would hand the
/// receiver links already dead. So each attempt signs them again, for the attempt's own time.
///
/// One query (`exp=…&sig=…`) covers every URL of a video, so the payload's text holds one query,
/// possibly many times, and one `media_expires_at`. The query is found by checking each
/// `?exp=` candidate against the signer (a title may contain that text too: only a signature
/// made for this video counts), then every copy of it and the expiry are replaced with ones made
/// now. A payload with no signed URL (a public video, or no keys) is sent as stored.
public enum WebhookPayloadSigning {
    public static func refreshed(_ payload: String, videoID: String, signer: MediaSigner,
                                 now: Int64 = Timestamp.nowMilliseconds() / 1000) -> String {
        guard let old = signedQuery(in: payload, videoID: videoID, signer: signer) else { return payload }
        let expires = signer.expiry(now: now)
        guard expires != old.expires else { return payload }
        let fresh = signer.query(videoID: videoID, expires: expires)
        return payload
            .replacing("?" + old.query, with: "?" + fresh)
            .replacing(expiryMember(old.expires), with: expiryMember(expires))
    }

    /// The `"media_expires_at":"…"` member as `JSONValue` writes it.
    static func expiryMember(_ expires: Int64) -> String {
        "\"media_expires_at\":\"\(Timestamp.rfc3339(milliseconds: expires * 1000))\""
    }

    /// The first `exp=<digits>&sig=<64 hex>` after a `?` that this signer made for this video
    /// (with any of its keys; expired or not).
    static func signedQuery(in payload: String, videoID: String, signer: MediaSigner) -> (query: String, expires: Int64)? {
        let text = Array(payload.utf8)
        let marker = Array("?exp=".utf8), sigMarker = Array("&sig=".utf8)
        var i = 0
        while i + marker.count <= text.count {
            defer { i += 1 }
            guard text[i..<i + marker.count].elementsEqual(marker) else { continue }
            var j = i + marker.count
            let digitsStart = j
            while j < text.count, j - digitsStart < 13, text[j] >= 0x30, text[j] <= 0x39 { j += 1 }
            guard j > digitsStart, j + sigMarker.count + 64 <= text.count, text[j..<j + sigMarker.count].elementsEqual(sigMarker) else { continue }
            let expires = String(decoding: text[digitsStart..<j], as: UTF8.self)
            let sigStart = j + sigMarker.count
            let signature = String(decoding: text[sigStart..<sigStart + 64], as: UTF8.self)
            switch signer.verify(videoID: videoID, expires: expires, signature: signature, now: 0) {
            case .valid, .expired:
                guard let value = Int64(expires) else { continue }
                return (String(decoding: text[i + 1..<sigStart + 64], as: UTF8.self), value)
            case .unsigned, .invalid:
                continue
            }
        }
        return nil
    }
}
