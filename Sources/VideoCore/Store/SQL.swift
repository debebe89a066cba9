/// Every statement the service runs, with `$1…` parameters (extended protocol) — the store's whole
/// SQL surface in one place, checked against a real PostgreSQL by the tests (PREPARE + EXECUTE).
public enum SQL {
    /// RFC 3339 UTC text for a timestamptz column, so rows need no date parsing.
    static func rfc3339(_ column: String) -> String {
        "to_char(\(column) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
    }

    /// The columns `Video(row:)` reads, in its order.
    public static let videoColumns = """
        id::text, title, status, error_message, source_key, original_name, \
        source_duration_seconds::text, source_width::text, source_height::text, source_frame_rate::text, \
        source_video_codec, source_audio_codec, source_size_bytes::text, source_rotation::text, attempts::text, \
        \(rfc3339("created_at")), \(rfc3339("started_at")), \(rfc3339("completed_at")), failure_code, \
        \(rfc3339("playable_at")), dash_manifest_key, visibility
        """

    /// The columns `Rendition(row:)` reads, in its order.
    public static let renditionColumns = "video_id::text, height::text, width::text, bitrate::text, size_bytes::text, codec, mp4_key, hls_playlist_key"

    /// $1 id, $2 title, $3 source_key, $4 original_name, $5 whether the video owns its source
    /// (see `VideoStore.createVideo`), $6 source_url (or NULL), $7 visibility. Idempotent: re-submitting an id
    /// returns the existing row unchanged; the last column says whether this call created it.
    public static let insertVideo = """
        INSERT INTO videos (id, title, source_key, original_name, source_owned, source_url, visibility)
        VALUES ($1::uuid, $2, $3, $4, $5::boolean, $6, coalesce($7, 'public'))
        ON CONFLICT (id) DO UPDATE SET id = videos.id
        RETURNING \(videoColumns), (xmax = 0)::text
        """

    /// $1 id. Taken by a worker; returns the new attempt count, or no row when the video is already
    /// finished (completed or failed) or gone, so the worker acknowledges without working.
    public static let markProcessing = """
        UPDATE videos SET status = 'processing', started_at = now(), completed_at = NULL,
            error_message = NULL, failure_code = NULL, attempts = attempts + 1, updated_at = now()
        WHERE id = $1::uuid AND status IN ('queued', 'processing')
        RETURNING attempts::text
        """

    /// $1 id, $2 duration s, $3 width, $4 height, $5 fps, $6 video codec, $7 audio codec, $8 size, $9 rotation.
    public static let updateSourceMetadata = """
        UPDATE videos SET source_duration_seconds = $2::double precision, source_width = $3::integer,
            source_height = $4::integer, source_frame_rate = $5::double precision, source_video_codec = $6,
            source_audio_codec = $7, source_size_bytes = $8::bigint, source_rotation = $9::integer, updated_at = now()
        WHERE id = $1::uuid
        """

    /// $1 id. Whether a processing video is playable already, locking its row until the
    /// transaction's `markCompleted`.
    public static let playableBeforeCompletion = """
        SELECT (playable_at IS NOT NULL)::text FROM videos WHERE id = $1::uuid AND status = 'processing' FOR UPDATE
        """

    /// $1 id, $2 the DASH manifest's key or NULL. Only from `processing`: a late duplicate cannot
    /// complete a failed or deleted video. A completed video is playable (since now, if its early
    /// master was never recorded).
    public static let markCompleted = """
        UPDATE videos SET status = 'completed', completed_at = now(), error_message = NULL, failure_code = NULL, updated_at = now(),
            playable_at = COALESCE(playable_at, now()), dash_manifest_key = $2
        WHERE id = $1::uuid AND status = 'processing'
        RETURNING id::text
        """

    /// $1 id. The video's master playlist is stored while it is still processing: it is playable
    /// from now on (from the first time, on a redelivered job). One row — `playable_at` and
    /// whether this call set it — while it is processing; none otherwise (failed, completed or
    /// gone meanwhile: nothing to announce).
    public static let markPlayable = """
        WITH updated AS (
            UPDATE videos SET playable_at = now(), updated_at = now()
            WHERE id = $1::uuid AND status = 'processing' AND playable_at IS NULL
            RETURNING playable_at
        )
        SELECT \(rfc3339("playable_at")), 'true' FROM updated
        UNION ALL
        SELECT \(rfc3339("playable_at")), 'false' FROM videos
        WHERE id = $1::uuid AND status = 'processing' AND playable_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM updated)
        """

    /// $1 id, $2 error message, $3 failure code (`FailureCode`) or NULL. Never overrides `completed`.
    public static let markFailed = """
        UPDATE videos SET status = 'failed', error_message = $2, failure_code = $3, completed_at = now(), updated_at = now()
        WHERE id = $1::uuid AND status <> 'completed'
        RETURNING id::text
        """

    /// $1 id. `POST /videos/{id}/retry`: only a failed video goes back to the queue.
    public static let requeueFailed = """
        UPDATE videos SET status = 'queued', error_message = NULL, failure_code = NULL, started_at = NULL, completed_at = NULL,
            attempts = 0, enqueued_at = NULL, updated_at = now(), playable_at = NULL
        WHERE id = $1::uuid AND status = 'failed'
        RETURNING \(videoColumns)
        """

