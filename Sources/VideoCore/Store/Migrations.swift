/// One versioned schema change. Versions only grow; an applied migration is never edited.
public struct Migration: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var sql: String
}

/// The schema, in order. `MigrationRunner` applies those not yet in `schema_migrations`.
public enum Migrations {
    public static let all: [Migration] = [initial, nameSearchIndex, failureCode]

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
