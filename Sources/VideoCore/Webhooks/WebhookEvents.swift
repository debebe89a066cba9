/// Writes webhook events into the delivery outbox, on the transaction of the state change that
/// causes them: the event exists exactly when the change committed, and a crash between the
/// change and the delivery loses nothing (the loop finds the row).
///
/// An event's body is the Standard Webhooks payload `{"type", "timestamp", "data"}` with the
/// video's JSON (as `GET /videos/{id}` gives it to a caller with a token: a private video's
/// URLs signed) as `data`, read on the same transaction; `rendition.completed` adds the rung as
/// `data.rendition`. Nothing is read or rendered when no endpoint wants the event.
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
        let signing = signer.map { VideoJSON.Signing(signer: $0) }
        var data = VideoJSON.video(video, renditions: renditions, signing: signing)
        if let rendition, case .object(var members) = data {
            members.insert(("rendition", VideoJSON.rendition(video, rendition, signing: signing)), at: 0)
            data = .object(members)
        }
        let payload = JSONValue.object([("type", .string(type.rawValue)), ("timestamp", .string(Timestamp.now())), ("data", data)])
        _ = try await tx.query(SQL.insertWebhookDeliveries, [type.rawValue, videoID, payload.text])
    }
}

extension VideoStore {
    /// `markCompleted` with its events in the same transaction: `video.completed`, and
    /// `video.ready` unless the video was already playable (then `markPlayable` sent it).
    public func markCompleted(id: String, dashManifestKey: String?, events: WebhookEvents) async throws -> Bool {
        try await db.inTransaction { tx in
            // Locks the row: whether it was playable before this completion is settled here.
            let wasPlayable = try await tx.query(SQL.playableBeforeCompletion, [id]).first?.first == "true"
            guard try await !tx.query(SQL.markCompleted, [id, dashManifestKey]).isEmpty else { return false }
            if !wasPlayable { try await events.videoBecamePlayable(videoID: id, on: tx) }
            try await events.record(.videoCompleted, videoID: id, on: tx)
            return true
        }
    }

    /// `markPlayable` with `video.ready` in the same transaction, the first time only (a
    /// redelivered job finds the video playable already and announces nothing new).
    public func markPlayable(id: String, events: WebhookEvents) async throws -> (playableAt: String, first: Bool)? {
        try await db.inTransaction { tx in
            guard let row = try await tx.query(SQL.markPlayable, [id]).first, row.count == 2, let at = row[0] else { return nil }
            let first = row[1] == "true"
            if first { try await events.videoBecamePlayable(videoID: id, on: tx) }
            return (at, first)
        }
    }

    /// `markFailed` with `video.failed` in the same transaction.
    public func markFailed(id: String, message: String, code: FailureCode?, events: WebhookEvents) async throws -> Bool {
        try await db.inTransaction { tx in
            guard try await !tx.query(SQL.markFailed, [id, message, code?.rawValue]).isEmpty else { return false }
            try await events.record(.videoFailed, videoID: id, on: tx)
            return true
        }
    }

    /// `upsertRendition` with `rendition.completed` when the rung is new (a retried job that
    /// stores a rung again does not announce it twice).
    public func upsertRendition(_ r: Rendition, events: WebhookEvents) async throws {
        try await db.inTransaction { tx in
            let inserted = try await tx.query(SQL.upsertRendition, Self.renditionParameters(r)).first?.first == "true"
            if inserted { try await events.record(.renditionCompleted, videoID: r.videoID, rendition: r, on: tx) }
        }
    }
}
