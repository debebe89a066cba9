/// The service's database operations, over any executor that speaks PostgreSQL's extended protocol
/// (PGWire's connection or pool, once wired). Every method is one statement from `SQL`.
public struct VideoStore<DB: SQLParameterisedExecutor>: Sendable {
    public let db: DB

    public init(db: DB) { self.db = db }

    /// Creates the video, or returns the existing one when `id` was submitted before.
    public func createVideo(id: String, title: String?, sourceKey: String, originalName: String?) async throws -> (video: Video, created: Bool) {
        let rows = try await db.query(SQL.insertVideo, [id, title, sourceKey, originalName])
        guard let row = rows.first else { throw RowDecodingError(what: "inserted video", column: 0, value: nil) }
        return (try Video(row: Array(row.dropLast())), row.last == "true")
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

    /// True when this call completed the video (false: it was not `processing`).
    public func markCompleted(id: String) async throws -> Bool {
        try await !db.query(SQL.markCompleted, [id]).isEmpty
    }

    public func markFailed(id: String, message: String, code: FailureCode? = nil) async throws -> Bool {
        try await !db.query(SQL.markFailed, [id, message, code?.rawValue]).isEmpty
    }

    public func requeueFailed(id: String) async throws -> Video? {
        try await db.query(SQL.requeueFailed, [id]).first.map { row throws(RowDecodingError) in try Video(row: row) }
    }

    public func upsertRendition(_ r: Rendition) async throws {
        _ = try await db.query(SQL.upsertRendition, [
            r.videoID, String(r.height), String(r.width), String(r.bitrate), String(r.sizeBytes), r.codec, r.mp4Key, r.hlsPlaylistKey,
        ])
    }

    public func listVideos(_ page: PageRequest) async throws -> (videos: [Video], total: Int) {
        let status = page.status?.rawValue
        let pattern = page.search.map(PageRequest.containsPattern)
        let rows = try await db.query(SQL.listVideos, [status, String(page.limit), String(page.offset), pattern])
        let count = try await db.query(SQL.countVideos, [status, pattern])
        let total = count.first?.first.flatMap { $0 }.flatMap { Int($0) } ?? 0
        return (try rows.map { row throws(RowDecodingError) in try Video(row: row) }, total)
    }

    /// The renamed video, or nil when there is no such video.
    public func updateTitle(id: String, title: String) async throws -> Video? {
        try await db.query(SQL.updateTitle, [id, title]).first.map { row throws(RowDecodingError) in try Video(row: row) }
    }

    public func video(id: String) async throws -> Video? {
        try await db.query(SQL.getVideo, [id]).first.map { row throws(RowDecodingError) in try Video(row: row) }
    }

    public func renditions(videoID: String) async throws -> [Rendition] {
        try await db.query(SQL.listRenditions, [videoID]).map { row throws(RowDecodingError) in try Rendition(row: row) }
    }

    /// The deleted video's source key, or nil when there was no such video.
    public func deleteVideo(id: String) async throws -> String? {
        try await db.query(SQL.deleteVideo, [id]).first.flatMap { $0.count > 1 ? $0[1] : nil }
    }
}
