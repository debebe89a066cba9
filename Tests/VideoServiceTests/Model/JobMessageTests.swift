import Testing
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

@Suite struct JobMessageTests {
    static let id = "0f8e3c9a-1111-4222-8333-444455556666"

    @Test func writesTheStreamFields() throws {
        let m = JobMessage(videoID: Self.id, sourceKey: "source/\(Self.id)/clip.mp4", attempt: 1, enqueuedAt: "2026-11-29T06:00:00.000Z",
                           title: "Clip", originalName: "clip.mp4")
        #expect(m.fields.map(\.0) == ["video_id", "source_key", "attempt", "enqueued_at", "title", "original_name"])
        #expect(try JobMessage(fields: m.fields) == m)
    }

    @Test func acceptsTheSeedsFlatFields() throws {
        let m = try JobMessage(fields: [("video_id", Self.id.uppercased()), ("s3_path", "s3://videos/source/a/b.mp4"), ("original_name", "b.mp4")])
        #expect(m == JobMessage(videoID: Self.id, sourceKey: "source/a/b.mp4", attempt: 1, originalName: "b.mp4", sourceBucket: "videos"))
        // The bucket it names is kept: a worker refuses one that is not its own.
        let other = try JobMessage(fields: [("video_id", Self.id), ("s3_path", "s3://otherbucket/source/a/b.mp4")])
        #expect(other.sourceBucket == "otherbucket" && other.sourceKey == "source/a/b.mp4")
    }

    @Test func acceptsTheSeedsJSONField() throws {
        let json = "{\"video_id\": \"\(Self.id)\", \"s3_path\": \"/source/a/b c.mp4\", \"original_name\": \"b c.mp4\", \"attempt\": 2}"
        let m = try JobMessage(fields: [("data", json)])
        #expect(m == JobMessage(videoID: Self.id, sourceKey: "source/a/b c.mp4", attempt: 2, originalName: "b c.mp4"))
    }

    @Test(arguments: [
        ([("source_key", "source/x")], "video_id missing or not a UUID"),
        ([("video_id", "nope"), ("source_key", "source/x")], "video_id missing or not a UUID"),
        ([("video_id", id)], "source_key (or s3_path) missing or not a valid object key"),
        ([("video_id", id), ("source_key", "../etc/passwd")], "source_key (or s3_path) missing or not a valid object key"),
        ([("video_id", id), ("source_key", "source/x"), ("attempt", "0")], "attempt must be a positive integer"),
        ([("data", "not json")], "field data is not a JSON object of strings and numbers"),
    ])
    func rejects(fields: [(String, String)], reason: String) {
        #expect(throws: JobMessage.DecodingError(reason: reason)) { try JobMessage(fields: fields) }
    }

    @Test func videoIDsAreLowerCaseUUIDs() {
        let id = VideoID.generate()
        #expect(VideoID.normalize(id) == id && id == id.lowercased() && id.count == 36)
        #expect(VideoID.normalize("0F8E3C9A-1111-4222-8333-444455556666") == Self.id)
        #expect(VideoID.normalize("0f8e3c9a") == nil)
    }
}
