import Foundation
import S3Lite
import Testing
import TestSupport
@testable import VideoAPI
@testable import VideoCore
@testable import VideoService
@testable import VideoWorker

/// The real `vidd` binary, as a user runs it, against the real Redis, PostgreSQL and S3 test
/// servers: uploads in every form, progress over SSE to the end, rows against `ffprobe` of the
/// stored outputs, several workers, and workers killed or stopped mid-job.
@Suite(.serialized) struct EndToEndTests {
    /// What ffprobe says about a stored MP4.
    struct Probe: Equatable { var width: Int; var height: Int; var codec: String }

    static func ffprobe(_ path: String) async throws -> Probe {
        let r = try await TestProcess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                           "stream=width,height,codec_name", "-of", "csv=p=0", path])
        let parts = r.text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",")
        guard parts.count == 3, let w = Int(parts[1]), let h = Int(parts[2]) else {
            throw ServiceUnderTest.Failure("ffprobe \(path): \(r.text) \(String(decoding: r.errorOutput, as: UTF8.self))")
        }
        return Probe(width: w, height: h, codec: String(parts[0]))
    }

    /// Every `resolutions` row matches the object it names: dimensions and codec by ffprobe, size
    /// by the file. Returns the rows' heights.
    @discardableResult
    static func checkRenditions(_ sut: ServiceUnderTest, videoID: String, portrait: Bool = false) async throws -> [Int] {
        let rows = try await sut.query(
            "SELECT height::text, width::text, size_bytes::text, codec, mp4_key, hls_playlist_key FROM resolutions WHERE video_id = $1::uuid ORDER BY height DESC",
            [videoID])
        #expect(!rows.isEmpty, "no renditions for \(videoID)")
        var heights: [Int] = []
        for row in rows {
            let height = Int(row[0]!)!, width = Int(row[1]!)!, size = Int(row[2]!)!
            let key = row[4]!
            // Rungs are named by their short side: a portrait 360×640 rendition is 360p.
            #expect(key == "processed/\(videoID)/mp4/\(min(width, height))p.mp4")
            let storage = try sut.storage()
            let stored = try await storage.head(key: key)
            #expect(stored?.size == Int64(size), "size of \(key): row \(size), stored \(stored?.size ?? -1)")
            let path = try await sut.localCopy(key)
            let probe = try await ffprobe(path)
            #expect(probe.width == width && probe.height == height, "\(key): row \(width)x\(height), file \(probe.width)x\(probe.height)")
            #expect(probe.codec == "h264" && row[3]!.contains("264"), "codec of \(key): \(probe.codec) / \(row[3]!)")
            if portrait { #expect(width < height, "portrait source gives portrait renditions: \(width)x\(height)") }
            if let playlist = row[5] {
                #expect(try await storage.head(key: playlist) != nil, "playlist \(playlist)")
            }
            heights.append(height)
        }
        #expect(Set(heights).count == heights.count, "one row per rung: \(heights)")
        for whole in ["hls/master.m3u8", "poster.jpg", "storyboard.jpg", "storyboard.vtt"] {
            #expect(try await sut.storage().head(key: "processed/\(videoID)/\(whole)") != nil, "processed/\(videoID)/\(whole)")
        }
        return heights
    }

    @Test func fileBackendEveryFormAndEveryKindOfSource() async throws {
        guard let sut = try await ServiceUnderTest.make("e2e-file") else { return }
        do {
            // Two HTTP event loops: the API's connections (each curl its own) alternate between them,
            // so uploads, SSE, reads and /media run on a loop other than the clients' too.
            let vidd = try await sut.start("all", settings: ["VIDD_WORKER_CONCURRENCY": "2", "VIDD_HTTP_EVENT_LOOPS": "2"])

            // Raw body, and a browser's multipart form.
            let landscape = try await sut.upload(vidd, fixture: "landscape_720p.mp4")
            let form = try await sut.request(vidd, "POST", "/jobs", ["-F", "file=@" + ServiceUnderTest.fixture("portrait_rotated.mp4") + ";type=video/mp4", "-F", "title=Portrait"])
            #expect(form.status == 202, "\(form.status) \(form.text)")
            let portrait = try #require(ServiceUnderTest.videoID(form.json))
            #expect(form.headers["location"] == "/videos/\(portrait)")
            let silent = try await sut.upload(vidd, fixture: "no_audio.mp4")
            let corrupt = try await sut.upload(vidd, fixture: "not_video.mp4")

            // Progress over SSE, followed to the end: snapshot first, `id:` on every event, ends itself.
            let sse = try await TestProcess.run(["curl", "-sS", "-N", "--max-time", "180", vidd.base + "/progress/\(landscape)"])
            let events = sse.text.components(separatedBy: "\n\n").filter { $0.contains("data:") }
            #expect(!events.isEmpty, "SSE said nothing: \(sse.text)")
            #expect(events.allSatisfy { $0.contains("\nid:") || $0.hasPrefix("id:") }, "every event has an id")
            let payloads = events.compactMap { event -> [String: Any]? in
                guard let line = event.split(separator: "\n").first(where: { $0.hasPrefix("data:") }) else { return nil }
                return (try? JSONSerialization.jsonObject(with: Data(line.dropFirst(5).utf8))) as? [String: Any]
            }
            #expect(payloads.last?["status"] as? String == "completed", "the stream ends with completed: \(payloads.last ?? [:])")
            let percents = payloads.compactMap { $0["percent"] as? Double }
            #expect(percents == percents.sorted(), "percent never goes back: \(percents)")

            for id in [landscape, portrait, silent] {
                let video = try await sut.waitForStatus(vidd, id, ["completed", "failed"])
                #expect(video["status"] as? String == "completed", "\(id): \(video["error_message"] ?? "")\n\(sut.logs)")
            }
            let landscapeHeights = try await Self.checkRenditions(sut, videoID: landscape)
            #expect(landscapeHeights.first == 720 && landscapeHeights.allSatisfy { $0 <= 720 }, "never above the source: \(landscapeHeights)")
            try await Self.checkRenditions(sut, videoID: portrait, portrait: true)
            try await Self.checkRenditions(sut, videoID: silent)

            // The source is stored byte for byte under source/{id}/{name}.
            let stored = try Data(contentsOf: URL(fileURLWithPath: "\(sut.storageDirectory)/source/\(landscape)/landscape_720p.mp4"))
            #expect(stored == (try Data(contentsOf: URL(fileURLWithPath: ServiceUnderTest.fixture("landscape_720p.mp4")))))

            // Corrupt media fails once, with a message a person can read, and is not retried.
            let failed = try await sut.waitForStatus(vidd, corrupt, ["completed", "failed"])
            #expect(failed["status"] as? String == "failed")
            let message = failed["error_message"] as? String ?? ""
            #expect(!message.isEmpty && message.count < 500, "error_message: \(message)")
            let attempts = try await sut.query("SELECT attempts::text FROM videos WHERE id = $1::uuid", [corrupt])
            #expect(attempts == [["1"]], "bad media is not retried")
            let dead = try await sut.redis { try await $0.xlen(sut.keys.deadLetterStream) }
            #expect(dead == 0, "bad media is failed, not dead-lettered")

            // The API's view agrees with the rows: playable URLs through /media with Range.
            let detail = try await sut.request(vidd, "GET", "/videos/\(landscape)")
            let renditions = detail.json["renditions"] as? [[String: Any]] ?? []
            #expect(renditions.count == landscapeHeights.count)
            if let url = renditions.first?["url"] as? String {
                let part = try await sut.request(vidd, "GET", url, ["-H", "Range: bytes=0-99"])
                #expect(part.status == 206 && part.body.count == 100, "\(part.status) \(part.body.count)")
            }

            // Nothing is left pending in the group.
            let pending = try await sut.redis { try await $0.xpending(sut.keys.jobStream, group: sut.keys.consumerGroup) }
            #expect(pending.count == 0, "pending entries left: \(pending)")

            // SIGTERM with nothing running: a clean, prompt exit.
            vidd.process.signal(SIGTERM)
            #expect(await vidd.process.waitForExit(timeout: .seconds(30)) == 0, "\(sut.logs)")
        } catch {
            Issue.record("\(error)\n\(sut.logs)")
        }
        await sut.cleanup()
    }

    @Test func s3BackendStoredSourceAndSeedForms() async throws {
        guard let sut = try await ServiceUnderTest.make("e2e-s3", backend: .s3) else { return }
        do {
            let vidd = try await sut.start("all")
            let storage = try sut.storage()
            let fixture = try Data(contentsOf: URL(fileURLWithPath: ServiceUnderTest.fixture("landscape_720p.mp4")))
            _ = try await storage.put(key: "source/incoming/clip.mp4", chunks: AsyncChunks([[UInt8](fixture)]), contentType: "video/mp4")

            // An object already in the bucket, by key.
            let byKey = try await sut.request(vidd, "POST", "/jobs", ["-H", "Content-Type: application/json",
                "--data", #"{"source_key": "source/incoming/clip.mp4", "title": "From the bucket"}"#])
            #expect(byKey.status == 202, "\(byKey.status) \(byKey.text)")
            let first = try #require(ServiceUnderTest.videoID(byKey.json))

            // The seed's form, twice: the second is the same video, not an error.
            let seedID = UUID().uuidString.lowercased()
            // Uploads begun and never finished under its source and outputs, as a
            // CreateMultipartUpload sent again after its answer was lost leaves them: gone once the
            // video completes. One under another prefix stays.
            let configuration = try Configuration.load(from: sut.environment)
            let client = try S3Client(configuration: S3Storage.clientConfiguration(configuration.s3!))
            defer { client.shutdown() }
            // The same for a video that fails for good (its source is no video).
            let badID = UUID().uuidString.lowercased()
            _ = try await storage.put(key: "source/incoming/notes.txt", chunks: AsyncChunks([Array("not a video".utf8)]), contentType: "text/plain")
            for key in ["source/\(seedID)/clip.mp4", "processed/\(seedID)/mp4/360p.mp4", "processed/\(badID)/hls/master.m3u8",
                        "source/incoming/other.mp4"] {
                _ = try await client.createMultipartUpload(bucket: sut.bucket!, key: key)
            }
            let bad = try await sut.request(vidd, "POST", "/jobs", ["-H", "Content-Type: application/json", "--data",
                #"{"video_id": "\#(badID)", "s3_path": "s3://\#(sut.bucket!)/source/incoming/notes.txt", "original_name": "notes.txt"}"#])
            #expect(bad.status == 202, "\(bad.status) \(bad.text)")
            let seed = #"{"video_id": "\#(seedID)", "s3_path": "s3://\#(sut.bucket!)/source/incoming/clip.mp4", "original_name": "clip.mp4"}"#
            let once = try await sut.request(vidd, "POST", "/jobs", ["-H", "Content-Type: application/json", "--data", seed])
            #expect(once.status == 202, "\(once.status) \(once.text)")
            #expect(ServiceUnderTest.videoID(once.json) == seedID)
            let twice = try await sut.request(vidd, "POST", "/jobs", ["-H", "Content-Type: application/json", "--data", seed])
            #expect([200, 202].contains(twice.status), "resubmission: \(twice.status) \(twice.text)")
            #expect(ServiceUnderTest.videoID(twice.json) == seedID)

            // A key that is not in the bucket is refused up front.
            let missing = try await sut.request(vidd, "POST", "/jobs", ["-H", "Content-Type: application/json",
                "--data", #"{"source_key": "source/nowhere/x.mp4"}"#])
            #expect(missing.status == 422, "\(missing.status) \(missing.text)")

            for id in [first, seedID] {
                let video = try await sut.waitForStatus(vidd, id, ["completed", "failed"])
                #expect(video["status"] as? String == "completed", "\(id): \(video["error_message"] ?? "")")
                try await Self.checkRenditions(sut, videoID: id)
            }
            let failed = try await sut.waitForStatus(vidd, badID, ["completed", "failed"])
            #expect(failed["status"] as? String == "failed", "\(failed)")
            // Swept right after the row changed: waited for.
            var open: [String] = []
            try await waitUntil("only the other prefix's upload left open", timeout: .seconds(20), context: { "\(open)" }) {
                open = try await S3TestServer.pendingUploads(client, sut.bucket!).map(\.key)
                return open == ["source/incoming/other.mp4"]
            }
            let rows = try await sut.query("SELECT count(*)::text FROM videos")
            #expect(rows == [["3"]], "the resubmitted seed job is one video (and the failed one another)")
            let perRung = try await sut.query("SELECT count(*)::text FROM resolutions WHERE video_id = $1::uuid GROUP BY height HAVING count(*) > 1", [seedID])
            #expect(perRung.isEmpty, "no duplicate rendition rows")

            // Playback from S3: a redirect to a presigned URL that serves the object.
            let media = try await sut.request(vidd, "GET", "/media/\(first)/mp4/720p.mp4")
            #expect(media.status == 302, "\(media.status) \(media.text)")
            let location = try #require(media.headers["location"])
            #expect(location.contains("X-Amz-Signature="))
            let fetched = try await TestProcess.run(["curl", "-sS", "--max-time", "60", location])
            let object = try await storage.get(key: "processed/\(first)/mp4/720p.mp4")
            #expect(fetched.output == Data(object), "the presigned URL serves the stored bytes")

            // Deleting a video aborts what is still open under its outputs and source.
            _ = try await client.createMultipartUpload(bucket: sut.bucket!, key: "processed/\(first)/mp4/1080p.mp4")
            let deleted = try await sut.request(vidd, "DELETE", "/videos/\(first)")
            #expect(deleted.status == 204, "\(deleted.status) \(deleted.text)")
            #expect(try await S3TestServer.pendingUploads(client, sut.bucket!).map(\.key) == ["source/incoming/other.mp4"])
        } catch {
            Issue.record("\(error)\n\(sut.logs)")
        }
        await sut.cleanup()
    }

    @Test func twoWorkersTenJobsEachCompletedExactlyOnce() async throws {
        guard let sut = try await ServiceUnderTest.make("e2e-two") else { return }
        do {
            let api = try await sut.start("serve")
            let a = try await sut.start("worker")
            let b = try await sut.start("worker")
            var ids: [String] = []
            for i in 0..<10 { ids.append(try await sut.upload(api, fixture: "no_audio.mp4", name: "clip\(i).mp4")) }
            var heights: [Int]?
            for id in ids {
                let video = try await sut.waitForStatus(api, id, ["completed", "failed"])
                #expect(video["status"] as? String == "completed", "\(id)\n\(sut.logs)")
                let h = try await sut.query("SELECT height::text FROM resolutions WHERE video_id = $1::uuid ORDER BY height", [id]).map { Int($0[0]!)! }
                if let heights { #expect(h == heights, "same ladder for the same source") } else { heights = h }
            }
            #expect(heights?.isEmpty == false)
            let attempts = try await sut.query("SELECT count(*)::text FROM videos WHERE attempts = 1 AND status = 'completed'")
            #expect(attempts == [["10"]], "every job ran once")
            let rows = try await sut.query("SELECT count(*)::text FROM resolutions")
            #expect(rows == [[String(10 * (heights?.count ?? 0))]], "one row per video and rung")
            let pending = try await sut.redis { try await $0.xpending(sut.keys.jobStream, group: sut.keys.consumerGroup) }
            #expect(pending.count == 0)
            // Both workers took part: ten jobs of a few seconds each, one at a time per worker.
            let doneA = a.process.log.components(separatedBy: "msg=\"job done\"").count - 1
            let doneB = b.process.log.components(separatedBy: "msg=\"job done\"").count - 1
            #expect(doneA + doneB == 10 && doneA > 0 && doneB > 0, "jobs per worker: \(doneA) + \(doneB)")
        } catch {
            Issue.record("\(error)\n\(sut.logs)")
        }
        await sut.cleanup()
    }

    /// A source long enough to stop a worker in the middle of it (12 s of 720p).
    static func longSource() async throws -> String {
        try await ServiceUnderTest.syntheticSource(name: "vidd-e2e-long-720p.mp4", size: "1280x720", seconds: 12)
    }

    func uploadLong(_ sut: ServiceUnderTest, _ api: ServiceUnderTest.Daemon) async throws -> String {
        let path = try await Self.longSource()
        let r = try await sut.request(api, "POST", "/jobs?name=long.mp4", ["-H", "Content-Type: video/mp4", "--data-binary", "@" + path])
        return try #require(ServiceUnderTest.videoID(r.json), "\(r.status) \(r.text)")
    }

    /// Work directories of this test's workers (VIDD_WORK_DIR).
    static func workDirectories(_ root: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { $0.hasPrefix("vidd-job-") }
    }

    /// SIGKILL mid-job: another worker takes the job over after the lease and completes it, and
    /// the dead worker leaves nothing behind — its work directory is swept and its consumer,
    /// once it has nothing pending, is removed from the group.
    @Test func workerKilledMidJobIsTakenOverAndLeavesNoTrace() async throws {
        guard let sut = try await ServiceUnderTest.make("e2e-kill", settings: ["VIDD_X264_PRESET": "veryfast"]) else { return }
        do {
            let work = try #require(sut.environment["VIDD_WORK_DIR"])
            let api = try await sut.start("serve")
            let doomed = try await sut.start("worker")
            let id = try await uploadLong(sut, api)
            try await sut.waitUntilTranscoding(id)
            let doomedConsumer = try #require(try await sut.redis {
                try await $0.xpending(sut.keys.jobStream, group: sut.keys.consumerGroup, count: 10)
            }.first?.consumer)
            doomed.process.signal(SIGKILL)
            #expect(await doomed.process.waitForExit(timeout: .seconds(10)) == 128 + SIGKILL)
            #expect(Self.workDirectories(work).count == 1, "the killed worker's directory is left at first")

            _ = try await sut.start("worker")
            let video = try await sut.waitForStatus(api, id, ["completed", "failed"], timeout: .seconds(300))
            #expect(video["status"] as? String == "completed", "\(sut.logs)")
            #expect(video["attempts"] as? Int == 2, "the second delivery completed it: \(video["attempts"] ?? "")")
            let heights = try await Self.checkRenditions(sut, videoID: id)
            #expect(heights.first == 720)
            let pending = try await sut.redis { try await $0.xpending(sut.keys.jobStream, group: sut.keys.consumerGroup) }
            #expect(pending.count == 0)

            let deadline = ContinuousClock.now + .seconds(60)
            var consumers: [String] = []
            repeat {
                consumers = try await sut.redis { redis in
                    try await redis.send("XINFO", "CONSUMERS", sut.keys.jobStream, sut.keys.consumerGroup).elements ?? []
                }.compactMap { c in c.pairs?.first { $0.key.string == "name" }?.value.string }
                if Self.workDirectories(work).isEmpty && !consumers.contains(doomedConsumer) { break }
                try await Task.sleep(for: .milliseconds(200))
            } while ContinuousClock.now < deadline
            #expect(Self.workDirectories(work).isEmpty, "work directories left: \(Self.workDirectories(work))")
            #expect(!consumers.contains(doomedConsumer), "the dead worker's consumer is removed: \(consumers)")
        } catch {
            Issue.record("\(error)\n\(sut.logs)")
        }
        await sut.cleanup()
    }

    @Test func workerStoppedMidJobLosesNothing() async throws {
        guard let sut = try await ServiceUnderTest.make("e2e-term", settings: ["VIDD_X264_PRESET": "veryfast", "VIDD_SHUTDOWN_GRACE_SECONDS": "1"]) else { return }
        do {
            let api = try await sut.start("serve")
            let stopping = try await sut.start("worker")
            let id = try await uploadLong(sut, api)
            try await sut.waitUntilTranscoding(id)
            stopping.process.signal(SIGTERM)
            #expect(await stopping.process.waitForExit(timeout: .seconds(30)) == 0, "clean exit after the grace period\n\(sut.logs)")
            let status = try await sut.query("SELECT status FROM videos WHERE id = $1::uuid", [id])
            #expect(status == [["processing"]], "the job was neither completed nor failed by the stopped worker")
            let pending = try await sut.redis { try await $0.xpending(sut.keys.jobStream, group: sut.keys.consumerGroup) }
            #expect(pending.count == 1, "left unacknowledged for another worker")

            _ = try await sut.start("worker")
            let video = try await sut.waitForStatus(api, id, ["completed", "failed"], timeout: .seconds(300))
            #expect(video["status"] as? String == "completed", "\(sut.logs)")
            try await Self.checkRenditions(sut, videoID: id)
        } catch {
            Issue.record("\(error)\n\(sut.logs)")
        }
        await sut.cleanup()
    }

    /// `vidd worker` answers /healthz, /readyz and /metrics on VIDD_HEALTH_LISTEN — what a
    /// Kubernetes liveness probe and a Prometheus scrape need — and nothing else there; without
    /// the setting it does not listen at all.
    @Test func workerServesHealthEndpointsOnlyWhenAsked() async throws {
        guard let sut = try await ServiceUnderTest.make("e2e-health") else { return }
        do {
            let worker = try await sut.start("worker", settings: ["VIDD_HEALTH_LISTEN": "127.0.0.1:0"])
            let line = try #require(await worker.process.waitForLog("health endpoints listening", timeout: .seconds(30)))
            let address = try #require(line.split(separator: " ").first { $0.hasPrefix("address=") })
            let port = try #require(Int(address.split(separator: ":").last ?? ""))
            let client = TestHTTPClient(port: port)
            #expect(try await client.get("/healthz").status == 200)
            let ready = try await client.get("/readyz")
            #expect(ready.status == 200, "\(ready.text)")
            #expect(try ready.json()["status"] as? String == "ready")
            let metrics = try await client.get("/metrics")
            #expect(metrics.status == 200 && metrics.text.contains("vidd_jobs_started_total"), "the worker's own counters")
            for path in ["/", "/videos", "/openapi.json", "/progress"] {
                #expect(try await client.get(path).status == 404, "\(path) is the API's, not a worker's")
            }
            worker.process.signal(SIGTERM)
            #expect(await worker.process.waitForExit(timeout: .seconds(30)) == 0, "\(sut.logs)")

            let quiet = try await sut.start("worker")
            #expect(!quiet.process.log.contains("health endpoints listening"))
            quiet.process.signal(SIGTERM)
            #expect(await quiet.process.waitForExit(timeout: .seconds(30)) == 0)
        } catch {
            Issue.record("\(error)\n\(sut.logs)")
        }
        await sut.cleanup()
    }

    /// Type=notify as systemd runs it: READY once listening, WATCHDOG at half of WATCHDOG_USEC,
    /// STOPPING on SIGTERM, then a clean exit.
    @Test func daemonSpeaksSystemdNotify() async throws {
        guard let sut = try await ServiceUnderTest.make("e2e-notify") else { return }
        do {
            let socket = try SystemdNotifierTests.NotifySocket(path: sut.storageDirectory + "/notify")
            let vidd = try await sut.start("serve", settings: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "200000"])
            func next() async -> String? {
                for _ in 0..<250 {
                    var buffer = [UInt8](repeating: 0, count: 4096)
                    let n = buffer.withUnsafeMutableBytes { recv(socket.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                    if n >= 0 { return String(decoding: buffer[..<n], as: UTF8.self) }
                    try? await Task.sleep(for: .milliseconds(20))
                }
                return nil
            }
            var messages: [String] = []
            while messages.filter({ $0 == "WATCHDOG=1" }).count < 2, let m = await next() { messages.append(m) }
            #expect(messages.first?.hasPrefix("READY=1") == true, "READY first: \(messages)")
            #expect(messages.filter { $0 == "WATCHDOG=1" }.count >= 2, "watchdog pings: \(messages)")
            vidd.process.signal(SIGTERM)
            var stopping = false
            while !stopping, let m = await next() { stopping = m.hasPrefix("STOPPING=1") }
            #expect(stopping, "STOPPING=1 on SIGTERM")
            #expect(await vidd.process.waitForExit(timeout: .seconds(30)) == 0, "\(sut.logs)")
        } catch {
            Issue.record("\(error)\n\(sut.logs)")
        }
        await sut.cleanup()
    }
}
