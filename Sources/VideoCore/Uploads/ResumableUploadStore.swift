import PGWire

/// The tus uploads' rows (`tus_uploads`, `tus_upload_parts`, `tus_upload_tail`, migration 030).
///
/// Concurrency: every change to an upload's bytes commits in ONE statement that compare-and-sets
/// the offset (`WHERE upload_offset = expected AND status = 'uploading'`), together with the parts
/// and tail segments it adds or consumes, so two appends can never both land at the same offset
/// and the offset never counts a byte that is not stored. Part numbers are reserved (a counter),
/// never derived from offsets, so two racing appends never overwrite each other's S3 part.
public struct ResumableUploadStore: Sendable {
    public let pool: PGPool

    public init(pool: PGPool) { self.pool = pool }

    /// S3 allows part numbers 1…10 000.
    public static let maximumPartNumber = 10_000

    static let columns = """
        id::text, status, upload_length, upload_offset, metadata, filename, title, content_type, object_key, \
        storage_handle, part_size, parts_bytes, extract(epoch FROM expires_at)::bigint, released
        """

    static func upload(_ row: PGRow) throws -> ResumableUpload {
        let (id, status, length, offset, metadata, filename, title) = try row.decode(
            String.self, String.self, Int64?.self, Int64.self, String.self, String.self, String?.self)
        guard let state = ResumableUploadStatus(rawValue: status) else {
            throw RowDecodingError(what: "upload status", column: 1, value: status)
        }
        return ResumableUpload(
            id: id, status: state, length: length, offset: offset, metadata: metadata, filename: filename, title: title,
            contentType: try row.decode(String?.self, at: 7), objectKey: try row.decode(String.self, at: 8),
            storageHandle: try row.decode(String.self, at: 9), partSize: Int(try row.decode(Int32.self, at: 10)),
            partsBytes: try row.decode(Int64.self, at: 11), expiresAt: try row.decode(Int64.self, at: 12),
            released: try row.decode(Bool.self, at: 13))
    }

    // MARK: SQL

    static let insert = """
        INSERT INTO tus_uploads (id, upload_length, metadata, filename, title, content_type, object_key, storage_handle,
            part_size, expires_at)
        VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9, now() + make_interval(secs => $10))
        RETURNING \(columns)
        """

    static let select = "SELECT \(columns) FROM tus_uploads WHERE id = $1::uuid"
    static let selectForUpdate = "SELECT \(columns) FROM tus_uploads WHERE id = $1::uuid FOR UPDATE"

    /// $1 id, $2 expected offset. The next part number, or no row: the offset moved, the upload is
    /// no longer uploading, or the part numbers are used up.
    static let reservePart = """
        UPDATE tus_uploads SET next_part = next_part + 1
        WHERE id = $1::uuid AND upload_offset = $2 AND status = 'uploading' AND next_part < \(maximumPartNumber)
        RETURNING next_part
        """

    /// The commit of an append: $1 id, $2 expected offset, $3 new offset, $4 bytes added to parts,
    /// $5 drop the tail, $6–$9 parts (numbers, ETags, sizes, start offsets), $10 new tail segment's
    /// offset, $11 its bytes (NULL: none), $12 length set by this append (NULL: unchanged),
    /// $13 expiry in seconds from now. One statement: all of it lands, or none.
    static let commit = """
        WITH u AS (
            UPDATE tus_uploads SET upload_offset = $3, parts_bytes = parts_bytes + $4,
                upload_length = COALESCE(upload_length, $12::bigint),
                expires_at = now() + make_interval(secs => $13), updated_at = now()
            WHERE id = $1::uuid AND upload_offset = $2 AND status = 'uploading'
                AND ($12::bigint IS NULL OR upload_length IS NULL OR upload_length = $12::bigint)
            RETURNING *
        ), dropped AS (
            DELETE FROM tus_upload_tail WHERE $5::boolean AND upload_id IN (SELECT id FROM u)
        ), parts AS (
            INSERT INTO tus_upload_parts (upload_id, part_number, etag, size, start_offset)
            SELECT u.id, p.n, p.etag, p.size, p.start
            FROM u, unnest($6::int4[], $7::text[], $8::int8[], $9::int8[]) AS p(n, etag, size, start)
        ), tail AS (
            INSERT INTO tus_upload_tail (upload_id, start_offset, bytes)
            SELECT u.id, $10::int8, $11::bytea FROM u WHERE $11::bytea IS NOT NULL
        )
        SELECT \(columns) FROM u
        """

