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

    static func transcodeError(_ path: String) -> TranscodeError? {
        do { _ = try TranscodeOutputTests.transcode(path, rungs: [144]); return nil } catch let e as TranscodeError { return e } catch { return nil }
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
}
