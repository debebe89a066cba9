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
        var dash_manifest_url: String?
        var playable: Bool
        var playable_at: String?
        var poster_url: String?
        var storyboard_url: String?
        var progress: ProgressEvent?
        var source: SourceMetadata
        var title: String?
    }

    func video(_ status: VideoStatus, playableAt: String? = nil, dash: Bool = false) -> Video {
        Video(id: Self.id, title: "Clip \"1\"", status: status, sourceKey: "source/\(Self.id)/clip.mp4",
              source: SourceMetadata(durationSeconds: 1.5, width: 1920, height: 1080), attempts: 1, createdAt: "2026-11-29T06:00:00.000Z",
              playableAt: playableAt, dashManifestKey: dash ? ObjectKeys.dashManifest(videoID: Self.id) : nil)
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
        let text = VideoJSON.video(video(.completed, playableAt: "2026-11-29T06:00:09.000Z", dash: true), renditions: r).text
        let d = try JSONDecoder().decode(Decoded.self, from: Data(text.utf8))
        #expect(d.playable && d.playable_at == "2026-11-29T06:00:09.000Z")
        #expect(d.dash_manifest_url == "/media/\(Self.id)/manifest.mpd")
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
        #expect(d.hls_master_url == nil && d.poster_url == nil && !d.playable && d.playable_at == nil)
        #expect(d.progress == p)
    }

    /// Playable early: the master from `playable_at` on, while the rest waits for completion.
    @Test func playableWhileProcessingFailedAfterwardsAndCompletedWithoutDASH() throws {
        let at = "2026-11-29T06:00:09.000Z"
        let early = try JSONDecoder().decode(Decoded.self, from: Data(VideoJSON.video(video(.processing, playableAt: at)).text.utf8))
        #expect(early.playable && early.playable_at == at)
        #expect(early.hls_master_url == "/media/\(Self.id)/hls/master.m3u8")
        #expect(early.dash_manifest_url == nil && early.poster_url == nil, "the MPD is static: only once complete")
        // Failed after it was playable: withdrawn, the moment kept.
        let failed = try JSONDecoder().decode(Decoded.self, from: Data(VideoJSON.video(video(.failed, playableAt: at)).text.utf8))
        #expect(!failed.playable && failed.playable_at == at && failed.hls_master_url == nil)
        // Completed before DASH existed (no manifest recorded): no URL that would 404.
        let old = try JSONDecoder().decode(Decoded.self, from: Data(VideoJSON.video(video(.completed, playableAt: at)).text.utf8))
        #expect(old.playable && old.hls_master_url != nil && old.dash_manifest_url == nil)
        // A retried video starts over: queued, not playable.
        #expect(!video(.queued, playableAt: nil).isPlayable)
    }

    /// A private video's every URL carries the one signed query of its video and expiry (the
    /// query is computed once and shared); without keys none is rendered; a public video's are plain.
    @Test func privateVideoURLsShareOneSignedQuery() throws {
        struct Signed: Decodable {
            struct R: Decodable { var url: String?; var hls_url: String? }
            var renditions: [R]
            var hls_master_url: String?, dash_manifest_url: String?, poster_url: String?, storyboard_url: String?, progress_url: String?
            var media_expires_at: String?
            var urls: [String?] { [hls_master_url, dash_manifest_url, poster_url, storyboard_url, progress_url] + renditions.flatMap { [$0.url, $0.hls_url] } }
        }
        var v = video(.completed, playableAt: "2026-11-29T06:00:09.000Z", dash: true)
        v.visibility = .private
        let r = [360, 720].map { h in
            Rendition(videoID: Self.id, height: h, width: h * 16 / 9, bitrate: 1, sizeBytes: 2, codec: "h264",
                      mp4Key: ObjectKeys.mp4(videoID: Self.id, height: h), hlsPlaylistKey: ObjectKeys.hlsPlaylist(videoID: Self.id, height: h))
        }
        let signer = MediaSigner(keys: [Array("k1".utf8)], lifetime: .seconds(600))
        let signing = VideoJSON.Signing(signer: signer, expires: 1_796_000_000)
        let query = "?exp=1796000000&sig=" + signer.signature(videoID: Self.id, expires: 1_796_000_000)
        let signed = try JSONDecoder().decode(Signed.self, from: Data(VideoJSON.video(v, renditions: r, signing: signing).text.utf8))
        #expect(signed.urls.count == 9 && signed.urls.allSatisfy { $0?.hasSuffix(query) == true }, "\(signed.urls)")
        #expect(signed.progress_url == "/progress/\(Self.id)" + query && signed.poster_url == "/media/\(Self.id)/poster.jpg" + query)
        #expect(signed.media_expires_at == "2026-11-30T00:53:20.000Z")

        let withoutKeys = try JSONDecoder().decode(Signed.self, from: Data(VideoJSON.video(v, renditions: r).text.utf8))
        #expect(withoutKeys.urls.allSatisfy { $0 == nil } && withoutKeys.media_expires_at == nil)
        v.visibility = .public
        let open = try JSONDecoder().decode(Signed.self, from: Data(VideoJSON.video(v, renditions: r, signing: signing).text.utf8))
        #expect(open.urls.allSatisfy { $0 != nil && !$0!.contains("?") } && open.media_expires_at == nil)
    }

    @Test func listShape() throws {
        struct L: Decodable { var videos: [Decoded]; var total: Int; var limit: Int; var offset: Int }
        let l = try JSONDecoder().decode(L.self, from: Data(VideoJSON.list([video(.queued)], total: 9, page: PageRequest(limit: 1, offset: 3)).text.utf8))
        #expect(l.videos.count == 1 && l.total == 9 && l.limit == 1 && l.offset == 3)
        #expect(VideoJSON.location(videoID: Self.id) == "/videos/\(Self.id)")
    }
}
