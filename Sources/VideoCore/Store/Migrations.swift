/// One versioned schema change. Versions only grow; an applied migration is never edited.
public struct Migration: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var sql: String
}

/// The schema, in order. `MigrationRunner` applies those not yet in `schema_migrations`.
public enum Migrations {
    public static let all: [Migration] = [initial, sourceOwnership, enqueueOutbox, nameSearchIndex, failureCode, resumableUploads, sourceURL,
                                          playableEarly, webhooks, visibility]

    static let initial = Migration(version: 1, name: "001_init", sql: """
        CREATE TABLE videos (
            id                      uuid PRIMARY KEY,
            title                   text,
            status                  text NOT NULL DEFAULT 'queued'
                                    CHECK (status IN ('queued', 'processing', 'completed', 'failed')),
            error_message           text,
            source_key              text NOT NULL,
            original_name           text,
            source_duration_seconds double precision,
            source_width            integer,
            source_height           integer,
            source_frame_rate       double precision,
            source_video_codec      text,
            source_audio_codec      text,
            source_size_bytes       bigint,
            source_rotation         integer,
            attempts                integer NOT NULL DEFAULT 0,
            created_at              timestamptz NOT NULL DEFAULT now(),
            started_at              timestamptz,
            completed_at            timestamptz,
            updated_at              timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX videos_created_at_idx ON videos (created_at DESC, id DESC);
        CREATE INDEX videos_status_created_at_idx ON videos (status, created_at DESC, id DESC);

        CREATE TABLE resolutions (
            id                bigserial PRIMARY KEY,
            video_id          uuid NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
            width             integer NOT NULL,
            height            integer NOT NULL,
            bitrate           integer NOT NULL,
            size_bytes        bigint NOT NULL,
            codec             text NOT NULL,
            mp4_key           text NOT NULL,
            hls_playlist_key  text,
            created_at        timestamptz NOT NULL DEFAULT now(),
            updated_at        timestamptz NOT NULL DEFAULT now(),
            UNIQUE (video_id, height)
        );
        """)

    /// URL ingest: the URL a video's source is fetched from (the worker downloads it into
    /// `source_key` when that object is not there yet, so a retry re-fetches only if needed).
    static let sourceURL = Migration(version: 40, name: "040_source_url", sql: """
        ALTER TABLE videos ADD COLUMN source_url text;
        """)

    /// `GET /videos?q=`: a trigram index on the shown name, which serves `ILIKE '%text%'`.
    /// pg_trgm is a trusted extension (PostgreSQL ≥ 13: the database owner may create it). It
    /// goes into `public` (created once per database; a schema-scoped copy would vanish with the
    /// schema), and the index names its operator class in whichever schema holds the extension.
    static let nameSearchIndex = Migration(version: 20, name: "020_name_search_index", sql: """
        CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
        DO $$
        DECLARE trgm_schema text;
        BEGIN
            SELECT n.nspname INTO trgm_schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
            WHERE e.extname = 'pg_trgm';
            EXECUTE format('CREATE INDEX videos_name_trgm_idx ON videos USING gin ((%s) %I.gin_trgm_ops)',
                           \(SQL.literal(SQL.searchedName)), trgm_schema);
        END $$
        """)

    /// Why a video failed (`FailureCode`): whether a retry can help, and the words for people.
    static let failureCode = Migration(version: 21, name: "021_failure_code", sql: """
        ALTER TABLE videos ADD COLUMN failure_code text
        """)
}

// service-edges (migrations 10–19)
extension Migrations {
    /// Which videos own their source object: it is deleted with the last video that uses it, and
    /// only if one of them owns it (an upload, or a key in the video's own `source/{id}/`; a key
    /// another party put in the bucket is theirs). Ownership passes to the remaining users when
    /// the owner is deleted first. The index serves "who else uses this key".
    static let sourceOwnership = Migration(version: 10, name: "010_source_ownership", sql: """
        ALTER TABLE videos ADD COLUMN source_owned boolean NOT NULL DEFAULT false;
        UPDATE videos SET source_owned = (source_key LIKE 'source/' || id::text || '/%');
        CREATE INDEX videos_source_key_idx ON videos (source_key);
        """)

