/// One versioned schema change. Versions only grow; an applied migration is never edited.
public struct Migration: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var sql: String
}

/// The schema, in order. `MigrationRunner` applies those not yet in `schema_migrations`.
public enum Migrations {
    public static let all: [Migration] = [initial, resumableUploads]

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

