/// The service's database operations, over any executor that speaks PostgreSQL's extended protocol
/// (PGWire's pool). Every method is a statement from `SQL`, or a few in one transaction.
public struct VideoStore<DB: SQLTransactionalExecutor>: Sendable {
    public let db: DB

    public init(db: DB) { self.db = db }

    /// Creates the video, or returns the existing one when `id` was submitted before. A video
    /// owns its source when the key lies in its own `source/{id}/` (an upload, or the seed's
    /// layout): the object is then deleted with the last video that uses it. `sourceURL`: the
    /// source is fetched from there by the worker (URL ingest).
    public func createVideo(id: String, title: String?, sourceKey: String, originalName: String?,
                            sourceURL: String? = nil, visibility: Visibility = .public) async throws -> (video: Video, created: Bool) {
        try await Self.insert(on: db, id: id, title: title, sourceKey: sourceKey, originalName: originalName, sourceURL: sourceURL,
                              visibility: visibility)
    }

    /// Creates the video on a source object that is already in the bucket (the JSON form), or
    /// nil when `sourceExists` says it is not. The check and the insert hold the source's lock, so
    /// a concurrent delete of the object's last video either sees this one (and keeps the object)
    /// or has removed the object first (and this is refused) — never an accepted video without its
    /// source.
    public func createVideo(id: String, title: String?, sourceKey: String, originalName: String?, visibility: Visibility = .public,
                            ifSourceExists sourceExists: @Sendable () async throws -> Bool) async throws -> (video: Video, created: Bool)? {
        try await db.inTransaction { tx in
            _ = try await tx.query(SQL.lockSource, [sourceKey])
            guard try await sourceExists() else { return nil }
            return try await Self.insert(on: tx, id: id, title: title, sourceKey: sourceKey, originalName: originalName, sourceURL: nil,
                                         visibility: visibility)
        }
    }

    private static func insert(on db: any SQLParameterisedExecutor, id: String, title: String?, sourceKey: String,
                               originalName: String?, sourceURL: String?, visibility: Visibility) async throws -> (video: Video, created: Bool) {
        let owned = sourceKey.hasPrefix(ObjectKeys.sourceDirectory(videoID: id))
        let rows = try await db.query(SQL.insertVideo, [id, title, sourceKey, originalName, String(owned), sourceURL, visibility.rawValue])
        guard let row = rows.first else { throw RowDecodingError(what: "inserted video", column: 0, value: nil) }
        return (try Video(row: Array(row.dropLast())), row.last == "true")
    }

    /// The URL the video's source is fetched from, or nil (not a URL ingest, or no such video).
    public func sourceURL(id: String) async throws -> String? {
        try await db.query(SQL.sourceURL, [id]).first?.first ?? nil
    }

    /// The attempt number now starting, or nil when the video is finished or gone (acknowledge and skip).
    public func markProcessing(id: String) async throws -> Int? {
        let rows = try await db.query(SQL.markProcessing, [id])
        return rows.first?.first.flatMap { $0 }.flatMap { Int($0) }
    }

    public func updateSourceMetadata(id: String, _ m: SourceMetadata) async throws {
        _ = try await db.query(SQL.updateSourceMetadata, [
            id, m.durationSeconds.map { String($0) }, m.width.map(String.init), m.height.map(String.init),
            m.frameRate.map { String($0) }, m.videoCodec, m.audioCodec, m.sizeBytes.map(String.init), m.rotation.map(String.init),
        ])
    }

    /// True when this call completed the video (false: it was not `processing`), with its events
    /// in the same transaction: `video.completed`, and `video.ready` unless the video was already
    /// playable (then `markPlayable` sent it).
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

    /// Records that the video is playable (`SQL.markPlayable`): when it became so and whether this
    /// call made it, or nil when it is not processing any more. `video.ready` goes in the same
    /// transaction, the first time only (a redelivered job finds the video playable already and
    /// announces nothing new).
    public func markPlayable(id: String, events: WebhookEvents) async throws -> (playableAt: String, first: Bool)? {
        try await db.inTransaction { tx in
            guard let row = try await tx.query(SQL.markPlayable, [id]).first, row.count == 2, let at = row[0] else { return nil }
            let first = row[1] == "true"
            if first { try await events.videoBecamePlayable(videoID: id, on: tx) }
            return (at, first)
        }
    }

    /// True when this call failed the video (false: it was finished already), with `video.failed`
    /// in the same transaction.
    public func markFailed(id: String, message: String, code: FailureCode?, events: WebhookEvents) async throws -> Bool {
        try await db.inTransaction { tx in
            guard try await !tx.query(SQL.markFailed, [id, message, code?.rawValue]).isEmpty else { return false }
            try await events.record(.videoFailed, videoID: id, on: tx)
            return true
        }
    }

