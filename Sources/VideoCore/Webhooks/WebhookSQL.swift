/// The statements of webhook endpoints and their delivery outbox (migration 60).
extension SQL {
    static let endpointColumns = "id::text, url, coalesce(array_to_string(events, ','), ''), (events IS NULL)::text, "
        + "\(rfc3339("created_at")), \(rfc3339("disabled_at")), disabled_reason"

    /// $1 id, $2 url, $3 secret, $4 events as `{a,b}` or NULL (all).
    static let insertWebhookEndpoint = """
        INSERT INTO webhook_endpoints (id, url, secret, events) VALUES ($1::uuid, $2, $3, $4::text[])
        RETURNING \(endpointColumns)
        """

    static let listWebhookEndpoints = "SELECT \(endpointColumns) FROM webhook_endpoints ORDER BY created_at, id"

    /// $1 id. Its deliveries and their attempts go with it (ON DELETE CASCADE).
    static let deleteWebhookEndpoint = "DELETE FROM webhook_endpoints WHERE id = $1::uuid RETURNING id::text"

    static let webhookEndpointExists = "SELECT id::text FROM webhook_endpoints WHERE id = $1::uuid"

    /// $1 event type: whether any enabled endpoint wants it (so the video's JSON is only rendered when needed).
    static let webhookSubscribers = """
        SELECT count(*)::text FROM webhook_endpoints WHERE disabled_at IS NULL AND (events IS NULL OR $1 = ANY (events))
        """

    /// $1 event type, $2 video id, $3 payload. One delivery per enabled endpoint that wants the
    /// event, each with its own `webhook-id` (`msg_` + 32 hex digits), due now.
    static let insertWebhookDeliveries = """
        INSERT INTO webhook_deliveries (id, endpoint_id, event_type, video_id, payload)
        SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), id, $1, $2::uuid, $3
        FROM webhook_endpoints WHERE disabled_at IS NULL AND (events IS NULL OR $1 = ANY (events))
        RETURNING id
        """

    /// $1 batch size, $2 lease in milliseconds. Takes due deliveries of enabled endpoints
    /// (skipping rows another process is taking) and moves their next attempt past the lease,
    /// so no other process takes them while this one tries; the statement commits at once, so no
    /// lock is held across the HTTP request. A process that dies mid-attempt leaves the row due
    /// again when the lease ends.
    static let claimWebhookDeliveries = """
        WITH due AS (
            SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
            WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND e.disabled_at IS NULL
            ORDER BY d.next_attempt_at LIMIT $1::integer FOR UPDATE OF d SKIP LOCKED
        )
        UPDATE webhook_deliveries d SET next_attempt_at = now() + $2::bigint * interval '1 millisecond', updated_at = now()
        FROM due, webhook_endpoints e
        WHERE d.id = due.id AND e.id = d.endpoint_id
        RETURNING d.id, d.endpoint_id::text, e.url, e.secret, d.payload, d.attempts::text,
            (extract(epoch FROM now() - d.created_at) * 1000)::bigint::text, d.video_id::text
        """

    /// $1 delivery id, $2 attempt number, $3 started (unix ms), $4 latency ms, $5 response code or
    /// NULL, $6 succeeded, $7 error or NULL. Nothing when the delivery is gone (endpoint deleted).
    static let insertWebhookAttempt = """
        INSERT INTO webhook_attempts (delivery_id, attempt, started_at, latency_ms, response_code, succeeded, error)
        SELECT id, $2::integer, to_timestamp($3::double precision / 1000), $4::integer, $5::integer, $6::boolean, $7
        FROM webhook_deliveries WHERE id = $1
        """

    /// $1 delivery id, $2 attempts made, $3 status, $4 delay to the next attempt in ms, $5 error or NULL.
    static let updateWebhookDelivery = """
        UPDATE webhook_deliveries SET status = $3, attempts = $2::integer,
            next_attempt_at = now() + $4::bigint * interval '1 millisecond', last_error = $5, updated_at = now()
        WHERE id = $1 AND status = 'pending'
        """

    /// $1 endpoint id, $2 reason. Its pending deliveries fail with it.
    static let disableWebhookEndpoint = """
        WITH disabled AS (
            UPDATE webhook_endpoints SET disabled_at = now(), disabled_reason = $2 WHERE id = $1::uuid AND disabled_at IS NULL RETURNING id
        )
        UPDATE webhook_deliveries SET status = 'failed', last_error = $2, updated_at = now()
        WHERE endpoint_id IN (SELECT id FROM disabled) AND status = 'pending'
        """

    /// $1 age in seconds. Finished deliveries (and their attempts) older than that are dropped.
    static let pruneWebhookDeliveries = """
        DELETE FROM webhook_deliveries WHERE status <> 'pending' AND updated_at < now() - $1::bigint * interval '1 second'
        """

    /// $1 endpoint id, $2 limit. Newest first, each with its attempts as JSON.
    static let listWebhookDeliveries = """
        SELECT d.id, d.event_type, d.video_id::text, d.status, d.attempts::text, \(rfc3339("d.next_attempt_at")),
            \(rfc3339("d.created_at")), d.last_error,
            coalesce((SELECT json_agg(json_build_object(
                'attempt', a.attempt, 'started_at', to_char(a.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                'latency_ms', a.latency_ms, 'response_code', a.response_code, 'succeeded', a.succeeded, 'error', a.error)
                ORDER BY a.attempt, a.id) FROM webhook_attempts a WHERE a.delivery_id = d.id), '[]')::text
        FROM webhook_deliveries d WHERE d.endpoint_id = $1::uuid
        ORDER BY d.created_at DESC, d.id DESC LIMIT $2::integer
        """
}
