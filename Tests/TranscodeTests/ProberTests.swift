import Testing
@testable import Transcode

@Suite("Prober")
struct ProberTests {
    struct Expected: Sendable, CustomStringConvertible {
        var file: String
        var container: String
        var video: (codec: String, profile: String, pixFmt: String, depth: Int, coded: (Int, Int), display: (Int, Int),
                    rotation: Int, fps: Double, frames: Int64, estimated: Bool, vfr: Bool)?
        var audio: (codec: String, rate: Int, channels: Int, layout: String)?
        var duration: Double
        var description: String { file }
    }

    static let cases: [Expected] = [
        Expected(file: "landscape_720p.mp4", container: "mov,mp4,m4a,3gp,3g2,mj2",
                 video: ("h264", "High", "yuv420p", 8, (1280, 720), (1280, 720), 0, 30, 60, false, false),
                 audio: ("aac", 48000, 2, "stereo"), duration: 2.0),
        Expected(file: "portrait_rotated.mp4", container: "mov,mp4,m4a,3gp,3g2,mj2",
                 video: ("h264", "High", "yuv420p", 8, (640, 360), (360, 640), 90, 30, 60, false, false),
                 audio: ("aac", 44100, 1, "mono"), duration: 2.0),
        Expected(file: "no_audio.mp4", container: "mov,mp4,m4a,3gp,3g2,mj2",
                 video: ("h264", "High", "yuv420p", 8, (320, 240), (320, 240), 0, 25, 50, false, false),
                 audio: nil, duration: 2.0),
        Expected(file: "audio_only.m4a", container: "mov,mp4,m4a,3gp,3g2,mj2", video: nil,
                 audio: ("aac", 48000, 2, "stereo"), duration: 2.0),
        Expected(file: "vp9_opus.webm", container: "matroska,webm",
                 video: ("vp9", "Profile 0", "yuv420p", 8, (320, 180), (320, 180), 0, 24, 48, true, false),
                 audio: ("opus", 48000, 2, "stereo"), duration: 2.008),
        Expected(file: "hevc_10bit.mp4", container: "mov,mp4,m4a,3gp,3g2,mj2",
                 video: ("hevc", "Main 10", "yuv420p10le", 10, (320, 240), (320, 240), 0, 30, 60, false, false),
                 audio: ("aac", 48000, 2, "stereo"), duration: 2.0),
        Expected(file: "vfr.mp4", container: "mov,mp4,m4a,3gp,3g2,mj2",
                 video: ("h264", "High", "yuv420p", 8, (320, 240), (320, 240), 0, 200.0 / 9, 40, false, true),
                 audio: nil, duration: 1.934),
    ]

    @Test("probe fields match the fixture's known values", arguments: cases)
    func probeFields(_ e: Expected) throws {
        let info = try Prober.probe(Fixture.path(e.file))
        #expect(info.container == e.container)
        #expect(abs(info.duration - e.duration) < 0.01)
        #expect(info.sizeBytes > 0)
        #expect(info.bitRate > 0)
        if let v = e.video {
            let got = try #require(info.video)
            #expect(got.codec == v.codec)
            #expect(got.profile == v.profile)
            #expect(got.pixelFormat == v.pixFmt)
            #expect(got.bitDepth == v.depth)
            #expect(got.chroma == "4:2:0")
            #expect(got.codedWidth == v.coded.0 && got.codedHeight == v.coded.1)
            #expect(got.displayWidth == v.display.0 && got.displayHeight == v.display.1)
            #expect(got.rotation == v.rotation)
            #expect(abs(got.frameRate - v.fps) < 0.01)
            #expect(got.frameCount == v.frames)
            #expect(got.frameCountEstimated == v.estimated)
            #expect(got.variableFrameRate == v.vfr)
            #expect(got.sampleAspectRatio == Rational(1, 1))
            #expect(got.fieldOrder == "progressive" || got.fieldOrder == "unknown")
        } else {
            #expect(info.video == nil)
        }
        if let a = e.audio {
            let got = try #require(info.audio)
            #expect(got.codec == a.codec)
            #expect(got.sampleRate == a.rate)
            #expect(got.channels == a.channels)
            #expect(got.channelLayout == a.layout)
        } else {
            #expect(info.audio == nil)
        }
        // JSON output round-trips.
        let json = info.jsonString()
        #expect(json.contains("\"container\""))
    }

    @Test func emptyFileIsTyped() {
        #expect(throws: TranscodeError.emptyFile(path: Fixture.path("empty.mp4"))) { try Prober.probe(Fixture.path("empty.mp4")) }
    }

    @Test func textFileNamedMP4IsNotMedia() {
        do {
            _ = try Prober.probe(Fixture.path("not_video.mp4"))
            Issue.record("expected notMedia")
        } catch {
            guard case .notMedia(let p, _) = error else { Issue.record("got \(error)"); return }
            #expect(p == Fixture.path("not_video.mp4"))
        }
    }

    @Test func truncatedFileIsTyped() {
        do {
            _ = try Prober.probe(Fixture.path("truncated.mp4"))
            Issue.record("expected truncated")
        } catch {
            guard case .truncated(_, let detail) = error else { Issue.record("got \(error)"); return }
            #expect(detail.contains("mdat"))
            #expect(error.description.contains("truncated"))
        }
    }

    @Test func missingFileIsTyped() {
        #expect(throws: TranscodeError.fileNotFound(path: "/nonexistent/x.mp4")) { try Prober.probe("/nonexistent/x.mp4") }
    }

    @Test func limitsAreEnforced() {
        let limits = TranscodeLimits(maxWidth: 640)
        do {
            _ = try Prober.probe(Fixture.path("landscape_720p.mp4"), limits: limits)
            Issue.record("expected limitExceeded")
        } catch {
            #expect(error == .limitExceeded(path: Fixture.path("landscape_720p.mp4"), what: "width", value: 1280, limit: 640))
        }
        do {
            _ = try Prober.probe(Fixture.path("no_audio.mp4"), limits: TranscodeLimits(maxDuration: 1))
            Issue.record("expected limitExceeded")
        } catch {
            guard case .limitExceeded(_, let what, _, _) = error else { Issue.record("got \(error)"); return }
            #expect(what.hasPrefix("duration"))
        }
    }

    @Test func truncatedMoovFirstFileIsDetected() throws {
        // A faststart file cut in its media data: the index opens but points past the end.
        let data = try #require(FileManager.default.contents(atPath: Fixture.path("landscape_720p.mp4")))
        let path = NSTemporaryDirectory() + "vidd-cut-\(UUID().uuidString.prefix(8)).mp4"
        #expect(FileManager.default.createFile(atPath: path, contents: data.prefix(data.count / 2)))
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try Prober.probe(path)
            Issue.record("expected truncated")
        } catch {
            guard case .truncated = error else { Issue.record("got \(error)"); return }
        }
    }
}
import Foundation