    static let tail = "SELECT start_offset, bytes FROM tus_upload_tail WHERE upload_id = $1::uuid ORDER BY start_offset"
    static let parts = "SELECT part_number, etag, size, start_offset FROM tus_upload_parts WHERE upload_id = $1::uuid ORDER BY start_offset"

    /// $1 id, $2 seconds to keep the finished row (HEAD keeps answering Upload-Offset = Upload-Length).
    static let markCompleted = """
        UPDATE tus_uploads SET status = 'completed', expires_at = now() + make_interval(secs => $2), updated_at = now()
        WHERE id = $1::uuid AND status = 'uploading' AND upload_offset = upload_length
        RETURNING \(columns)
        """

    /// $1 id. Termination stops every later commit (they require 'uploading'). A finished upload
    /// only loses its record: its storage is the video's now, so there is nothing to release.
    static let terminate = """
        UPDATE tus_uploads SET status = 'terminated', released = (status = 'completed'), updated_at = now()
        WHERE id = $1::uuid AND status IN ('uploading', 'completed')
        RETURNING \(columns)
        """

    /// Every unfinished upload past its expiry becomes a tombstone whose storage the sweeper releases.
    /// A full one too when finishing it never got as far as its video (it failed until the expiry,
    /// e.g. its multipart upload was aborted by a lifecycle rule): retrying it for ever would hold
    /// its storage for ever. One with its video is left to be finished (only marking it remains).
    static let expireDue = """
        UPDATE tus_uploads SET status = 'expired', updated_at = now()
        WHERE status = 'uploading' AND expires_at < now()
            AND (upload_length IS NULL OR upload_offset < upload_length
                 OR NOT EXISTS (SELECT 1 FROM videos WHERE videos.id = tus_uploads.id))
        RETURNING \(columns)
        """

    static let hasVideo = "SELECT EXISTS (SELECT 1 FROM videos WHERE id = $1::uuid)"

    static let unreleased = """
        SELECT \(columns) FROM tus_uploads WHERE status IN ('expired', 'terminated') AND NOT released
        ORDER BY updated_at LIMIT $1::integer
        """

    /// Storage released: the parts and tail rows go too, the tombstone stays (410 for a while).
    static let markReleased = """
        WITH r AS (UPDATE tus_uploads SET released = true, updated_at = now() WHERE id = $1::uuid RETURNING id),
             t AS (DELETE FROM tus_upload_tail WHERE upload_id IN (SELECT id FROM r))
        DELETE FROM tus_upload_parts WHERE upload_id IN (SELECT id FROM r)
        """

    /// Every byte arrived but the object or the video is not recorded yet (a crash or an outage
    /// between the last commit and the end): the sweeper finishes them.
    static let fullButUnfinished = """
        SELECT \(columns) FROM tus_uploads WHERE status = 'uploading' AND upload_offset = upload_length
        AND updated_at < now() - make_interval(secs => $1) ORDER BY updated_at LIMIT 100
        """

    /// $1 seconds: tombstones older than this, and finished uploads past their expiry, are forgotten.
    static let forget = """
        DELETE FROM tus_uploads
        WHERE (status IN ('expired', 'terminated') AND released AND updated_at < now() - make_interval(secs => $1))
           OR (status = 'completed' AND expires_at < now())
        """

    // MARK: Operations

    /// Records a new upload (its offset, parts and expiry start fresh whatever `u` says).
    public func insert(_ u: ResumableUpload, expiry: Duration) async throws -> ResumableUpload {
        let rows = try await pool.collect(Self.insert, [
            u.id, u.length, u.metadata, u.filename, u.title, u.contentType, u.objectKey, u.storageHandle,
            Int32(u.partSize), expiry.fractionalSeconds,
        ])
        guard let row = rows.first else { throw RowDecodingError(what: "inserted upload", column: 0, value: nil) }
        return try Self.upload(row)
    }

    public func upload(id: String) async throws -> ResumableUpload? {
        try await pool.collect(Self.select, [id]).first.map(Self.upload)
    }

    public func reservePart(id: String, expectedOffset: Int64) async throws -> Int? {
        try await pool.collect(Self.reservePart, [id, expectedOffset]).first.map { Int(try $0.decode(Int32.self, at: 0)) }
    }

