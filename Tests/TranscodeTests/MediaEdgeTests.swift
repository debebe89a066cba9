import Foundation
import Testing
@testable import Transcode

/// Sources at the edges of what users upload, made with the ffmpeg CLI in the test (small and
/// short), each ending in a correct ladder or a typed error.
@Suite("Media edges")
struct MediaEdgeTests {
    /// Runs the ffmpeg CLI with `arguments` (inputs, filters, codecs) writing `name` in a temporary
    /// directory; returns the path.
    static func make(_ name: String, _ arguments: [String]) throws -> String {
        let path = Tools.tempDirectory("edge") + "/" + name
        let r = try Tools.run("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-nostdin"] + arguments + [path])
        guard r.status == 0 else { throw TestFailure("ffmpeg \(arguments): \(r.stderr)") }
        return path
    }

    static func removeAll(_ paths: String...) {
        for p in paths { try? FileManager.default.removeItem(atPath: (p as NSString).deletingLastPathComponent) }
    }

    /// MPEG-TS pieces of `seconds` each, their clocks starting at `starts`, joined byte for byte
    /// into one file (a restarted recorder, a broadcast clock reset).
    static func joinedTransportStream(starts: [Int], seconds: Int) throws -> String {
        let directory = Tools.tempDirectory("edge")
        var data = Data()
        for (i, start) in starts.enumerated() {
            let piece = directory + "/piece\(i).ts"
            let r = try Tools.run("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-nostdin", "-f", "lavfi", "-i", "testsrc2=size=192x144:rate=25",
                                             "-t", String(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                                             "-output_ts_offset", String(start), piece])
            guard r.status == 0, let bytes = FileManager.default.contents(atPath: piece) else { throw TestFailure("ffmpeg: \(r.stderr)") }
            data += bytes
        }
        let joined = directory + "/joined.ts"
        guard FileManager.default.createFile(atPath: joined, contents: data) else { throw TestFailure("cannot write \(joined)") }
        return joined
    }

    /// The error transcoding `path` ends in (nil: it succeeded); its output directory is removed.
    static func transcodeError(_ path: String) -> TranscodeError? {
        let dir = Tools.tempDirectory("edge-out")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = TranscodeOptions()
        options.ladder.rungs = [144]
        do { _ = try Transcoder(source: path, outputDirectory: dir, options: options).runBlocking(); return nil } catch { return error }
    }

    /// Start of the first non-silent audio in `path`, seconds (0 when it starts with sound).
    static func soundStart(_ path: String) throws -> Double {
        let r = try Tools.run("ffmpeg", ["-v", "info", "-nostats", "-i", path, "-map", "0:a:0", "-af", "silencedetect=n=-40dB:d=0.1", "-f", "null", "-"])
        let lines = r.stderr.split(separator: "\n")
        guard let start = lines.first(where: { $0.contains("silence_start:") }),
              let s = Double(start.split(separator: " ").last ?? ""), s < 0.05 else { return 0 }
        guard let end = lines.first(where: { $0.contains("silence_end:") }),
              let e = end.components(separatedBy: "silence_end: ").last?.split(separator: " ").first.flatMap({ Double($0) }) else { return .infinity }
        return e
    }

    @Test func aThousandFramesPerSecondIsItsFrameRateAndOverTheLimit() throws {
        let src = try Self.make("fps1000.mp4", ["-f", "lavfi", "-i", "testsrc2=size=192x144:rate=1000", "-t", "0.1",
                                                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"])
        defer { Self.removeAll(src) }
        var unlimited = TranscodeLimits.default
        unlimited.maxFrameRate = 10_000
        let info = try Prober.probe(src, limits: unlimited)
        #expect(abs((info.video?.frameRate ?? 0) - 1000) < 0.5)
        #expect(throws: TranscodeError.limitExceeded(path: src, what: "frame rate", value: 1000, limit: 240)) { try Prober.probe(src) }
        if case .limitExceeded(_, "frame rate", _, _)? = Self.transcodeError(src) {} else { Issue.record("a 1000 fps source must be refused by the frame rate limit") }
    }

    struct Offset: Sendable, CustomStringConvertible {
        var description: String
        /// Seconds the video or the audio is shifted late when muxed (stream copy keeps the shift).
        var videoDelay: String
        var audioDelay: String
        var container: String
        /// Where the sound must start in the output, relative to its first picture: the audio
        /// itself is 1 s of silence then a tone, so a video 1 s late must start on the tone.
        var soundStart: Double
    }

    static let offsets: [Offset] = [
        Offset(description: "audio starting 1 s after the video (mp4)", videoDelay: "0", audioDelay: "1", container: "mp4", soundStart: 2),
        Offset(description: "video starting 1 s after the audio (mp4)", videoDelay: "1", audioDelay: "0", container: "mp4", soundStart: 0),
        Offset(description: "video starting 1 s after the audio (mkv)", videoDelay: "1", audioDelay: "0", container: "mkv", soundStart: 0),
    ]

    @Test("audio and video that start at different times stay in sync", arguments: offsets)
    func startOffsetsKeepSync(_ c: Offset) throws {
        let video = try Self.make("v.mp4", ["-f", "lavfi", "-i", "testsrc2=size=192x144:rate=25", "-t", "3",
                                            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"])
        let audio = try Self.make("a.m4a", ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "3",
                                            "-af", "volume=enable='lt(t,1)':volume=0", "-c:a", "aac"])
        let src = try Self.make("offset." + c.container, ["-itsoffset", c.videoDelay, "-i", video, "-itsoffset", c.audioDelay, "-i", audio,
                                                         "-map", "0:v", "-map", "1:a", "-c", "copy"])
        defer { Self.removeAll(video, audio, src) }
        let (_, dir, _) = try TranscodeOutputTests.transcode(src, rungs: [144])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // One AAC frame (21 ms) plus the encoder's priming of slack.
        let mp4 = try Self.soundStart(dir + "/144p.mp4")
        #expect(abs(mp4 - c.soundStart) < 0.08, "sound starts at \(mp4) s in 144p.mp4")
        let hls = try Self.soundStart(dir + "/hls/audio/index.m3u8")
        #expect(abs(hls - c.soundStart) < 0.08, "sound starts at \(hls) s in the audio rendition")
    }

    @Test func anEmptyAudioTrackLeavesTheLadderWithoutAudio() throws {
        // A Matroska file whose audio track has no block at all (its video is whole).
        let src = try Self.make("silent-track.mkv", ["-f", "lavfi", "-i", "testsrc2=size=192x144:rate=25", "-f", "lavfi",
                                                     "-i", "sine=sample_rate=48000", "-t", "2", "-filter_complex", "[1:a]atrim=0:0[a]",
                                                     "-map", "0:v", "-map", "[a]", "-c:v", "libx264", "-preset", "ultrafast",
                                                     "-pix_fmt", "yuv420p", "-c:a", "aac"])
        defer { Self.removeAll(src) }
        let (result, dir, _) = try TranscodeOutputTests.transcode(src, rungs: [144])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let master = try String(contentsOfFile: dir + "/master.m3u8", encoding: .utf8)
        #expect(!master.contains("TYPE=AUDIO") && !master.contains("mp4a"), "\(master)")
        #expect(result.notes.contains { $0.contains("no sound") }, "\(result.notes)")
        #expect(result.dashManifest == "manifest.mpd", "\(result.notes)")
        let mpd = try String(contentsOfFile: dir + "/manifest.mpd", encoding: .utf8)
        #expect(!mpd.contains("audio"))
        let play = try Tools.run("ffmpeg", ["-v", "error", "-i", dir + "/master.m3u8", "-map", "0", "-f", "null", "-"])
        #expect(play.status == 0 && play.stderr.isEmpty, "\(play.stderr)")
    }

    @Test func aMatroskaFileCutInTheMiddleIsTruncated() throws {
        let whole = try Self.make("whole.mkv", ["-f", "lavfi", "-i", "testsrc2=size=192x144:rate=25", "-f", "lavfi",
                                                "-i", "sine=sample_rate=48000", "-t", "2", "-c:v", "libx264", "-preset", "ultrafast",
                                                "-pix_fmt", "yuv420p", "-c:a", "aac"])
        defer { Self.removeAll(whole) }
        let data = try #require(FileManager.default.contents(atPath: whole))
        let cut = (whole as NSString).deletingLastPathComponent + "/cut.mkv"
        #expect(FileManager.default.createFile(atPath: cut, contents: data.prefix(data.count / 2)))
        if case .truncated(_, let detail)? = Self.transcodeError(cut) {
            #expect(detail.contains("Matroska segment"), "\(detail)")
        } else {
            Issue.record("half a Matroska file must be refused as truncated, not published as a shorter video")
        }
        // The whole file, and the same with bytes appended, are fine.
        #expect(throws: Never.self) { try Prober.probe(whole) }
        let padded = (whole as NSString).deletingLastPathComponent + "/padded.mkv"
        #expect(FileManager.default.createFile(atPath: padded, contents: data + Data(repeating: 0, count: 4096)))
        #expect(throws: Never.self) { try Prober.probe(padded) }
        // A live recording's unknown segment size (as MediaRecorder writes) says nothing: not refused.
        let live = try Self.make("live.webm", ["-f", "lavfi", "-i", "testsrc2=size=192x144:rate=25", "-t", "1", "-c:v", "libvpx-vp9",
                                               "-deadline", "realtime", "-cpu-used", "8", "-live", "1"])
        defer { Self.removeAll(live) }
        #expect(throws: Never.self) { try Prober.probe(live) }
    }

    struct Discontinuity: Sendable, CustomStringConvertible {
        var description: String
        /// Where each 1 s MPEG-TS piece starts (s); the pieces are concatenated byte for byte.
        var starts: [Int]
    }

    static let discontinuities: [Discontinuity] = [
        Discontinuity(description: "a forward jump of 99 s", starts: [0, 100]),
        Discontinuity(description: "a step back of 11 s", starts: [10, 0]),
        Discontinuity(description: "a step back of 1 s", starts: [1, 0]),
    ]

    /// MPEG-TS joined from pieces (a recorder restarted, a broadcast's clock reset) is one
    /// continuous programme, as the ffmpeg CLI reads it: neither frozen on a 99 s frame nor cut.
    @Test("MPEG-TS timestamp discontinuities give a continuous ladder", arguments: discontinuities)
    func transportStreamDiscontinuities(_ c: Discontinuity) throws {
        let src = try Self.joinedTransportStream(starts: c.starts, seconds: 1)
        defer { Self.removeAll(src) }
        let (result, dir, _) = try TranscodeOutputTests.transcode(src, rungs: [144])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(result.framesDecoded == 50)
        let v = try #require(try Tools.streams(dir + "/144p.mp4", type: "video").first)
        #expect(v.int("nb_frames") == 50)
        #expect(abs((v.double("duration") ?? 0) - 2) < 0.05, "\(v.double("duration") ?? 0) s")
        let play = try Tools.run("ffmpeg", ["-v", "error", "-i", dir + "/master.m3u8", "-map", "0", "-f", "null", "-"])
        #expect(play.status == 0 && play.stderr.isEmpty, "\(play.stderr)")
    }

    /// Matroska stores no per-stream duration: a 1 s picture over 10 s of sound is probed as 10 s
    /// of video, and the poster's candidate times (10 %…70 %) all fall after its last frame.
    @Test func aVideoShorterThanItsDeclaredDurationStillGetsAPoster() throws {
        let video = try Self.make("v.mp4", ["-f", "lavfi", "-i", "testsrc2=size=192x144:rate=25", "-t", "1",
                                            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"])
        let audio = try Self.make("a.m4a", ["-f", "lavfi", "-i", "sine=sample_rate=48000", "-t", "10", "-c:a", "aac"])
        let src = try Self.make("short-picture.mkv", ["-i", video, "-i", audio, "-map", "0", "-map", "1", "-c", "copy"])
        defer { Self.removeAll(video, audio, src) }
        let (result, dir, sink) = try TranscodeOutputTests.transcode(src, rungs: [144])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(result.source.video.map { $0.duration > 5 } == true, "the premise: the probe sees 10 s of video")
        #expect(result.poster == "poster.jpg")
        let poster = try #require(try Tools.streams(dir + "/poster.jpg", type: "video").first)
        #expect(poster.int("width") == 192 && poster.int("height") == 144)
        #expect(sink.files.contains { $0.kind == .poster })
        #expect(try #require(result.posterTime) <= 1)
    }

    /// Rewrites the display matrix of the first track's `tkhd` (version 0) in an MP4.
    static func setDisplayMatrix(_ path: String, _ matrix: [Int32]) throws {
        let data = try #require(FileManager.default.contents(atPath: path))
        var b = [UInt8](data)
        let name: [UInt8] = Array("tkhd".utf8)
        let found = (0..<(b.count - 4)).first { (i: Int) -> Bool in Array(b[i..<(i + 4)]) == name }
        let tkhd = try #require(found)
        #expect(b[tkhd + 4] == 0, "tkhd version 0")
        // type, version+flags, creation, modification, track id, reserved, duration, reserved ×2, layer, group, volume, reserved
        let offset = tkhd + 4 + 4 + 4 + 4 + 4 + 4 + 4 + 8 + 2 + 2 + 2 + 2
        for (i, v) in matrix.enumerated() {
            let u = UInt32(bitPattern: v)
            for k in 0..<4 { b[offset + i * 4 + k] = UInt8(truncatingIfNeeded: u >> (24 - 8 * UInt32(k))) }
        }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(b)))
    }

    struct Mirror: Sendable, CustomStringConvertible {
        var description: String
        /// The filter that made the stored picture from the upright one, undone by `matrix`.
        var filter: String
        var matrix: [Int32]
    }

    static let mirrors: [Mirror] = [
        Mirror(description: "horizontal mirror", filter: "hflip", matrix: [-0x10000, 0, 0, 0, 0x10000, 0, 192 << 16, 0, 0x4000_0000]),
        Mirror(description: "vertical mirror", filter: "vflip", matrix: [0x10000, 0, 0, 0, -0x10000, 0, 0, 144 << 16, 0x4000_0000]),
        // Quarter turns with a mirror: the stored picture is 144x192, shown 192x144.
        Mirror(description: "transpose", filter: "transpose=cclock_flip", matrix: [0, 0x10000, 0, 0x10000, 0, 0, 0, 0, 0x4000_0000]),
        Mirror(description: "anti-transpose", filter: "transpose=clock_flip",
               matrix: [0, -0x10000, 0, -0x10000, 0, 0, 144 << 16, 192 << 16, 0x4000_0000]),
    ]

    /// A display matrix that mirrors (a front camera's) is undone exactly, not taken for a turn.
    @Test("a display matrix with a mirror gives the upright picture", arguments: mirrors)
    func mirroredDisplayMatrix(_ c: Mirror) throws {
        let upright = try Self.make("upright.mp4", ["-f", "lavfi", "-i", "testsrc2=size=192x144:rate=25", "-t", "0.4",
                                                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"])
        let src = try Self.make("stored.mp4", ["-i", upright, "-vf", c.filter, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"])
        defer { Self.removeAll(upright, src) }
        try Self.setDisplayMatrix(src, c.matrix)
        let info = try Prober.probe(src)
        #expect(info.video?.displayWidth == 192 && info.video?.displayHeight == 144)
        let (_, dir, _) = try TranscodeOutputTests.transcode(src, rungs: [144])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try Tools.run("ffmpeg", ["-v", "info", "-nostats", "-i", dir + "/144p.mp4", "-i", upright, "-lavfi", "[0:v][1:v]ssim", "-f", "null", "-"])
        let line = try #require(r.stderr.split(separator: "\n").first { $0.contains("SSIM") && $0.contains("All:") })
        let all = try #require(Double(line.split(separator: " ").first { $0.hasPrefix("All:") }!.dropFirst(4)))
        #expect(all > 0.9, "SSIM against the upright picture: \(all)")
    }

    /// The sample aspect ratio stretches the picture the rungs are sized from: 320x240 at SAR 100:1
    /// is 32000 pixels wide on screen. The limits bound what is encoded, so they see that size
    /// (it used to reach x264 and fail as a "generic error in an external library", a transient
    /// error the worker retries).
    @Test func aStretchingSampleAspectRatioMeetsTheSizeLimits() throws {
        let src = try Self.make("sar.mp4", ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "0.2", "-vf", "setsar=100/1",
                                            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"])
        defer { Self.removeAll(src) }
        #expect(throws: TranscodeError.limitExceeded(path: src, what: "display width or height (sample aspect ratio applied)", value: 32000, limit: 8192)) {
            try Prober.probe(src)
        }
        if case .limitExceeded? = Self.transcodeError(src) {} else { Issue.record("SAR 100:1 must meet the size limits") }
        // The same stretch within bounds (SAR 2:1, 640x240 on screen) is planned from its display size.
        let fine = try Self.make("sar2.mp4", ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "0.2", "-vf", "setsar=2/1",
                                              "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"])
        defer { Self.removeAll(fine) }
        let (result, dir, _) = try TranscodeOutputTests.transcode(fine, rungs: [144])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(result.plan.rungs.map { "\($0.width)x\($0.height)" } == ["384x144"])
    }

    /// A transport stream picked up mid-GOP (a DVB recording, a cut capture): its first pictures
    /// cannot be decoded, so the rungs start at the first keyframe, and the sound must start on
    /// that timeline too, not on the first (undecodable) video packet's.
    @Test func aTransportStreamCutMidGOPKeepsSoundOnThePicture() throws {
        let whole = try Self.make("gop.ts", ["-f", "lavfi", "-i", "testsrc2=size=192x144:rate=25", "-f", "lavfi", "-i", "sine=sample_rate=48000",
                                             "-t", "5", "-af", "volume=enable='lt(t,3)':volume=0", "-c:v", "libx264", "-preset", "ultrafast",
                                             "-pix_fmt", "yuv420p", "-g", "50", "-keyint_min", "50", "-sc_threshold", "0", "-c:a", "aac"])
        defer { Self.removeAll(whole) }
        // Drop the first fifth, on a 188-byte packet boundary: the video resumes mid-GOP.
        let data = try #require(FileManager.default.contents(atPath: whole))
        let cut = (whole as NSString).deletingLastPathComponent + "/cut.ts"
        #expect(FileManager.default.createFile(atPath: cut, contents: data.dropFirst(data.count / 5 / 188 * 188)))
        // Where the first keyframe and the sound are in the cut file (the ffmpeg CLI's reading).
        let keys = try Tools.keyframeTimes(cut)
        let firstKey = try #require(keys.first)
        let sound = try Tools.run("ffmpeg", ["-v", "info", "-nostats", "-copyts", "-i", cut, "-map", "0:a", "-af", "silencedetect=n=-40dB:d=0.1", "-f", "null", "-"])
        let end = try #require(sound.stderr.split(separator: "\n").first { $0.contains("silence_end:") })
        let soundAt = try #require(end.components(separatedBy: "silence_end: ").last?.split(separator: " ").first.flatMap { Double($0) })
        let (result, dir, _) = try TranscodeOutputTests.transcode(cut, rungs: [144])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(result.framesDecoded > 0)
        let got = try Self.soundStart(dir + "/144p.mp4")
        #expect(abs(got - (soundAt - firstKey)) < 0.08, "sound at \(got) s, the picture says \(soundAt - firstKey) s")
    }

    /// A recording paused for 42 s (an MP4 that keeps its timestamps): 25 fps pictures, but an
    /// average of 6.9 fps. The rungs are planned from the rate the pictures really come at: HLS's
    /// FRAME-RATE is the maximum (RFC 8216 §4.3.4.2), and x264's keyframe bound, taken from the
    /// average, added a keyframe every 28 frames (1.12 s) between the forced 2 s ones.
    @Test func aPausedRecordingIsPlannedFromItsRealFrameRate() throws {
        let joined = try Self.joinedTransportStream(starts: [0, 50], seconds: 8)
        // -copyts: the MP4 keeps the 42 s pause (the CLI would otherwise close it up).
        let src = try Self.make("paused.mp4", ["-copyts", "-i", joined, "-c", "copy"])
        defer { Self.removeAll(joined, src) }
        let info = try Prober.probe(src)
        #expect(info.video?.variableFrameRate == true && (info.video?.frameRate ?? 0) < 10, "the premise: a low average")
        let (result, dir, _) = try TranscodeOutputTests.transcode(src, rungs: [144])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(result.plan.rungs.map(\.frameRate) == [25])
        let master = try String(contentsOfFile: dir + "/master.m3u8", encoding: .utf8)
        #expect(master.contains("FRAME-RATE=25.000"), "\(master)")
        // Keyframes only where forced: 0, 2, 4, 6 s, then the first picture after the pause and every 2 s on.
        let keys = try Tools.keyframeTimes(dir + "/144p.mp4")
        #expect(keys.count == 8, "\(keys)")
        for (a, b) in zip(keys, keys.dropFirst()) { #expect(b - a >= 1.99, "keyframes \(a) and \(b)") }
    }
}
