import Foundation
import Testing
@testable import Transcode

/// Transcodes every fixture (few, small rungs to stay fast) and checks the outputs with ffprobe/ffmpeg.
@Suite("Transcode outputs")
struct TranscodeOutputTests {
    struct Case: Sendable, CustomStringConvertible {
        var file: String
        var rungs: [Int]
        var sizes: [String]
        var hasAudio: Bool
        var description: String { file }
    }

    static let cases: [Case] = [
        Case(file: "landscape_720p.mp4", rungs: [360, 144], sizes: ["640x360", "256x144"], hasAudio: true),
        Case(file: "portrait_rotated.mp4", rungs: [360, 144], sizes: ["360x640", "144x256"], hasAudio: true),
        Case(file: "no_audio.mp4", rungs: [240, 144], sizes: ["320x240", "192x144"], hasAudio: false),
        Case(file: "vp9_opus.webm", rungs: [144], sizes: ["256x144"], hasAudio: true),
        Case(file: "hevc_10bit.mp4", rungs: [240], sizes: ["320x240"], hasAudio: true),
        Case(file: "vfr.mp4", rungs: [240, 144], sizes: ["320x240", "192x144"], hasAudio: false),
    ]

    static func transcode(_ file: String, rungs: [Int]) throws -> (TranscodeResult, String, DirectorySink) {
        let dir = Tools.tempDirectory("out")
        let sink = DirectorySink(directory: dir)
        var options = TranscodeOptions()
        options.ladder.rungs = rungs
        let t = Transcoder(source: file, outputDirectory: dir, options: options, sink: sink)
        return (try t.runBlocking(), dir, sink)
    }

