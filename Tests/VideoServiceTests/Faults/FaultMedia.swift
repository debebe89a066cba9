import Foundation
import TestSupport

/// Sources for the fault scenarios: clips made once per machine with ffmpeg (cached in the
/// temporary directory, like `EndToEndTests.longSource`), and bad media made from bytes.
enum FaultMedia {
    /// A clip of `seconds` at 640×360 (a three-rung ladder: 360p, 240p, 144p) with audio: a job
    /// of about two seconds per three seconds of clip in a debug build, long enough to be killed
    /// in the middle, short enough for batches.
    ///
    /// `noisy`: lossless frames of noise, about 10 MB a second — over S3Lite's 16 MiB multipart
    /// threshold from two seconds on, so its upload is a multipart upload and its download
    /// several ranged GETs.
    static func clip(seconds: Int, noisy: Bool = false) async throws -> String {
        let path = NSTemporaryDirectory() + "vidd-fault-clip-\(seconds)s\(noisy ? "-noisy" : "").mp4"
        if FileManager.default.fileExists(atPath: path) { return path }
        let tmp = path + ".\(getpid()).mp4"
        let encoding = noisy ? ["-vf", "noise=alls=30:allf=t", "-qp", "0"] : []
        let r = try await TestProcess.run([
            "ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=\(seconds)",
            "-f", "lavfi", "-i", "sine=frequency=440:duration=\(seconds)", "-c:v", "libx264", "-preset", "ultrafast"]
            + encoding + ["-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", tmp])
        guard r.status == 0 else { throw ServiceUnderTest.Failure("ffmpeg: \(String(decoding: r.errorOutput, as: UTF8.self))") }
        _ = rename(tmp, path)
        return path
    }

    /// The rungs every clip above gets.
    static let clipHeights = [360, 240, 144]

    /// `count` random bytes in a file named `.mp4`.
    static func randomBytes(count: Int, name: String) throws -> String {
        let path = NSTemporaryDirectory() + name
        var bytes = [UInt8](repeating: 0, count: count)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A real MP4's `ftyp` box, then a `moov` box whose 64-bit size declares 2^62 bytes, then a
    /// few bytes: a file that claims to be enormous and is tiny.
    static func hugeDeclaredSize(name: String) throws -> String {
        let source = try Data(contentsOf: URL(fileURLWithPath: ServiceUnderTest.fixture("no_audio.mp4")))
        let ftypSize = Int(source[0]) << 24 | Int(source[1]) << 16 | Int(source[2]) << 8 | Int(source[3])
        var bytes = [UInt8](source.prefix(ftypSize))
        bytes += [0, 0, 0, 1] + Array("moov".utf8)            // size 1: the 64-bit size follows
        bytes += [0x40, 0, 0, 0, 0, 0, 0, 0]                   // 2^62
        bytes += Array(source.dropFirst(ftypSize).prefix(256))
        let path = NSTemporaryDirectory() + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}
