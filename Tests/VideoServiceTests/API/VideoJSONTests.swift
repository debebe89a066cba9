import FoundationEssentials
import Testing
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

@Suite struct VideoJSONTests {
    static let id = "0f8e3c9a-1111-4222-8333-444455556666"

    struct Decoded: Decodable {
        struct R: Decodable { var height: Int; var url: String?; var hls_url: String? }
        var id: String
        var status: String
        var renditions: [R]
        var hls_master_url: String?
        var poster_url: String?
        var storyboard_url: String?
        var progress: ProgressEvent?
        var source: SourceMetadata
        var title: String?
    }

    func video(_ status: VideoStatus) -> Video {
        Video(id: Self.id, title: "Clip \"1\"", status: status, sourceKey: "source/\(Self.id)/clip.mp4",
              source: SourceMetadata(durationSeconds: 1.5, width: 1920, height: 1080), attempts: 1, createdAt: "2026-11-29T06:00:00.000Z")
    }

    /// Rungs are named by their short side: a portrait 720×1280 rendition is 720p, not 1280p.
    @Test func renditionsAreLabelledByTheirShortSide() throws {
        let portrait = [(720, 1280), (480, 854), (360, 640)].map { w, h in
            Rendition(videoID: Self.id, height: h, width: w, bitrate: 1, sizeBytes: 2, codec: "h264",
                      mp4Key: ObjectKeys.mp4(videoID: Self.id, height: min(w, h)))
        }
        struct Labels: Decodable { struct R: Decodable { var label: String; var height: Int }; var renditions: [R] }
        let d = try JSONDecoder().decode(Labels.self, from: Data(VideoJSON.video(video(.completed), renditions: portrait).text.utf8))
        #expect(d.renditions.map(\.label) == ["720p", "480p", "360p"])
        #expect(d.renditions.map(\.height) == [1280, 854, 640], "height stays the real height")
        #expect(VideoJSON.label(width: 1280, height: 720) == "720p")
    }

    @Test func completedVideoHasPlayableURLs() throws {
        let r = [360, 720].map { h in
            Rendition(videoID: Self.id, height: h, width: h * 16 / 9, bitrate: 1, sizeBytes: 2, codec: "h264",
                      mp4Key: ObjectKeys.mp4(videoID: Self.id, height: h), hlsPlaylistKey: ObjectKeys.hlsPlaylist(videoID: Self.id, height: h))
        }
        let text = VideoJSON.video(video(.completed), renditions: r).text
        let d = try JSONDecoder().decode(Decoded.self, from: Data(text.utf8))
        #expect(d.id == Self.id && d.status == "completed" && d.title == "Clip \"1\"")
        #expect(d.renditions.map(\.height) == [720, 360])
        #expect(d.renditions.first?.url == "/media/\(Self.id)/mp4/720p.mp4")
        #expect(d.renditions.first?.hls_url == "/media/\(Self.id)/hls/720p/index.m3u8")
        #expect(d.hls_master_url == "/media/\(Self.id)/hls/master.m3u8")
        #expect(d.poster_url == "/media/\(Self.id)/poster.jpg")
        #expect(d.storyboard_url == "/media/\(Self.id)/storyboard.vtt")
        #expect(d.source.width == 1920 && d.source.durationSeconds == 1.5)
        // Every URL resolves to the media route and back to the key.
        if case .found(let route, let params) = APIRoutes.match(method: "GET", path: d.poster_url!) {
            #expect(route.handler == .media && ObjectKeys.key(forMediaPath: params["path"]!, videoID: params["id"]!) == ObjectKeys.poster(videoID: Self.id))
        } else {
            Issue.record("poster URL does not match the media route")
        }
    }

    @Test func unfinishedVideoCarriesItsProgress() throws {
        let p = ProgressEvent(videoID: Self.id, status: .processing, stage: .transcoding, percent: 12, timestamp: "t")
        let d = try JSONDecoder().decode(Decoded.self, from: Data(VideoJSON.video(video(.processing), progress: p).text.utf8))
        #expect(d.hls_master_url == nil && d.poster_url == nil)
        #expect(d.progress == p)
    }

    @Test func listShape() throws {
        struct L: Decodable { var videos: [Decoded]; var total: Int; var limit: Int; var offset: Int }
        let l = try JSONDecoder().decode(L.self, from: Data(VideoJSON.list([video(.queued)], total: 9, page: PageRequest(limit: 1, offset: 3)).text.utf8))
        #expect(l.videos.count == 1 && l.total == 9 && l.limit == 1 && l.offset == 3)
        #expect(VideoJSON.location(videoID: Self.id) == "/videos/\(Self.id)")
    }
}