    /// $1 video id, $2 height, $3 width, $4 bitrate, $5 size, $6 codec, $7 mp4 key, $8 HLS playlist key.
    /// A retried job updates its rung's row instead of adding a second one; the reply says
    /// whether this call inserted it.
    public static let upsertRendition = """
        INSERT INTO resolutions (video_id, height, width, bitrate, size_bytes, codec, mp4_key, hls_playlist_key)
        VALUES ($1::uuid, $2::integer, $3::integer, $4::integer, $5::bigint, $6, $7, $8)
        ON CONFLICT (video_id, height) DO UPDATE SET width = EXCLUDED.width, bitrate = EXCLUDED.bitrate,
            size_bytes = EXCLUDED.size_bytes, codec = EXCLUDED.codec, mp4_key = EXCLUDED.mp4_key,
            hls_playlist_key = EXCLUDED.hls_playlist_key, updated_at = now()
        RETURNING (xmax = 0)::text
        """

    /// $1 status or NULL for all, $2 limit, $3 offset, $4 ILIKE pattern on the shown name (title,
    /// else the file name) or NULL, $5 whether private videos are listed. Newest first; ties
    /// broken by id for stable pages.
    /// The sort keys are qualified: a bare `id` would mean the output column `id::text`, which
    /// no index has, so every row would be formatted and sorted before the LIMIT. The pattern's
    /// expression is the one `videos_name_trgm_idx` indexes (migration 20), so a search uses it.
    public static let listVideos = """
        SELECT \(videoColumns) FROM videos
        WHERE ($1::text IS NULL OR status = $1::text) AND ($4::text IS NULL OR \(searchedName) ILIKE $4::text)
            AND ($5::boolean OR visibility = 'public')
        ORDER BY videos.created_at DESC, videos.id DESC LIMIT $2::integer OFFSET $3::integer
        """

    /// $1 status or NULL, $2 ILIKE pattern or NULL, $3 whether private videos count. The `total` of a listing.
    public static let countVideos = """
        SELECT count(*)::text FROM videos WHERE ($1::text IS NULL OR status = $1::text) AND ($2::text IS NULL OR \(searchedName) ILIKE $2::text)
            AND ($3::boolean OR visibility = 'public')
        """

    /// What a search matches: the name a listing shows.
    static let searchedName = "coalesce(title, original_name, '')"


    /// $1 id. The URL a source is to be fetched from (NULL for uploads and stored objects).
    public static let sourceURL = "SELECT source_url FROM videos WHERE id = $1::uuid"

    /// $1 id.
    public static let getVideo = "SELECT \(videoColumns) FROM videos WHERE id = $1::uuid"

    /// $1 video id. Highest rung first.
    public static let listRenditions = "SELECT \(renditionColumns) FROM resolutions WHERE video_id = $1::uuid ORDER BY height DESC"

    /// $1 id. Renditions go with it (ON DELETE CASCADE); returns the source key and whether the
    /// video owned it. Run under `lockSource` (see `VideoStore.deleteVideo`).
    public static let deleteVideo = "DELETE FROM videos WHERE id = $1::uuid RETURNING source_key, source_owned::text"

    /// `/readyz`.
    public static let ping = "SELECT 1"

    /// A literal for the simple protocol (migration bookkeeping only; values go as parameters elsewhere).
    public static func literal(_ s: String) -> String {
        "'" + s.replacing("'", with: "''") + "'"
    }
}

/// A row did not have the shape a query promised.
public struct RowDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var what: String
    public var column: Int
    public var value: String?
    public var description: String { "cannot read \(what) column \(column) from \(value.map { "\"\($0)\"" } ?? "NULL")" }
}

extension Video {
    /// From the columns of `SQL.videoColumns`.
    public init(row: [String?]) throws(RowDecodingError) {
        func text(_ i: Int) throws(RowDecodingError) -> String {
            guard i < row.count, let v = row[i] else { throw RowDecodingError(what: "video", column: i, value: nil) }
            return v
        }
        func optional(_ i: Int) -> String? { i < row.count ? row[i] : nil }
        func number<T: LosslessStringConvertible>(_ i: Int, _: T.Type) throws(RowDecodingError) -> T? {
            guard let v = optional(i) else { return nil }
            guard let n = T(v) else { throw RowDecodingError(what: "video", column: i, value: v) }
            return n
        }
        let statusText = try text(2)
        guard let status = VideoStatus(rawValue: statusText) else { throw RowDecodingError(what: "video status", column: 2, value: statusText) }
        let source = SourceMetadata(
            durationSeconds: try number(6, Double.self), width: try number(7, Int.self), height: try number(8, Int.self),
            frameRate: try number(9, Double.self), videoCodec: optional(10), audioCodec: optional(11),
            sizeBytes: try number(12, Int64.self), rotation: try number(13, Int.self))
        // An unknown code (written by a newer version) reads as no code: the message stays generic.
        self.init(id: try text(0), title: optional(1), status: status, errorMessage: optional(3), sourceKey: try text(4),
                  originalName: optional(5), source: source, attempts: try number(14, Int.self) ?? 0,
                  createdAt: try text(15), startedAt: optional(16), completedAt: optional(17),
                  failureCode: optional(18).flatMap(FailureCode.init(rawValue:)))
        playableAt = optional(19)
        dashManifestKey = optional(20)
        visibility = optional(21).flatMap(Visibility.init(rawValue:)) ?? .public
    }
}

extension Rendition {
    /// From the columns of `SQL.renditionColumns`.
    public init(row: [String?]) throws(RowDecodingError) {
        func int(_ i: Int) throws(RowDecodingError) -> Int64 {
            guard i < row.count, let v = row[i], let n = Int64(v) else { throw RowDecodingError(what: "rendition", column: i, value: i < row.count ? row[i] : nil) }
            return n
        }
        guard row.count >= 8, let id = row[0], let codec = row[5], let mp4 = row[6] else {
            throw RowDecodingError(what: "rendition", column: 0, value: nil)
        }
        self.init(videoID: id, height: Int(try int(1)), width: Int(try int(2)), bitrate: Int(try int(3)),
                  sizeBytes: try int(4), codec: codec, mp4Key: mp4, hlsPlaylistKey: row[7])
    }
}
