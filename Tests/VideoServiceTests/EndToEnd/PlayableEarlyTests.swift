import Foundation
import Testing
import TestSupport
@testable import Transcode
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

/// Playable early and DASH, with the real `vidd` against the real services: the video plays (what
/// a player fetches through `/media` at the moment it says `playable`) long before it completes;
/// a redelivered job never shortens a playlist a player may be watching; a video that fails after
/// it was playable withdraws its master and ends its playlists; the MPD reads to the end.
///
/// The suite uses a 32 s 720p source so each test stays under a minute in a debug build; the
/// benchmark (`scripts/bench-playable.sh`, docs/benchmarks.md) measures the 60 s 1080p case.
@Suite(.serialized) struct PlayableEarlyTests {
    /// 32 s of 720p30 with audio: six segments per rendition (5 × 6 + 2 s; not a multiple of 6 s,
    /// so the audio's last AAC frames make no extra segment), playable once three are stored in
    /// every one (`EarlyMasterSink.segmentsToStart`), with three still to come.
    static func source() async throws -> String {
        try await ServiceUnderTest.syntheticSource(name: "vidd-e2e-playable-720p-32s.mp4", size: "1280x720", seconds: 32)
    }

    static func upload(_ sut: ServiceUnderTest, _ api: ServiceUnderTest.Daemon, source: String? = nil) async throws -> String {
        let file: String
        if let source { file = source } else { file = try await Self.source() }
        let r = try await sut.request(api, "POST", "/jobs?name=playable.mp4", ["-H", "Content-Type: video/mp4", "--data-binary", "@" + file])
        return try #require(ServiceUnderTest.videoID(r.json), "\(r.status) \(r.text)")
    }

    /// GET /videos/{id} until `condition` holds for its JSON.
    static func waitFor(_ sut: ServiceUnderTest, _ api: ServiceUnderTest.Daemon, _ id: String, _ what: String,
                        timeout: Duration = .seconds(120), _ condition: ([String: Any]) -> Bool) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        var last: [String: Any] = [:]
        while ContinuousClock.now < deadline {
            last = try await sut.request(api, "GET", "/videos/\(id)").json
            if condition(last) { return last }
            if last["status"] as? String == "failed", what != "failed" { throw ServiceUnderTest.Failure("\(id) failed: \(last)\n\(sut.logs)") }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ServiceUnderTest.Failure("\(id) never became \(what); last: \(last)\n\(sut.logs)")
    }

    /// What a player could fetch from `masterURL` now, copied to `directory` through HTTP: the
    /// master, every media playlist it names and every file those name (each must answer 200:
    /// nothing is listed before it is stored). Each playlist copy gets `#EXT-X-ENDLIST`, marking
    /// for ffmpeg the end of what was there. Returns each rendition's listed seconds.
    static func snapshot(_ sut: ServiceUnderTest, _ api: ServiceUnderTest.Daemon, masterURL: String, into directory: String) async throws -> [String: Double] {
        let fm = FileManager.default
        let base = String(masterURL[..<masterURL.lastIndex(of: "/")!])
        let master = try await sut.request(api, "GET", masterURL)
        try #require(master.status == 200, "master: \(master.status)")
        #expect(master.headers["content-type"] == "application/vnd.apple.mpegurl")
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try master.body.write(to: URL(fileURLWithPath: directory + "/master.m3u8"))
        var seconds: [String: Double] = [:]
        let uris = master.text.split(separator: "\n").compactMap { line -> String? in
            if !line.hasPrefix("#") && !line.isEmpty { return String(line) }
            return PublicationOrderTests.CheckingStorage.attribute("URI", String(line))
        }
        for uri in uris {
            let rendition = String(uri.split(separator: "/")[0])
            let playlist = try await sut.request(api, "GET", base + "/" + uri)
            try #require(playlist.status == 200, "\(uri): \(playlist.status)")
            let text = playlist.text
            #expect(text.contains("#EXT-X-PLAYLIST-TYPE:EVENT"), "\(uri)")
            try fm.createDirectory(atPath: directory + "/" + rendition, withIntermediateDirectories: true)
            try (text + (MediaPlaylistText.isComplete(text) ? "" : "#EXT-X-ENDLIST\n"))
                .write(toFile: directory + "/" + uri, atomically: true, encoding: .utf8)
            for name in PublicationOrderTests.CheckingStorage.names(in: text, key: uri) {
                let file = try await sut.request(api, "GET", base + "/" + rendition + "/" + name)
                try #require(file.status == 200, "\(rendition)/\(name) is listed but answers \(file.status)")
                try file.body.write(to: URL(fileURLWithPath: directory + "/" + rendition + "/" + name))
            }
            seconds[rendition] = text.split(separator: "\n").filter { $0.hasPrefix("#EXTINF:") }
                .compactMap { Double($0.dropFirst(8).split(separator: ",").first ?? "") }.reduce(0, +)
        }
        return seconds
    }