    public func requeueFailed(id: String) async throws -> Video? {
        try await db.query(SQL.requeueFailed, [id]).first.map { row throws(RowDecodingError) in try Video(row: row) }
    }

    /// Stores the rung (a retried job updates its row), with `rendition.completed` when the rung
    /// is new (a retried job that stores a rung again does not announce it twice).
    public func upsertRendition(_ r: Rendition, events: WebhookEvents) async throws {
        try await db.inTransaction { tx in
            let inserted = try await tx.query(SQL.upsertRendition, Self.renditionParameters(r)).first?.first == "true"
            if inserted { try await events.record(.renditionCompleted, videoID: r.videoID, rendition: r, on: tx) }
        }
    }

    static func renditionParameters(_ r: Rendition) -> [String?] {
        [r.videoID, String(r.height), String(r.width), String(r.bitrate), String(r.sizeBytes), r.codec, r.mp4Key, r.hlsPlaylistKey]
    }

    /// `includingPrivate`: the caller has a token (else private videos are neither listed nor counted).
    public func listVideos(_ page: PageRequest, includingPrivate: Bool = true) async throws -> (videos: [Video], total: Int) {
        let status = page.status?.rawValue
        let pattern = page.search.map(PageRequest.containsPattern)
        let rows = try await db.query(SQL.listVideos, [status, String(page.limit), String(page.offset), pattern, String(includingPrivate)])
        let count = try await db.query(SQL.countVideos, [status, pattern, String(includingPrivate)])
        let total = count.first?.first.flatMap { $0 }.flatMap { Int($0) } ?? 0
        return (try rows.map { row throws(RowDecodingError) in try Video(row: row) }, total)
    }

    /// The renamed video, or nil when there is no such video.
    public func video(id: String) async throws -> Video? {
        try await db.query(SQL.getVideo, [id]).first.map { row throws(RowDecodingError) in try Video(row: row) }
    }

    public func renditions(videoID: String) async throws -> [Rendition] {
        try await db.query(SQL.listRenditions, [videoID]).map { row throws(RowDecodingError) in try Rendition(row: row) }
    }

    /// What deleting a video did to its source object.
    public enum SourceOutcome: Sendable, Equatable {
        /// Other videos still use it (they own it now if the deleted one did).
        case keptForOtherVideos
        /// Not vidd's: a key another party put in the bucket.
        case keptNotOwned
        /// This was the last video using it: `removeSource` deleted it.
        case removed
    }

    /// Deletes the video (renditions cascade) under its source's lock; when it was the last video
    /// using an owned source, `removeSource` deletes the object before the transaction commits.
    /// So two deletes of the last two users remove the object exactly once (the second sees it
    /// has no other user), and a submission naming the object waits and then finds it gone. A
    /// failing `removeSource` rolls the delete back. nil when there is no such video.
    /// `video.deleted` is recorded in the same transaction (before the rows go, so its data is the
    /// video as it was).
    public func deleteVideo(id: String, sourceKey: String, events: WebhookEvents,
                            removeSource: @Sendable (String) async throws -> Void) async throws -> SourceOutcome? {
        try await db.inTransaction { tx in
            _ = try await tx.query(SQL.lockSource, [sourceKey])
            // Every delete of this video holds the same lock: the row read here is the one deleted below.
            try await events.record(.videoDeleted, videoID: id, on: tx)
            guard let deleted = try await tx.query(SQL.deleteVideo, [id]).first, deleted.count == 2 else { return nil }
            let owned = deleted[1] == "true"
            let users = try await tx.query(SQL.sourceUsers, [sourceKey]).first ?? []
            let remaining = users.first.flatMap { $0 }.flatMap { Int($0) } ?? 0
            if remaining > 0 {
                if owned { _ = try await tx.query(SQL.passSourceOwnership, [sourceKey]) }
                return .keptForOtherVideos
            }
            guard owned else { return .keptNotOwned }
            try await removeSource(sourceKey)
            return .removed
        }
    }

    /// Records that the video's job is on the stream.
    public func markEnqueued(id: String) async throws {
        _ = try await db.query(SQL.markEnqueued, [id])
    }

    /// Whether the enqueue of the video's current run was recorded (false also when it is gone).
    public func isEnqueueRecorded(id: String) async throws -> Bool {
        try await db.query(SQL.enqueueRecorded, [id]).first?.first == "true"
    }
}
