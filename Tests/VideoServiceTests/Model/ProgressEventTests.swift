import FoundationEssentials
import Testing
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

@Suite struct ProgressEventTests {
    static let id = "0f8e3c9a-1111-4222-8333-444455556666"

    @Test func fieldNamesAreTheContract() throws {
        let event = ProgressEvent(videoID: Self.id, status: .processing, stage: .transcoding, percent: 42.5,
                                  processedFrames: 765, totalFrames: 1800,
                                  renditions: [.init(height: 1080, state: .transcoding, percent: 40), .init(height: 360, state: .done, percent: 100)],
                                  fps: 120.5, speed: 4.02, etaSeconds: 8.6, error: nil, timestamp: "2026-11-29T06:00:00.000Z")
        #expect(event.jsonString() == """
            {"bytes_fetched":null,"bytes_total":null,"error":null,"eta_seconds":8.6,"fps":120.5,"percent":42.5,"playable":false,"playable_at":null,"processed_frames":765,\
            "renditions":[{"height":1080,"percent":40,"state":"transcoding"},{"height":360,"percent":100,"state":"done"}],\
            "speed":4.02,"stage":"transcoding","status":"processing","timestamp":"2026-11-29T06:00:00.000Z",\
            "total_frames":1800,"video_id":"0f8e3c9a-1111-4222-8333-444455556666"}
            """)
    }

    @Test func unknownValuesAreNullNotMissing() throws {
        let event = ProgressEvent(videoID: Self.id, status: .queued, timestamp: "t")
        let object = try JSONDecoder().decode([String: JSONScalarOrNull].self, from: Data(event.jsonBytes()))
        #expect(Set(object.keys) == Set(ProgressEvent.CodingKeys.allCases.map(\.rawValue)))
        #expect(Set(object.keys) == ["video_id", "status", "stage", "percent", "processed_frames", "total_frames", "renditions",
                                     "fps", "speed", "eta_seconds", "error", "timestamp", "bytes_fetched", "bytes_total", "playable", "playable_at"])
        #expect(object["stage"]?.isNull == true && object["fps"]?.isNull == true && object["error"]?.isNull == true)
    }

    @Test func roundTrips() throws {
        let failed = ProgressEvent(videoID: Self.id, status: .failed, stage: .probing, percent: 0, error: "not a media file: invalid data", timestamp: "t")
        #expect(try ProgressEvent.decode(failed.jsonBytes()) == failed)
        let done = ProgressEvent(videoID: Self.id, status: .completed, stage: .finalizing, percent: 100, processedFrames: 10, totalFrames: 10,
                                 renditions: [.init(height: 720, state: .done, percent: 100)], fps: 1, speed: 2, etaSeconds: 0, timestamp: "t")
        #expect(try ProgressEvent.decode(done.jsonBytes()) == done)
        let playable = ProgressEvent(videoID: Self.id, status: .processing, stage: .playable, percent: 9.5, timestamp: "t",
                                     playable: true, playableAt: "2026-11-29T06:00:09.000Z")
        #expect(try ProgressEvent.decode(playable.jsonBytes()) == playable)
    }

    /// A snapshot written before `playable` existed (it lives up to a day in Redis) still reads.
    @Test func eventsWithoutThePlayableFieldsDecodeAsNotPlayable() throws {
        let old = #"{"error":null,"eta_seconds":null,"fps":null,"percent":0,"processed_frames":null,"renditions":[],"speed":null,"stage":"probing","status":"processing","timestamp":"t","total_frames":null,"video_id":"v"}"#
        let event = try ProgressEvent.decode(Array(old.utf8))
        #expect(!event.playable && event.playableAt == nil && event.stage == .probing)
    }

    @Test func stagesAndStatuses() {
        #expect(ProgressEvent.Stage.allCases.map(\.rawValue) == ["fetching", "probing", "transcoding", "uploading", "finalizing", "playable"])
        #expect(VideoStatus.allCases.map(\.rawValue) == ["queued", "processing", "completed", "failed"])
        #expect(VideoStatus.allCases.filter(\.isFinal) == [.completed, .failed])
    }
}

/// Decodes any JSON value, remembering only whether it was null.
struct JSONScalarOrNull: Decodable {
    var isNull: Bool
    init(from decoder: any Decoder) throws { isNull = try decoder.singleValueContainer().decodeNil() }
}