    /// At the moment the video is playable: everything the master lists is served (`snapshot`),
    /// it names every rung and the audio, and each plays from the start to its listed end: three
    /// or more whole 6 s segments (30 fps). Returns each rendition's listed seconds.
    @discardableResult
    static func expectSnapshotPlays(_ sut: ServiceUnderTest, _ api: ServiceUnderTest.Daemon, masterURL: String, into snapshot: String,
                                    rungs: [String]) async throws -> [String: Double] {
        let listed = try await Self.snapshot(sut, api, masterURL: masterURL, into: snapshot)
        #expect(Set(listed.keys) == Set(rungs + ["audio"]), "every rendition: \(listed)")
        for index in rungs.indices {
            let played = try await Self.decode(snapshot + "/master.m3u8", map: "0:v:\(index)")
            #expect(played.errors.isEmpty, "rung \(index): \(played.errors)")
            #expect(played.frames >= 3 * 180 && played.frames % 180 == 0, "rung \(index): three or more whole 6 s segments from the start: \(played.frames) frames")
        }
        let audio = try await Self.decode(snapshot + "/master.m3u8", map: "0:a:0")
        #expect(audio.errors.isEmpty && abs(audio.seconds - (listed["audio"] ?? 0)) < 0.1, "audio: \(audio.seconds) s of \(listed["audio"] ?? 0)")
        return listed
    }

