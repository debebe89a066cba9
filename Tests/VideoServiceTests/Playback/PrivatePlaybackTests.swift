import Foundation
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService

/// Private videos through the API over real sockets (real PostgreSQL, Redis, file storage and
/// the S3 test server): hidden without a token, media only through signed URLs, signed
/// playlists, expiry, tampering and key rotation. (ffmpeg playing a signed master of a real
/// transcode is in DeliveryEndToEndTests.)
@Suite struct PrivatePlaybackTests {
    static let token = "playback-test-token-0123456789"
    static var auth: [(String, String)] { [("Authorization", "Bearer \(token)")] }
    static let keyA = "key-A-0123456789abcdef0123456789abcdef"
    static let keyB = "key-B-0123456789abcdef0123456789abcdef"

    static func withKeys(_ keys: [String]) -> (inout Configuration) -> Void {
        { $0.mediaSigning.keys = keys }
    }

    /// A completed video with an HLS master, a media playlist, an init segment and one segment.
    static func completedVideo(_ env: APITestEnvironment, visibility: Visibility) async throws -> Video {
        let video = try await env.recordVideo(status: .completed)
        _ = try await env.store.updateVideo(id: video.id, title: nil, visibility: visibility)
        try await env.put(ObjectKeys.hlsMaster(videoID: video.id),
                          Array("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\n360p/index.m3u8\n".utf8))
        try await env.put(ObjectKeys.hlsPlaylist(videoID: video.id, height: 360),
                          Array("#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:4.0,\nsegment_00000.m4s\n#EXT-X-ENDLIST\n".utf8))
        try await env.put(ObjectKeys.hlsInit(videoID: video.id, height: 360), Array("init-bytes".utf8))
        try await env.put(ObjectKeys.hlsSegment(videoID: video.id, height: 360, index: 0), Array("segment-bytes".utf8))
        return try #require(try await env.store.video(id: video.id))
    }

    static func query(_ url: String) -> String { String(url.split(separator: "?", maxSplits: 1).last ?? "") }