    /// The outbox of enqueues: a `queued` row with `enqueued_at` NULL still has to be put on the
    /// stream (its API answered 503, or stopped before it could), and a reconciler in every vidd
    /// process does it. Rows finished before this migration count as enqueued; rows still queued
    /// are left to the reconciler, which first checks Redis for a sign that they were enqueued.
    static let enqueueOutbox = Migration(version: 11, name: "011_enqueue_outbox", sql: """
        ALTER TABLE videos ADD COLUMN enqueued_at timestamptz;
        UPDATE videos SET enqueued_at = created_at WHERE status <> 'queued';
        CREATE INDEX videos_enqueue_pending_idx ON videos (updated_at) WHERE status = 'queued' AND enqueued_at IS NULL;
        """)
}
extension Migrations {
    /// tus uploads (range 30–39). An upload's whole state is here, so any API instance can take
    /// its next request: offset, length, metadata, the storage handle (S3 multipart upload id or
    /// partial file), the recorded parts, and the tail — bytes short of a whole S3 part, kept as
    /// bytea segments that commit in the same statement as the offset that counts them.
    static let resumableUploads = Migration(version: 30, name: "030_tus_uploads", sql: """
        CREATE TABLE tus_uploads (
            id              uuid PRIMARY KEY,
            status          text NOT NULL DEFAULT 'uploading'
                            CHECK (status IN ('uploading', 'completed', 'expired', 'terminated')),
            upload_length   bigint CHECK (upload_length > 0),
            upload_offset   bigint NOT NULL DEFAULT 0 CHECK (upload_offset >= 0),
            metadata        text NOT NULL DEFAULT '',
            filename        text NOT NULL,
            title           text,
            content_type    text,
            object_key      text NOT NULL,
            storage_handle  text NOT NULL,
            part_size       integer NOT NULL CHECK (part_size > 0),
            next_part       integer NOT NULL DEFAULT 0,
            parts_bytes     bigint NOT NULL DEFAULT 0 CHECK (parts_bytes >= 0),
            released        boolean NOT NULL DEFAULT false,
            expires_at      timestamptz NOT NULL,
            created_at      timestamptz NOT NULL DEFAULT now(),
            updated_at      timestamptz NOT NULL DEFAULT now(),
            CHECK (upload_length IS NULL OR upload_offset <= upload_length),
            CHECK (parts_bytes <= upload_offset)
        );
        CREATE INDEX tus_uploads_status_expires_idx ON tus_uploads (status, expires_at);

        CREATE TABLE tus_upload_parts (
            upload_id     uuid NOT NULL REFERENCES tus_uploads (id) ON DELETE CASCADE,
            part_number   integer NOT NULL CHECK (part_number BETWEEN 1 AND 10000),
            etag          text NOT NULL,
            size          bigint NOT NULL,
            start_offset  bigint NOT NULL,
            PRIMARY KEY (upload_id, part_number)
        );

        CREATE TABLE tus_upload_tail (
            upload_id     uuid NOT NULL REFERENCES tus_uploads (id) ON DELETE CASCADE,
            start_offset  bigint NOT NULL,
            bytes         bytea NOT NULL,
            PRIMARY KEY (upload_id, start_offset)
        );
        -- Media bytes do not compress: store them out of line without trying.
        ALTER TABLE tus_upload_tail ALTER COLUMN bytes SET STORAGE EXTERNAL;
        """)
}


// delivery (migrations 50–69)
extension Migrations {
    /// When the video first became playable (its first segments and a master playlist stored,
    /// long before it completes), and the DASH manifest its completion recorded. Completed
    /// videos were playable at completion; they predate DASH.
    static let playableEarly = Migration(version: 50, name: "050_playable_early", sql: """
        ALTER TABLE videos ADD COLUMN playable_at timestamptz;
        ALTER TABLE videos ADD COLUMN dash_manifest_key text;
        UPDATE videos SET playable_at = completed_at WHERE status = 'completed';
        """)
}

// delivery-api: webhooks and private playback (migrations 60–69)
extension Migrations {
    /// Webhook endpoints, and the outbox of their deliveries: a delivery row is written in the
    /// same transaction as the state change that causes its event, and the delivery loop takes
    /// due rows (`FOR UPDATE SKIP LOCKED`), so a crash loses no event and two workers never send
    /// the same one at once. `id` is the `webhook-id` (kept by every retry); each attempt is a
    /// row of its own. `video_id` has no foreign key: a `video.deleted` outlives its video.
    static let webhooks = Migration(version: 60, name: "060_webhooks", sql: """
        CREATE TABLE webhook_endpoints (
            id              uuid PRIMARY KEY,
            url             text NOT NULL,
            secret          text NOT NULL,
            events          text[],
            disabled_at     timestamptz,
            disabled_reason text,
            created_at      timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE webhook_deliveries (
            id              text PRIMARY KEY,
            endpoint_id     uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
            event_type      text NOT NULL,
            video_id        uuid,
            payload         text NOT NULL,
            status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
            attempts        integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL DEFAULT now(),
            last_error      text,
            created_at      timestamptz NOT NULL DEFAULT now(),
            updated_at      timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
        CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at DESC);

        CREATE TABLE webhook_attempts (
            id              bigserial PRIMARY KEY,
            delivery_id     text NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
            attempt         integer NOT NULL,
            started_at      timestamptz NOT NULL,
            latency_ms      integer NOT NULL,
            response_code   integer,
            succeeded       boolean NOT NULL,
            error           text
        );
        CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, attempt);
        """)

    /// Private playback: a private video's media are served only through signed URLs, and it is
    /// listed and shown only to callers with a token.
    static let visibility = Migration(version: 61, name: "061_visibility", sql: """
        ALTER TABLE videos ADD COLUMN visibility text NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'private'));
        """)
}