    @Test("video fixtures: planned sizes, H.264 High yuv420p, durations, moov first, playable HLS", arguments: cases)
    func videoFixture(_ c: Case) throws {
        let src = Fixture.path(c.file)
        let (result, dir, sink) = try Self.transcode(src, rungs: c.rungs)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(result.plan.rungs.map { "\($0.width)x\($0.height)" } == c.sizes)

        let srcVideo = try #require(try Tools.streams(src, type: "video").first)
        let srcFrames = try Tools.run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts",
                                                  "-of", "csv=p=0", src]).stdout.split(separator: "\n").count
        // ffprobe's stream duration (Matroska has none per stream: the container's).
        let srcDuration = try #require(srcVideo.double("duration") ?? ((try Tools.probe(src))["format"] as? [String: Any])?.double("duration"))
        for (rung, size) in zip(result.plan.rungs, c.sizes) {
            let mp4 = dir + "/\(rung.name).mp4"
            let v = try #require(try Tools.streams(mp4, type: "video").first)
            #expect("\(v.int("width") ?? 0)x\(v.int("height") ?? 0)" == size)
            #expect(v.string("codec_name") == "h264")
            #expect(v.string("profile") == "High")
            #expect(v.string("pix_fmt") == "yuv420p")
            // Every source frame is encoded (no rung here is frame-rate reduced).
            #expect(v.int("nb_frames") == srcFrames)
            // Duration within one frame of the source's.
            let d = try #require(v.double("duration"))
            let frame = 1 / rung.frameRate
            #expect(abs(d - srcDuration) <= frame + 1e-3, "\(rung.name): \(d) s vs source \(srcDuration) s")
            let audio = try Tools.streams(mp4, type: "audio")
            if c.hasAudio {
                let a = try #require(audio.first)
                #expect(a.string("codec_name") == "aac")
                #expect(a.string("profile") == "LC")
                #expect(a.int("sample_rate") == 48000)
                #expect(a.int("channels") == 2)
            } else {
                #expect(audio.isEmpty)
            }
            // Faststart: the index precedes the media data.
            let boxes = topLevelBoxes(mp4)
            let moov = try #require(boxes.firstIndex(of: "moov")), mdat = try #require(boxes.firstIndex(of: "mdat"))
            #expect(moov < mdat)
            // The HLS rendition is the same picture size.
            let hlsV = try #require(try Tools.streams(dir + "/hls/\(rung.name)/index.m3u8", type: "video").first)
            #expect(hlsV.int("width") == v.int("width"))
        }
        // The master playlist reads to the end without errors.
        let play = try Tools.run("ffmpeg", ["-v", "error", "-i", dir + "/master.m3u8", "-map", "0", "-f", "null", "-"])
        #expect(play.status == 0)
        #expect(play.stderr.isEmpty, "\(play.stderr)")
        let master = try String(contentsOfFile: dir + "/master.m3u8", encoding: .utf8)
        for s in c.sizes { #expect(master.contains("RESOLUTION=\(s)")) }
        #expect(master.contains("AVERAGE-BANDWIDTH=") && master.contains("FRAME-RATE=") && master.contains("CODECS=\"avc1.64"))
        #expect(master.contains("TYPE=AUDIO") == c.hasAudio)
        // Poster and storyboard exist and are JPEGs of the expected geometry.
        let poster = try #require(try Tools.streams(dir + "/poster.jpg", type: "video").first)
        #expect(poster.string("codec_name") == "mjpeg")
        let sprite = try #require(try Tools.streams(dir + "/storyboard.jpg", type: "video").first)
        #expect((sprite.int("width") ?? 999) <= 192 * 10)
        let vtt = try String(contentsOfFile: dir + "/storyboard.vtt", encoding: .utf8)
        #expect(vtt.hasPrefix("WEBVTT"))
        #expect(vtt.contains("storyboard.jpg#xywh=0,0,"))
        // The sink heard about every file, each segment before the playlists' final versions.
        let files = sink.files
        #expect(files.contains { $0.kind == .masterPlaylist })
        #expect(files.filter { $0.kind == .mp4 }.count == c.sizes.count)
        #expect(files.contains { $0.kind == .hlsSegment })
        #expect(files.contains { $0.kind == .hlsInit })
        #expect(files.contains { $0.kind == .poster })
        // (An intermediate playlist version is reported under a temporary name, renamed just after.)
        for f in files where f.kind != .mediaPlaylist || f.isFinal {
            #expect(FileManager.default.fileExists(atPath: f.localPath), "\(f.relativePath)")
        }
        // The DASH manifest over the same segments reads to the end, every rung and the audio.
        #expect(result.dashManifest == "manifest.mpd", "\(result.notes)")
        #expect(files.last?.kind == .dashManifest)
        for (index, rung) in result.plan.rungs.enumerated() {
            let frames = try Tools.run("ffprobe", ["-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                                                   "stream=nb_read_frames", "-of", "csv=p=0", dir + "/\(rung.name).mp4"]).stdout
            let dash = try Tools.decodeToEnd(dir + "/manifest.mpd", map: "0:v:\(index)")
            #expect(dash.errors.isEmpty, "\(rung.name) via DASH: \(dash.errors)")
            #expect(dash.frames == Int(frames.trimmingCharacters(in: .whitespacesAndNewlines)), "\(rung.name): every frame of the MP4 through the MPD")
        }
        if c.hasAudio {
            let dash = try Tools.decodeToEnd(dir + "/manifest.mpd", map: "0:a:0")
            #expect(dash.errors.isEmpty, "audio via DASH: \(dash.errors)")
            #expect(abs(dash.seconds - srcDuration) < 0.1, "audio via DASH: \(dash.seconds) s of \(srcDuration) s")
        }
    }

    @Test func rotatedOutputMatchesFFmpegAutorotate() throws {
        let src = Fixture.path("portrait_rotated.mp4")
        let (_, dir, _) = try Self.transcode(src, rungs: [360])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // ffmpeg applies the display matrix itself; our upright 360x640 must look like its result.
        let r = try Tools.run("ffmpeg", ["-v", "info", "-i", dir + "/360p.mp4", "-i", src, "-lavfi",
                                         "[1:v]scale=360:640[ref];[0:v][ref]ssim", "-f", "null", "-"])
        let line = try #require(r.stderr.split(separator: "\n").first { $0.contains("SSIM") && $0.contains("All:") })
        let all = try #require(Double(line.split(separator: " ").first { $0.hasPrefix("All:") }!.dropFirst(4)))
        #expect(all > 0.9, "SSIM vs ffmpeg's autorotated picture: \(all)")
    }

    @Test func keyframesEveryTwoSecondsAlignedAcrossRungsAndSixSecondSegments() throws {
        let clip = try Tools.makeClip(seconds: 9, size: "640x360", rate: 30)
        defer { try? FileManager.default.removeItem(atPath: clip) }
        let (_, dir, _) = try Self.transcode(clip, rungs: [360, 240, 144])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var sets: [[Double]] = []
        for name in ["360p", "240p", "144p"] {
            let keys = try Tools.keyframeTimes(dir + "/\(name).mp4")
            sets.append(keys)
            #expect(keys.count == 5, "\(name): \(keys)")
            for (i, k) in keys.enumerated() { #expect(abs(k - Double(i) * 2) < 0.001, "\(name) key \(i) at \(k)") }
        }
        #expect(Set(sets.map { $0.map { Int(($0 * 1000).rounded()) } }).count == 1)
        // Segments: 6 s + 3 s, each starting on a keyframe.
        let playlist = try String(contentsOfFile: dir + "/hls/360p/index.m3u8", encoding: .utf8)
        let durations = playlist.split(separator: "\n").filter { $0.hasPrefix("#EXTINF:") }
            .compactMap { Double($0.dropFirst(8).split(separator: ",").first ?? "") }
        #expect(durations.count == 2)
        #expect(abs((durations.first ?? 0) - 6) < 0.01)
    }

    @Test func audioOnlySourceGivesAnAudioRendition() throws {
        let (result, dir, sink) = try Self.transcode(Fixture.path("audio_only.m4a"), rungs: [144])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(result.plan.rungs.isEmpty)
        #expect(result.poster == nil && result.storyboard == nil)
        #expect(result.notes.contains { $0.contains("audio-only") && $0.contains("no poster") })
        let a = try #require(try Tools.streams(dir + "/audio.m4a", type: "audio").first)
        #expect(a.string("codec_name") == "aac" && a.int("sample_rate") == 48000 && a.int("channels") == 2)
        #expect(topLevelBoxes(dir + "/audio.m4a").firstIndex(of: "moov")! < topLevelBoxes(dir + "/audio.m4a").firstIndex(of: "mdat")!)
        let master = try String(contentsOfFile: dir + "/master.m3u8", encoding: .utf8)
        #expect(master.contains("CODECS=\"mp4a.40.2\""))
        #expect(!FileManager.default.fileExists(atPath: dir + "/poster.jpg"))
        let play = try Tools.run("ffmpeg", ["-v", "error", "-i", dir + "/master.m3u8", "-f", "null", "-"])
        #expect(play.status == 0 && play.stderr.isEmpty)
        #expect(sink.files.contains { $0.kind == .mp4 && $0.rendition == "audio" })
    }

    @Test func corruptFixturesFailWithTypedErrors() {
        func error(_ name: String) -> TranscodeError? {
            do { _ = try Self.transcode(Fixture.path(name), rungs: [144]); return nil } catch let e as TranscodeError { return e } catch { return nil }
        }
        #expect(error("empty.mp4") == .emptyFile(path: Fixture.path("empty.mp4")))
        if case .notMedia = error("not_video.mp4") {} else { Issue.record("not_video.mp4 should be notMedia") }
        if case .truncated = error("truncated.mp4") {} else { Issue.record("truncated.mp4 should be truncated") }
        var opts = TranscodeOptions(); opts.requireVideo = true
        let t = Transcoder(source: Fixture.path("audio_only.m4a"), outputDirectory: Tools.tempDirectory("x"), options: opts)
        #expect(throws: TranscodeError.noVideoStream(path: Fixture.path("audio_only.m4a"))) { try t.runBlocking() }
    }
}