    /// Decodes the streams `map` selects from `input` to the end: frames and seconds of output.
    static func decode(_ input: String, map: String, arguments: [String] = []) async throws -> (frames: Int, seconds: Double, errors: String) {
        let r = try await TestProcess.run(["ffmpeg", "-v", "error", "-nostdin"] + arguments + ["-i", input, "-map", map, "-f", "null", "-", "-progress", "pipe:1"])
        func last(_ key: String) -> String? {
            r.text.split(separator: "\n").last { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
        }
        let errors = String(decoding: r.errorOutput, as: UTF8.self)
        return (Int(last("frame") ?? "") ?? 0, (Double(last("out_time_us") ?? "") ?? 0) / 1e6, r.status == 0 ? errors : "exit \(r.status): \(errors)")
    }

    /// Progress events as SSE delivered them (`data:` lines of a curl log).
    static func events(_ log: String) -> [[String: Any]] {
        log.split(separator: "\n").filter { $0.hasPrefix("data:") }.compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.dropFirst(5).utf8))) as? [String: Any]
        }
    }

    /// The issue's case: 60 s of 1080p30 with audio (a six-rung ladder). Playable before completed,
    /// and what the master lists at that moment plays from the start to its end in every rung.
    @Test func sixtySecondsOf1080pPlayBeforeTheyComplete() async throws {
        guard let sut = try await ServiceUnderTest.make("e2e-playable-1080p") else { return }
        let snapshot = sut.storageDirectory + "/snapshot"
        do {
            let source = try await ServiceUnderTest.syntheticSource(name: "vidd-e2e-playable-1080p-60s.mp4", size: "1920x1080", seconds: 60)
            let vidd = try await sut.start("all", settings: ["VIDD_X264_PRESET": "ultrafast"])
            let id = try await Self.upload(sut, vidd, source: source)
            let playable = try await Self.waitFor(sut, vidd, id, "playable", timeout: .seconds(300)) { $0["playable"] as? Bool == true }
            #expect(playable["status"] as? String == "processing", "playable before completed: \(playable["status"] ?? "")")
            let masterURL = try #require(playable["hls_master_url"] as? String)
            try await Self.expectSnapshotPlays(sut, vidd, masterURL: masterURL, into: snapshot, rungs: ["1080p", "720p", "480p", "360p", "240p", "144p"])
            let done = try await Self.waitFor(sut, vidd, id, "completed", timeout: .seconds(600)) { $0["status"] as? String == "completed" }
            #expect((done["playable_at"] as? String ?? "~") < (done["completed_at"] as? String ?? ""))
        } catch {
            Issue.record("\(error)\n\(sut.logs)")
        }
        await sut.cleanup()
    }

    @Test func playableLongBeforeCompletedAndTheMasterPlaysWhatIsThere() async throws {
        guard let sut = try await ServiceUnderTest.make("e2e-playable") else { return }
        let snapshot = sut.storageDirectory + "/snapshot"
        var feed: ChildProcess?
        do {
            let vidd = try await sut.start("all")
            // The global feed from before the upload: every event of the video, the first included.
            let log = sut.storageDirectory + "/feed.log"
            feed = try ChildProcess(["/usr/bin/curl", "-sS", "-N", "--max-time", "170", vidd.base + "/progress"], environment: [:], logPath: log)
            let connected = ContinuousClock.now + .seconds(10)
            while !((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("retry:") && ContinuousClock.now < connected {
                try await Task.sleep(for: .milliseconds(20))
            }
            let id = try await Self.upload(sut, vidd)

            let playable = try await Self.waitFor(sut, vidd, id, "playable") { $0["playable"] as? Bool == true }
            #expect(playable["status"] as? String == "processing", "playable before completed: \(playable["status"] ?? "")")
            #expect(playable["playable_at"] is String && playable["dash_manifest_url"] is NSNull)
            let masterURL = try #require(playable["hls_master_url"] as? String)
            #expect(masterURL == "/media/\(id)/hls/master.m3u8")
            // At that moment: everything listed is served, and plays from the start to its end.
            let listed = try await Self.expectSnapshotPlays(sut, vidd, masterURL: masterURL, into: snapshot, rungs: ["720p", "480p", "360p", "240p", "144p"])
            // A player starting from the live URL (EVENT playlists, from their first segment).
            let live = try await Self.decode(vidd.base + masterURL, map: "0:v:0", arguments: ["-live_start_index", "0", "-t", "3"])
            #expect(live.errors.isEmpty && live.frames >= 89, "live start: \(live.frames) frames \(live.errors)")

            let done = try await Self.waitFor(sut, vidd, id, "completed") { $0["status"] as? String == "completed" }
            #expect(done["playable"] as? Bool == true && done["playable_at"] as? String == playable["playable_at"] as? String)
            #expect((done["playable_at"] as? String ?? "~") < (done["completed_at"] as? String ?? ""))
            // The stored playlists are complete now.
            let stored = try sut.storage()
            for rendition in listed.keys {
                let text = String(decoding: try await stored.get(key: "processed/\(id)/hls/\(rendition)/index.m3u8"), as: UTF8.self)
                #expect(MediaPlaylistText.isComplete(text) && MediaPlaylistText.segmentCount(text) == 6, "\(rendition): \(text)")
            }

            // The feed: one `playable` stage event, with playable_at, before `completed`.
            let events = Self.events(feed?.log ?? "").filter { $0["video_id"] as? String == id }
            let announced = try #require(events.firstIndex { $0["stage"] as? String == "playable" }, "no playable event in \(events.count) events")
            let completed = try #require(events.firstIndex { $0["status"] as? String == "completed" })
            #expect(announced < completed)
            #expect(events[announced]["playable"] as? Bool == true && events[announced]["playable_at"] as? String == playable["playable_at"] as? String)
            #expect(events[..<announced].allSatisfy { $0["playable"] as? Bool == false }, "not playable before the announcement")
            #expect(events[announced...].allSatisfy { $0["playable"] as? Bool == true }, "playable from then on")
            #expect(events.filter { $0["stage"] as? String == "playable" }.count == 1)

            // DASH over the same segments, through /media: every rung and the audio to the end.
            let dashURL = try #require(done["dash_manifest_url"] as? String)
            #expect(dashURL == "/media/\(id)/manifest.mpd")
            let mpd = try await sut.request(vidd, "GET", dashURL)
            #expect(mpd.status == 200 && mpd.headers["content-type"] == "application/dash+xml" && mpd.text.contains(#"type="static""#))
            for index in 0..<5 {
                let played = try await Self.decode(vidd.base + dashURL, map: "0:v:\(index)")
                #expect(played.errors.isEmpty && played.frames == 960, "DASH rung \(index): \(played.frames) frames \(played.errors)")
            }
            let dashAudio = try await Self.decode(vidd.base + dashURL, map: "0:a:0")
            #expect(dashAudio.errors.isEmpty && abs(dashAudio.seconds - 32) < 0.1, "DASH audio: \(dashAudio.seconds) s \(dashAudio.errors)")
            // An independent reading: the `mpegdash` parser (PyPI) and the checks of scripts/check-mpd.py.
            let mpdFile = sut.storageDirectory + "/manifest.mpd"
            try mpd.body.write(to: URL(fileURLWithPath: mpdFile))
            let checked = try await TestProcess.run([Self.python(), ServiceUnderTest.fixture("../scripts/check-mpd.py"), mpdFile])
            #expect(checked.status == 0, "check-mpd: \(String(decoding: checked.errorOutput, as: UTF8.self))")
            let summary = (try? JSONSerialization.jsonObject(with: checked.output)) as? [String: Any] ?? [:]
            let video = summary["video"] as? [[String: Any]] ?? [], audioSet = summary["audio"] as? [[String: Any]] ?? []
            #expect(video.compactMap { $0["id"] as? String } == ["720p", "480p", "360p", "240p", "144p"] && audioSet.count == 1)
            #expect((video + audioSet).allSatisfy { $0["segments"] as? Int == 6 }, "six segments each, as the playlists list")
            // The codecs strings are the master playlist's (both from the SPS).
            let finalMaster = try await sut.request(vidd, "GET", masterURL).text
            for rep in video {
                let codec = rep["codecs"] as? String ?? "?"
                #expect(finalMaster.contains("RESOLUTION=\(rep["width"] ?? 0)x\(rep["height"] ?? 0),CODECS=\"\(codec),mp4a.40.2\""), "\(rep)")
            }
        } catch {
            Issue.record("\(error)\n\(sut.logs)")
        }
        await feed?.kill9()
        await sut.cleanup()
    }

    /// The project's virtualenv (scripts/install-deps.sh puts the `mpegdash` parser there), else
    /// `python3`; `VIDD_TEST_PYTHON` overrides both.
    static func python() -> String {
        if let p = ProcessInfo.processInfo.environment["VIDD_TEST_PYTHON"], !p.isEmpty { return p }
        let venv = ServiceUnderTest.fixture("../.venv/bin/python3")
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : "python3"
    }

    /// The media playlists in the bucket (file backend) by rendition: their text now.
    static func storedPlaylists(_ sut: ServiceUnderTest, _ id: String) -> [String: String] {
        let dir = sut.storageDirectory + "/processed/\(id)/hls"
        var out: [String: String] = [:]
        for rendition in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
            if let text = try? String(contentsOfFile: dir + "/" + rendition + "/index.m3u8", encoding: .utf8) { out[rendition] = text }
        }
        return out
    }

    /// Playable, with at least two segments in every stored media playlist; then SIGKILL the worker.
    static func killOncePlayable(_ sut: ServiceUnderTest, _ api: ServiceUnderTest.Daemon, _ worker: ServiceUnderTest.Daemon,
                                 _ id: String) async throws -> (playableAt: String, playlists: [String: String]) {
        let playable = try await waitFor(sut, api, id, "playable") { $0["playable"] as? Bool == true }
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let stored = storedPlaylists(sut, id)
            if stored.count == 6, stored.values.allSatisfy({ MediaPlaylistText.segmentCount($0) >= 2 }) { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        worker.process.signal(SIGKILL)
        #expect(await worker.process.waitForExit(timeout: .seconds(10)) == 128 + SIGKILL)
        let stored = storedPlaylists(sut, id)
        try #require(stored.count == 6 && stored.values.allSatisfy { !MediaPlaylistText.isComplete($0) },
                     "killed while every rendition was still growing: \(stored.mapValues(MediaPlaylistText.segmentCount))")
        return (try #require(playable["playable_at"] as? String), stored)
    }

    /// Another worker restarts the job from scratch: the playlists players may be watching never
    /// lose a segment (the new attempt's shorter versions are not published), and every segment a
    /// stored playlist names is there whenever it is looked at.
    @Test func aRedeliveredJobNeverShortensAPlaylistPlayersMayWatch() async throws {
        guard let sut = try await ServiceUnderTest.make("e2e-redeliver") else { return }
        do {
            let api = try await sut.start("serve")
            let first = try await sut.start("worker")
            let id = try await Self.upload(sut, api)
            let (playableAt, before) = try await Self.killOncePlayable(sut, api, first, id)
            var seen = before.mapValues(MediaPlaylistText.segmentCount)

            _ = try await sut.start("worker")
            var status = ""
            var looks = 0
            while status != "completed" && status != "failed" {
                for (rendition, text) in Self.storedPlaylists(sut, id) {
                    let count = MediaPlaylistText.segmentCount(text)
                    #expect(count >= seen[rendition] ?? 0, "\(rendition) went from \(seen[rendition] ?? 0) to \(count) segments")
                    seen[rendition] = max(count, seen[rendition] ?? 0)
                    for name in PublicationOrderTests.CheckingStorage.names(in: text, key: "index.m3u8") {
                        let path = sut.storageDirectory + "/processed/\(id)/hls/\(rendition)/" + name
                        #expect(FileManager.default.fileExists(atPath: path), "\(rendition) names \(name), which is not stored")
                    }
                }
                looks += 1
                let row = try await sut.query("SELECT status FROM videos WHERE id = $1::uuid", [id])
                status = row.first?.first.flatMap { $0 } ?? ""
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(status == "completed", "\(sut.logs)")
            let video = try await sut.request(api, "GET", "/videos/\(id)").json
            #expect(video["attempts"] as? Int == 2 && video["playable_at"] as? String == playableAt, "the first moment it was playable stays")
            for (rendition, text) in Self.storedPlaylists(sut, id) {
                #expect(MediaPlaylistText.isComplete(text) && MediaPlaylistText.segmentCount(text) == 6, "\(rendition)")
            }
            #expect(looks > 20, "the playlists were looked at while the second attempt ran (\(looks) times)")
        } catch {
            Issue.record("\(error)\n\(sut.logs)")
        }
        await sut.cleanup()
    }

    /// The second delivery exceeds VIDD_MAX_ATTEMPTS: the video fails after it was playable. Its
    /// JSON withdraws the master (playable false) and keeps the moment; its stored playlists end
    /// where they were, so a player plays them to their last segment and stops.
    @Test func aVideoThatFailsAfterItWasPlayableEndsItsPlaylists() async throws {
        guard let sut = try await ServiceUnderTest.make("e2e-failplayable", settings: ["VIDD_MAX_ATTEMPTS": "1"]) else { return }
        do {
            let api = try await sut.start("serve")
            let first = try await sut.start("worker")
            let id = try await Self.upload(sut, api)
            let (playableAt, before) = try await Self.killOncePlayable(sut, api, first, id)
            _ = try await sut.start("worker")
            let failed = try await Self.waitFor(sut, api, id, "failed") { $0["status"] as? String == "failed" }
            #expect(failed["playable"] as? Bool == false && failed["playable_at"] as? String == playableAt)
            #expect(failed["hls_master_url"] is NSNull && failed["dash_manifest_url"] is NSNull)
            let sealed = try await Self.waitForSealed(sut, id)
            for (rendition, text) in sealed {
                #expect(MediaPlaylistText.segmentCount(text) == MediaPlaylistText.segmentCount(before[rendition] ?? ""), "\(rendition): nothing added")
            }
            // A player reads each to its end and stops (no waiting for segments that will not come).
            let master = sut.storageDirectory + "/processed/\(id)/hls/master.m3u8"
            for index in 0..<5 {
                let played = try await Self.decode(master, map: "0:v:\(index)")
                #expect(played.errors.isEmpty && played.frames > 0 && played.frames % 180 == 0, "rung \(index): \(played.frames) \(played.errors)")
            }
        } catch {
            Issue.record("\(error)\n\(sut.logs)")
        }
        await sut.cleanup()
    }

    /// The failure is recorded, then the playlists are sealed: wait for the second.
    static func waitForSealed(_ sut: ServiceUnderTest, _ id: String) async throws -> [String: String] {
        let deadline = ContinuousClock.now + .seconds(30)
        var stored: [String: String] = [:]
        while ContinuousClock.now < deadline {
            stored = storedPlaylists(sut, id)
            if stored.count == 6, stored.values.allSatisfy(MediaPlaylistText.isComplete) { return stored }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ServiceUnderTest.Failure("playlists not sealed: \(stored)\n\(sut.logs)")
    }

    /// With S3, playlists and the MPD are served by vidd (their relative URIs must resolve to
    /// /media, not to a presigned URL), and the media files they name are redirected to presigned
    /// URLs: both play to the end through vidd.
    @Test func withS3ManifestsAreServedAndMediaRedirected() async throws {
        guard let sut = try await ServiceUnderTest.make("e2e-s3-manifests", backend: .s3) else { return }
        do {
            let vidd = try await sut.start("all")
            let id = try await sut.upload(vidd, fixture: "landscape_720p.mp4")
            let done = try await Self.waitFor(sut, vidd, id, "completed") { $0["status"] as? String == "completed" }
            let master = try #require(done["hls_master_url"] as? String), mpd = try #require(done["dash_manifest_url"] as? String)
            for (url, type) in [(master, "application/vnd.apple.mpegurl"), ("/media/\(id)/hls/720p/index.m3u8", "application/vnd.apple.mpegurl"),
                                (mpd, "application/dash+xml")] {
                let r = try await sut.request(vidd, "GET", url)
                #expect(r.status == 200 && r.headers["content-type"] == type && r.headers["location"] == nil, "\(url): \(r.status)")
            }
            let segment = try await sut.request(vidd, "GET", "/media/\(id)/hls/720p/seg_0000.m4s")
            #expect(segment.status == 302 && segment.headers["location"]?.contains("X-Amz-Signature=") == true, "\(segment.status)")
            let frames = 60  // 2 s at 30 fps
            for input in [vidd.base + master, vidd.base + mpd] {
                let video = try await Self.decode(input, map: "0:v:0")
                #expect(video.errors.isEmpty && video.frames == frames, "\(input): \(video.frames) frames \(video.errors)")
                let audio = try await Self.decode(input, map: "0:a:0")
                #expect(audio.errors.isEmpty && abs(audio.seconds - 2) < 0.1, "\(input) audio: \(audio.seconds) s \(audio.errors)")
            }
        } catch {
            Issue.record("\(error)\n\(sut.logs)")
        }
        await sut.cleanup()
    }
}
