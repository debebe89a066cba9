/// One versioned schema change. Versions only grow; an applied migration is never edited.
public struct Migration: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var sql: String
}

/// The schema, in order. `MigrationRunner` applies those not yet in `schema_migrations`.
public enum Migrations {
    public static let all: [Migration] = [initial, sourceOwnership, enqueueOutbox, playableEarly]

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