    @Test func privateVideosAreHiddenFromCallersWithoutAToken() async throws {
        try await APITestEnvironment.with("private", tokens: [Self.token], configure: Self.withKeys([Self.keyA])) { env in
            let visible = try await Self.completedVideo(env, visibility: .public)
            let hidden = try await Self.completedVideo(env, visibility: .private)

            let anonymous = try await env.client.get("/videos").json()
            #expect((anonymous["videos"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [visible.id])
            #expect(anonymous["total"] as? Int == 1, "not counted either")
            let listed = try await env.client.get("/videos", headers: Self.auth).json()
            #expect(listed["total"] as? Int == 2)

            let missing = try await env.client.get("/videos/\(hidden.id)")
            let unknown = try await env.client.get("/videos/\(VideoID.generate())")
            #expect(missing.status == 404 && unknown.status == 404)
            #expect(try missing.apiError().code == unknown.apiError().code, "the same answer as for no such video")
            let shown = try await env.client.get("/videos/\(hidden.id)", headers: Self.auth)
            let json = try shown.json()
            #expect(shown.status == 200 && json["visibility"] as? String == "private" && json["media_expires_at"] is String)
            let master = try #require(json["hls_master_url"] as? String)
            #expect(master.hasPrefix("/media/\(hidden.id)/hls/master.m3u8?exp=") && master.contains("&sig="))
            #expect(try await env.client.get("/videos/\(visible.id)").json()["hls_master_url"] as? String == "/media/\(visible.id)/hls/master.m3u8",
                    "a public video's URLs are plain")

            // Progress of a private video needs the token too — or its JSON's signed progress_url,
            // for EventSource, which cannot send a token.
            #expect(try await env.client.get("/progress/\(hidden.id)").status == 404)
            let stream = try await TestEventStream.open(port: env.port, "/progress/\(hidden.id)", headers: Self.auth)
            #expect(try await stream.nextEvent() != nil)
            stream.close()
            let progressURL = try #require(json["progress_url"] as? String)
            #expect(progressURL.hasPrefix("/progress/\(hidden.id)?exp=") && progressURL.contains("&sig="))
            let signedStream = try await TestEventStream.open(port: env.port, progressURL)
            #expect(try await signedStream.nextEvent() != nil)
            signedStream.close()
            #expect(try await env.client.get("/progress/\(hidden.id)?\(Self.query(progressURL).replacingOccurrences(of: "sig=", with: "sig=0"))").status == 404)
            // The feed without a token carries public videos' events only.
            let feed = try await TestEventStream.open(port: env.port, "/progress")
            defer { feed.close() }
            _ = try await feed.next()  // retry: — subscribed
            try await env.queue.publish(ProgressEvent(videoID: hidden.id, status: .processing, percent: 1, timestamp: Timestamp.now()))
            try await env.queue.publish(ProgressEvent(videoID: visible.id, status: .processing, percent: 2, timestamp: Timestamp.now()))
            #expect(try await feed.nextEvent()?.progress()["video_id"] as? String == visible.id)
        }
    }

    @Test func signedLinksPlayAndEverythingElseIsForbidden() async throws {
        try await APITestEnvironment.with("signed", tokens: [Self.token], configure: Self.withKeys([Self.keyA])) { env in
            let video = try await Self.completedVideo(env, visibility: .private)
            let master = try #require(try await env.client.get("/videos/\(video.id)", headers: Self.auth).json()["hls_master_url"] as? String)
            let signature = Self.query(master)

            let playlist = try await env.client.get(master)
            #expect(playlist.status == 200 && playlist.header("Content-Type") == "application/vnd.apple.mpegurl")
            #expect(playlist.text.contains("360p/index.m3u8?\(signature)\n"), "the stored playlist's URI, signed alike: \(playlist.text)")
            let media = try await env.client.get("/media/\(video.id)/hls/360p/index.m3u8?\(signature)")
            #expect(media.text.contains("URI=\"init.mp4?\(signature)\"") && media.text.contains("segment_00000.m4s?\(signature)\n"))
            let segment = try await env.client.get("/media/\(video.id)/hls/360p/segment_00000.m4s?\(signature)")
            #expect(segment.status == 200 && segment.text == "segment-bytes")
            let ranged = try await env.client.get("/media/\(video.id)/hls/360p/segment_00000.m4s?\(signature)", headers: [("Range", "bytes=0-6")])
            #expect(ranged.status == 206 && ranged.text == "segment")

            // Unsigned, tampered, another video's, expired: 403.
            let unsigned = try await env.client.get("/media/\(video.id)/hls/360p/segment_00000.m4s")
            #expect(try unsigned.status == 403 && (try unsigned.apiError().code) == "forbidden")
            var tampered = Array(signature)
            tampered[tampered.count - 1] = tampered.last == "0" ? "1" : "0"
            #expect(try await env.client.get("/media/\(video.id)/hls/master.m3u8?\(String(tampered))").status == 403)
            let other = try await Self.completedVideo(env, visibility: .private)
            #expect(try await env.client.get("/media/\(other.id)/hls/master.m3u8?\(signature)").status == 403)
            let signer = MediaSigner(keys: [Array(Self.keyA.utf8)], lifetime: .seconds(60))
            let now = Timestamp.nowMilliseconds() / 1000
            let expired = signer.query(videoID: video.id, expires: now - 1)
            let gone = try await env.client.get("/media/\(video.id)/hls/master.m3u8?\(expired)")
            #expect(try gone.status == 403 && (try gone.apiError().message).contains("expired"))

            // A link that works, then stops working when its time is up.
            let short = signer.query(videoID: video.id, expires: now + 2)
            #expect(try await env.client.get("/media/\(video.id)/hls/360p/segment_00000.m4s?\(short)").status == 200)
            try await waitUntil("the short link expired", timeout: .seconds(10), retryingErrors: false) {
                try await env.client.get("/media/\(video.id)/hls/360p/segment_00000.m4s?\(short)").status == 403
            }

            // A public video's media need nothing.
            let open = try await Self.completedVideo(env, visibility: .public)
            #expect(try await env.client.get("/media/\(open.id)/hls/360p/segment_00000.m4s").status == 200)
        }
    }

    /// Keys rotate as `VIDD_SIGNING_KEYS=new,old`: links signed with the old key keep working as
    /// long as it is listed (the grace period), new links are signed with the new one.
    @Test func keyRotationKeepsOldLinksValidThroughTheGracePeriod() async throws {
        try await APITestEnvironment.with("rotate", tokens: [Self.token], configure: Self.withKeys([Self.keyA])) { env in
            let video = try await Self.completedVideo(env, visibility: .private)
            let oldLink = try #require(try await env.client.get("/videos/\(video.id)", headers: Self.auth).json()["hls_master_url"] as? String)

            func instance(_ keys: [String]) async throws -> APIService {
                var configuration = env.context.configuration
                configuration.mediaSigning.keys = keys
                let context = ServiceContext(configuration: configuration, logger: env.context.logger, metrics: env.context.metrics,
                                             database: env.context.database, redis: env.context.redis, storage: env.storage)
                return try await APIService.start(context: context, version: "test")
            }
            let rotating = try await instance([Self.keyB, Self.keyA])
            let grace = TestHTTPClient(port: rotating.port)
            #expect(try await grace.get(oldLink).status == 200, "the old key still verifies during the grace period")
            let newLink = try #require(try await grace.get("/videos/\(video.id)", headers: Self.auth).json()["hls_master_url"] as? String)
            let newStatus = try await grace.get(newLink).status
            #expect(newLink != oldLink && newStatus == 200)
            await rotating.shutdown(grace: .seconds(1))

            let rotated = try await instance([Self.keyB])
            let after = TestHTTPClient(port: rotated.port)
            #expect(try await after.get(oldLink).status == 403, "the old key removed: its links end")
            #expect(try await after.get(newLink).status == 200)
            await rotated.shutdown(grace: .seconds(1))
        }
    }

    /// With S3 storage a private video's files are a redirect to a presigned URL that expires
    /// with the signature (playlists are still served, rewritten, by vidd).
    @Test func s3RedirectsExpireWithTheSignature() async throws {
        try await APITestEnvironment.with("signeds3", tokens: [Self.token], storage: .s3, configure: Self.withKeys([Self.keyA])) { env in
            let video = try await Self.completedVideo(env, visibility: .private)
            let signer = MediaSigner(keys: [Array(Self.keyA.utf8)], lifetime: .seconds(60))
            let query = signer.query(videoID: video.id, expires: Timestamp.nowMilliseconds() / 1000 + 30)
            let segment = try await env.client.get("/media/\(video.id)/hls/360p/segment_00000.m4s?\(query)")
            #expect(segment.status == 302)
            let location = try #require(segment.header("Location"))
            let expires = try #require(location.split(separator: "&").first { $0.hasPrefix("X-Amz-Expires=") }.flatMap { Int($0.dropFirst(14)) })
            #expect(expires > 0 && expires <= 30, "presigned for what is left of the signature: \(expires) s")
            let playlist = try await env.client.get("/media/\(video.id)/hls/360p/index.m3u8?\(query)")
            #expect(playlist.status == 200 && playlist.text.contains("segment_00000.m4s?\(query)"))
            #expect(try await env.client.get("/media/\(video.id)/hls/360p/segment_00000.m4s").status == 403)
        }
    }

    @Test func visibilityAtSubmissionAndByPatch() async throws {
        try await APITestEnvironment.with("visibility", tokens: [Self.token], configure: Self.withKeys([Self.keyA])) { env in
            func visibility(_ response: TestHTTPResponse) throws -> String? { try response.json()["visibility"] as? String }
            // JSON, raw, multipart, tus.
            try await env.put("source/private/a.mp4", Array("x".utf8))
            let json = try await env.client.postJSON("/jobs", #"{"source_key":"source/private/a.mp4","visibility":"private"}"#, headers: Self.auth)
            #expect(try json.status == 202 && (try visibility(json)) == "private")
            let raw = try await env.client.request("POST", "/jobs?name=a.mp4&visibility=private", headers: Self.auth + [("Content-Type", "video/mp4")],
                                                   body: .bytes(Array("raw".utf8)))
            #expect(try raw.status == 202 && (try visibility(raw)) == "private")
            let form = "--b\r\nContent-Disposition: form-data; name=\"visibility\"\r\n\r\nprivate\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp4\"\r\nContent-Type: video/mp4\r\n\r\nbytes\r\n--b--\r\n"
            let multipart = try await env.client.request("POST", "/jobs", headers: Self.auth + [("Content-Type", "multipart/form-data; boundary=b")],
                                                         body: .bytes(Array(form.utf8)))
            #expect(try multipart.status == 202 && (try visibility(multipart)) == "private")
            let metadata = UploadMetadata.encode([("filename", "a.mp4"), ("visibility", "private")])
            let tus = try await env.client.request("POST", "/uploads", headers: Self.auth + [
                ("Tus-Resumable", "1.0.0"), ("Upload-Length", "4"), ("Upload-Metadata", metadata), ("Content-Type", "application/offset+octet-stream"),
            ], body: .bytes(Array("tus!".utf8)))
            #expect(tus.status == 201)
            let uploadID = try #require(tus.header("Location")?.split(separator: "/").last.map(String.init))
            #expect(try await env.store.video(id: uploadID)?.visibility == .private)
            #expect(try await env.client.get("/videos").json()["total"] as? Int == 0, "all four are private")

            // Bad values.
            #expect(try await env.client.postJSON("/jobs", #"{"source_key":"source/private/a.mp4","visibility":"secret"}"#, headers: Self.auth).status == 422)
            #expect(try await env.client.request("POST", "/jobs?name=a.mp4&visibility=Private", headers: Self.auth + [("Content-Type", "video/mp4")],
                                                 body: .bytes(Array("raw".utf8))).status == 422)
            let badTus = try await env.client.request("POST", "/uploads", headers: Self.auth + [
                ("Tus-Resumable", "1.0.0"), ("Upload-Length", "4"), ("Upload-Metadata", UploadMetadata.encode([("visibility", "hidden")])),
            ])
            #expect(badTus.status == 422)

            // PATCH: a JSON object of optional fields.
            let id = try #require(try raw.json()["id"] as? String)
            let patched = try await env.client.request("PATCH", "/videos/\(id)", headers: Self.auth + [("Content-Type", "application/json")],
                                                       body: .bytes(Array(#"{"visibility":"public","title":"  Hello  "}"#.utf8)))
            #expect(try patched.status == 200 && (try visibility(patched)) == "public" && (try patched.json()["title"] as? String) == "Hello")
            let cleared = try await env.client.request("PATCH", "/videos/\(id)", headers: Self.auth, body: .bytes(Array(#"{"title":null}"#.utf8)))
            #expect(try cleared.status == 200 && (try cleared.json()["title"]) is NSNull && (try visibility(cleared)) == "public")
            for (body, status) in [(#"{}"#, 422), (#"{"status":"completed"}"#, 422), (#"{"visibility":1}"#, 422), ("[1]", 422),
                                   ("not json", 400), (#"{"visibility":"hidden"}"#, 422)] {
                let r = try await env.client.request("PATCH", "/videos/\(id)", headers: Self.auth, body: .bytes(Array(body.utf8)))
                #expect(r.status == status, "\(body): \(r.status) \(r.text)")
            }
            #expect(try await env.client.request("PATCH", "/videos/\(id)", body: .bytes(Array(#"{"title":"x"}"#.utf8))).status == 401)
            #expect(try await env.client.request("PATCH", "/videos/\(VideoID.generate())", headers: Self.auth,
                                                 body: .bytes(Array(#"{"title":"x"}"#.utf8))).status == 404)
        }
    }

    @Test func privateNeedsSigningKeys() async throws {
        try await APITestEnvironment.with("nokeys") { env in
            try await env.put("source/nokeys/a.mp4", Array("x".utf8))
            let r = try await env.client.postJSON("/jobs", #"{"source_key":"source/nokeys/a.mp4","visibility":"private"}"#)
            #expect(try r.status == 422 && (try r.apiError().message).contains("VIDD_SIGNING_KEYS"))
            let video = try await env.recordVideo()
            let p = try await env.client.request("PATCH", "/videos/\(video.id)", body: .bytes(Array(#"{"visibility":"private"}"#.utf8)))
            #expect(p.status == 422)
        }
    }
}
