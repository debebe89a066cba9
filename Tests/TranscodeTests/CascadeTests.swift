import Foundation
import Testing
@testable import Transcode

/// Cascade scaling end to end: rungs scaled from a larger rung's picture come out at their planned
/// sizes, with every frame they should have, keyframes at the same instants as the rung feeding
/// them, and pictures that match scaling straight from the source (checked with ffprobe/ffmpeg).
@Suite("Cascade scaling")
struct CascadeTests {
    static func transcode(_ file: String, rungs: [Int], cascade: Bool) throws -> (TranscodeResult, String) {
        let dir = Tools.tempDirectory(cascade ? "cascade" : "direct")
        var options = TranscodeOptions()
        options.ladder.rungs = rungs
        options.ladder.cascade = cascade
        options.ladder.preset = "ultrafast"
        options.thumbnails = false
        let t = Transcoder(source: file, outputDirectory: dir, options: options, sink: DirectorySink(directory: dir))
        return (try t.runBlocking(), dir)
    }

    static func frameCount(_ path: String) throws -> Int {
        try Tools.run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts",
                                  "-of", "csv=p=0", path]).stdout.split(separator: "\n").count
    }

    static func ssim(_ a: String, _ b: String) throws -> Double {
        let r = try Tools.run("ffmpeg", ["-v", "info", "-nostats", "-i", a, "-i", b, "-lavfi", "[0:v][1:v]ssim", "-f", "null", "-"])
        let line = try #require(r.stderr.split(separator: "\n").first { $0.contains("SSIM") && $0.contains("All:") })
        return try #require(Double(line.split(separator: " ").first { $0.hasPrefix("All:") }!.dropFirst(4)))
    }

    /// A 1000x800 60 fps source: 720p (900x720) keeps 60 fps and feeds 360p (450x360) at 30 fps,
    /// which feeds 144p (180x144): a two-level cascade with decimation in between.
    @Test func cascadedRungsHavePlannedSizesFramesAndAlignedKeyframes() throws {
        let clip = try Tools.makeClip(seconds: 5, size: "1000x800", rate: 60)
        defer { try? FileManager.default.removeItem(atPath: clip) }
        let (result, dir) = try Self.transcode(clip, rungs: [720, 360, 144], cascade: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(result.plan.rungs.map(\.scaledFrom) == [nil, 0, 1])
        #expect(result.plan.rungs.map(\.frameRateDivisor) == [1, 2, 2])
        let sourceFrames = try Self.frameCount(clip)
        #expect(sourceFrames == 300)
        var keySets: [[Int]] = []
        for (rung, size) in zip(result.plan.rungs, ["900x720", "450x360", "180x144"]) {
            let mp4 = dir + "/\(rung.name).mp4"
            let v = try #require(try Tools.streams(mp4, type: "video").first)
            #expect("\(v.int("width") ?? 0)x\(v.int("height") ?? 0)" == size, "\(rung.name)")
            #expect(v.string("pix_fmt") == "yuv420p")
            #expect(try Self.frameCount(mp4) == sourceFrames / rung.frameRateDivisor, "\(rung.name)")
            let d = try #require(v.double("duration"))
            #expect(abs(d - 5) <= 1 / rung.frameRate + 1e-3, "\(rung.name): \(d) s")
            let keys = try Tools.keyframeTimes(mp4).map { Int(($0 * 1000).rounded()) }
            #expect(keys == [0, 2000, 4000], "\(rung.name): \(keys)")
            keySets.append(keys)
            let hls = try #require(try Tools.streams(dir + "/hls/\(rung.name)/index.m3u8", type: "video").first)
            #expect(hls.int("width") == v.int("width"))
        }
        #expect(Set(keySets).count == 1)
        let play = try Tools.run("ffmpeg", ["-v", "error", "-i", dir + "/master.m3u8", "-map", "0", "-f", "null", "-"])
        #expect(play.status == 0 && play.stderr.isEmpty, "\(play.stderr)")
    }

    /// The same rungs scaled from the source and through the cascade are the same pictures up to
    /// the scalers' rounding (both bicubic): SSIM between the two encodes close to 1.
    @Test func cascadedPicturesMatchScalingFromTheSource() throws {
        let clip = try Tools.makeClip(seconds: 2, size: "1280x720", rate: 30, audio: false)
        defer { try? FileManager.default.removeItem(atPath: clip) }
        let (cascaded, c) = try Self.transcode(clip, rungs: [360, 240, 144], cascade: true)
        defer { try? FileManager.default.removeItem(atPath: c) }
        let (direct, d) = try Self.transcode(clip, rungs: [360, 240, 144], cascade: false)
        defer { try? FileManager.default.removeItem(atPath: d) }
        #expect(cascaded.plan.rungs.map(\.scaledFrom) == [nil, 0, 1])
        #expect(direct.plan.rungs.map(\.scaledFrom) == [nil, nil, nil])
        #expect(cascaded.plan.rungs.map { "\($0.width)x\($0.height)" } == direct.plan.rungs.map { "\($0.width)x\($0.height)" })
        for name in ["240p", "144p"] {
            let s = try Self.ssim(c + "/\(name).mp4", d + "/\(name).mp4")
            #expect(s > 0.97, "\(name): SSIM cascade vs direct \(s)")
        }
        // 360p is scaled from the source either way: the same encode.
        #expect(try Self.ssim(c + "/360p.mp4", d + "/360p.mp4") > 0.9999)
    }
}
