extension SQL {
    /// $1 id, $2 whether the title is set, $3 title (NULL clears it), $4 visibility or NULL (unchanged).
    public static let updateVideo = """
        UPDATE videos SET title = CASE WHEN $2::boolean THEN $3 ELSE title END,
            visibility = coalesce($4, visibility), updated_at = now()
        WHERE id = $1::uuid
        RETURNING \(videoColumns)
        """
}

extension VideoStore {
    /// `PATCH /videos/{id}`: `title` nil leaves it, `.some(nil)` clears it; `visibility` nil leaves it.
    /// nil when there is no such video.
    public func updateVideo(id: String, title: String??, visibility: Visibility?) async throws -> Video? {
        let setTitle = title != nil
        return try await db.query(SQL.updateVideo, [id, String(setTitle), title ?? nil, visibility?.rawValue]).first
            .map { row throws(RowDecodingError) in try Video(row: row) }
    }
}
