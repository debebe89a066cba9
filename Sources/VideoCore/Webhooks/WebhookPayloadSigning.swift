import Reactor

/// A private video's webhook payload carries its media URLs signed (`MediaSigner`) the moment the
/// event was written, but a delivery is retried for up to a day and a signature lives
/// `VIDD_SIGNED_URL_TTL_SECONDS` (an hour by default): an attempt hours later would hand the
/// receiver links already dead. So each attempt signs them again, for the attempt's own time.
///
/// One query (`exp=…&sig=…`) covers every URL of a video, so the payload's text holds one query,
/// possibly many times, and one `media_expires_at`. The query is the first `?exp=` candidate
/// that this signer made for this video, or whose expiry is the payload's `media_expires_at` (it
/// was signed with a key removed since); a title may contain look-alike text, but neither a
/// signature nor the expiry it could not know. Every copy of it and the expiry are replaced with
/// ones made now. A payload with no signed URL (a public video, or no keys) is sent as stored.
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

    /// The payload's `media_expires_at` in unix seconds (nil when absent or null).
    static func statedExpiry(in payload: String) -> Int64? {
        let member = "\"media_expires_at\":\""
        guard let start = payload.firstRange(of: member)?.upperBound,
              let end = payload[start...].firstIndex(of: "\"") else { return nil }
        return Timestamp.milliseconds(rfc3339: String(payload[start..<end])).map { $0 / 1000 }
    }

    /// The `"media_expires_at":"…"` member as `JSONValue` writes it.
    static func expiryMember(_ expires: Int64) -> String {
        "\"media_expires_at\":\"\(Timestamp.rfc3339(milliseconds: expires * 1000))\""
    }

    /// The payload's signed query: the first `?exp=<digits>&sig=<64 hex>` this signer made for
    /// this video (with any of its keys; expired or not), else the first whose expiry is the
    /// stated `media_expires_at` (signed with a key removed since).
    static func signedQuery(in payload: String, videoID: String, signer: MediaSigner) -> (query: String, expires: Int64)? {
        let candidates = queryCandidates(in: payload)
        if let signed = candidates.first(where: {
            [.valid, .expired].contains(signer.verify(videoID: videoID, expires: String($0.expires), signature: $0.signature, now: 0))
        }) {
            return (signed.query, signed.expires)
        }
        guard let stated = statedExpiry(in: payload), let dated = candidates.first(where: { $0.expires == stated }) else { return nil }
        return (dated.query, dated.expires)
    }

    /// Every `exp=<digits>&sig=<64 hex>` right after a `?`, in order.
    static func queryCandidates(in payload: String) -> [(query: String, expires: Int64, signature: String)] {
        let text = Array(payload.utf8)
        let marker = Array("?exp=".utf8), sigMarker = Array("&sig=".utf8)
        var found: [(query: String, expires: Int64, signature: String)] = []
        var i = 0
        while i + marker.count <= text.count {
            defer { i += 1 }
            guard text[i..<i + marker.count].elementsEqual(marker) else { continue }
            var j = i + marker.count
            let digitsStart = j
            while j < text.count, j - digitsStart < 13, text[j] >= 0x30, text[j] <= 0x39 { j += 1 }
            guard j > digitsStart, j + sigMarker.count + 64 <= text.count, text[j..<j + sigMarker.count].elementsEqual(sigMarker) else { continue }
            let sigStart = j + sigMarker.count
            let signature = String(decoding: text[sigStart..<sigStart + 64], as: UTF8.self)
            guard let expires = Int64(String(decoding: text[digitsStart..<j], as: UTF8.self)), Hex.decode(signature)?.count == 32 else { continue }
            found.append((String(decoding: text[i + 1..<sigStart + 64], as: UTF8.self), expires, signature))
        }
        return found
    }
}