    /// What an append commits: the offset it moves from and to, and the rows that go with that.
    public struct Commit: Sendable {
        public var expectedOffset: Int64
        public var newOffset: Int64
        public var parts: [ResumablePart] = []
        public var dropTail = false
        public var tailSegment: (offset: Int64, bytes: [UInt8])?
        public var length: Int64?

        public init(expectedOffset: Int64, newOffset: Int64) {
            self.expectedOffset = expectedOffset
            self.newOffset = newOffset
        }
    }

    /// The upload after the commit, or nil when the compare-and-set failed (another append moved the
    /// offset, or the upload expired or was terminated meanwhile). On `connection` when given (the
    /// transaction holding the row lock), else on the pool.
    public func commit(id: String, _ c: Commit, expiry: Duration, on connection: PGConnection? = nil) async throws -> ResumableUpload? {
        let parameters: [any PGEncodable] = [
            id, c.expectedOffset, c.newOffset, c.parts.reduce(Int64(0)) { $0 + $1.size }, c.dropTail,
            c.parts.map { Int32($0.number) }, c.parts.map(\.etag), c.parts.map(\.size), c.parts.map(\.offset),
            c.tailSegment?.offset, c.tailSegment.map { PGBytea($0.bytes) }, c.length, expiry.fractionalSeconds,
        ]
        let rows = if let connection {
            try await connection.collect(Self.commit, parameters)
        } else {
            try await pool.collect(Self.commit, parameters)
        }
        return try rows.first.map(Self.upload)
    }

    /// The tail's bytes in order, checked to start at `offset` and be contiguous; nil when they do
    /// not (another append changed the tail since this one read the row).
    public func tail(id: String, from offset: Int64, count: Int64) async throws -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(count))
        for row in try await pool.collect(Self.tail, [id]) {
            let (start, segment) = try row.decode(Int64.self, PGBytea.self)
            guard start == offset + Int64(bytes.count) else { return nil }
            bytes.append(contentsOf: segment.bytes)
        }
        return bytes.count == count ? bytes : nil
    }

    public func parts(id: String) async throws -> [ResumablePart] {
        try await pool.collect(Self.parts, [id]).map { row in
            let (n, etag, size, start) = try row.decode(Int32.self, String.self, Int64.self, Int64.self)
            return ResumablePart(number: Int(n), etag: etag, size: size, offset: start)
        }
    }

    /// Runs `body` in a transaction holding the upload's row lock: the file backend writes in place
    /// under it, so no write can land in a range another append has already committed.
    public func withLockedUpload<T: Sendable>(id: String, _ body: (ResumableUpload?, PGConnection) async throws -> T) async throws -> T {
        try await pool.withConnection { connection in
            try await connection.transaction { tx in
                let row = try await tx.collect(Self.selectForUpdate, [id]).first.map(Self.upload)
                return try await body(row, tx)
            }
        }
    }

    public func markCompleted(id: String, keepFor: Duration) async throws -> ResumableUpload? {
        try await pool.collect(Self.markCompleted, [id, keepFor.fractionalSeconds]).first.map(Self.upload)
    }

    /// `terminated`, from `uploading` or `completed`; nil when it was neither.
    public func terminate(id: String) async throws -> ResumableUpload? {
        try await pool.collect(Self.terminate, [id]).first.map(Self.upload)
    }

    public func expireDue() async throws -> [ResumableUpload] {
        try await pool.collect(Self.expireDue).map(Self.upload)
    }

    /// Whether the upload became a video (its id is the video's).
    public func hasVideo(id: String) async throws -> Bool {
        try await pool.collect(Self.hasVideo, [id]).first?.decode(Bool.self, at: 0) ?? false
    }

    public func unreleased(limit: Int = 100) async throws -> [ResumableUpload] {
        try await pool.collect(Self.unreleased, [Int32(limit)]).map(Self.upload)
    }

    public func markReleased(id: String) async throws {
        _ = try await pool.execute(Self.markReleased, [id])
    }

    public func fullButUnfinished(idleFor: Duration) async throws -> [ResumableUpload] {
        try await pool.collect(Self.fullButUnfinished, [idleFor.fractionalSeconds]).map(Self.upload)
    }

    @discardableResult
    public func forget(tombstonesOlderThan age: Duration) async throws -> Int {
        try await pool.execute(Self.forget, [age.fractionalSeconds]).rowCount ?? 0
    }
}
