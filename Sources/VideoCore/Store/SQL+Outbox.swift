/// The statements of source ownership (who may delete a source object, and when) and of the
/// enqueue outbox (which queued videos still have to be put on the stream).
extension SQL {
    /// $1 source key. Until the transaction ends, every statement about this key's users
    /// (a submission naming it, a delete of one of its videos) waits for the others. The two-key
    /// form keeps these locks apart from the migration runner's one-key lock.
    public static let lockSource = "SELECT true FROM pg_advisory_xact_lock(1986618468, hashtext($1))"

    /// $1 source key: how many videos still use it, and whether any of them owns it.
    public static let sourceUsers = """
        SELECT count(*)::text, coalesce(bool_or(source_owned), false)::text FROM videos WHERE source_key = $1
        """

    /// $1 source key: the owner was deleted while others use the object; they own it now.
    public static let passSourceOwnership = "UPDATE videos SET source_owned = true WHERE source_key = $1 AND NOT source_owned"

    /// $1 id: its job is on the stream (the outbox entry is done).
    public static let markEnqueued = """
        UPDATE videos SET enqueued_at = now() WHERE id = $1::uuid AND status = 'queued' AND enqueued_at IS NULL
        """

    /// $1 id: whether an enqueue of its current run was recorded ('true'/'false'; no row: gone).
    public static let enqueueRecorded = "SELECT (enqueued_at IS NOT NULL)::text FROM videos WHERE id = $1::uuid"

    /// $1 minimum age in milliseconds, $2 batch size. Queued videos whose enqueue was never
    /// recorded, oldest first, locked for this transaction; rows another reconciler holds are
    /// skipped, so reconcilers running at once never take the same video.
    public static let lockPendingEnqueues = """
        SELECT \(videoColumns) FROM videos
        WHERE status = 'queued' AND enqueued_at IS NULL AND updated_at <= now() - $1::bigint * interval '1 millisecond'
        ORDER BY updated_at LIMIT $2::integer FOR UPDATE SKIP LOCKED
        """
}
