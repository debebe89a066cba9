/// One versioned schema change. Versions only grow; an applied migration is never edited.
public struct Migration: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var sql: String
}

/// The schema, in order. `MigrationRunner` applies those not yet in `schema_migrations`.
public enum Migrations {
    public static let all: [Migration] = [initial, sourceURL]

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
}
