/// Writes webhook events into the delivery outbox, on the transaction of the state change that
/// causes them: the event exists exactly when the change committed, and a crash between the
/// change and the delivery loses nothing (the loop finds the row).
///
/// An event's body is the Standard Webhooks payload `{"type", "timestamp", "data"}` with the
/// video's JSON (as `GET /videos/{id}` gives it to a caller with a token: a private video's
/// URLs signed, and signed again for each attempt by `WebhookPayloadSigning`) as `data`, read on
/// the same transaction; `rendition.completed` adds the rung as `data.rendition`. Nothing is read
/// or rendered when no endpoint wants the event.
public struct WebhookEvents: Sendable {
    let signer: MediaSigner?

    public init(configuration: Configuration) {
        signer = MediaSigner(configuration.mediaSigning)
    }

    /// The moment a video becomes playable (`video.ready`): its first master playlist stored
    /// (`markPlayable`), or completion for a video that never was playable before.
    public func videoBecamePlayable(videoID: String, on tx: any SQLParameterisedExecutor) async throws {
        try await record(.videoReady, videoID: videoID, on: tx)
    }

    /// Records `type` for the video; nothing when the video is gone or no endpoint wants it.
    public func record(_ type: WebhookEventType, videoID: String, rendition: Rendition? = nil,
                       on tx: any SQLParameterisedExecutor) async throws {
        guard try await tx.query(SQL.webhookSubscribers, [type.rawValue]).first?.first != "0" else { return }
        guard let row = try await tx.query(SQL.getVideo, [videoID]).first else { return }
        let video = try Video(row: row)
        let renditions = try await tx.query(SQL.listRenditions, [videoID]).map { row throws(RowDecodingError) in try Rendition(row: row) }
        let urls = VideoJSON.MediaURLs(video, signing: signer.map { VideoJSON.Signing(signer: $0) })
        var data = VideoJSON.video(video, renditions: renditions, progress: nil, urls: urls)
        if let rendition, case .object(var members) = data {
            members.insert(("rendition", VideoJSON.rendition(rendition, urls: urls)), at: 0)
            data = .object(members)
        }
        let payload = JSONValue.object([("type", .string(type.rawValue)), ("timestamp", .string(Timestamp.now())), ("data", data)])
        _ = try await tx.query(SQL.insertWebhookDeliveries, [type.rawValue, videoID, payload.text])
    }
}
