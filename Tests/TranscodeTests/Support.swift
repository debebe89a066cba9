import Foundation
import TestSupport
import Testing
@testable import Transcode

/// Paths of the committed fixtures and helpers that check outputs with the ffmpeg CLI tools
/// (an independent implementation, run as subprocesses).
enum Fixture {
    static let directory: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("Fixtures").path
    }()
    static func path(_ name: String) -> String { directory + "/" + name }
}

enum Tools {
    struct Output { let status: Int32; let stdout: String; let stderr: String }

    @discardableResult
    static func run(_ tool: String, _ args: [String]) throws -> Output {
        // posix_spawn + waitpid (TestProcess): Foundation's waitUntilExit can spin forever on
        // the cooperative pool.
        let r = try TestProcess.runSync(["/usr/bin/" + tool] + args)
        return Output(status: r.status, stdout: String(decoding: r.output, as: UTF8.self),
                      stderr: String(decoding: r.errorOutput, as: UTF8.self))
    }

    /// ffprobe's JSON for streams and format.
    static func probe(_ path: String) throws -> [String: Any] {
        let r = try run("ffprobe", ["-v", "error", "-print_format", "json", "-show_streams", "-show_format", path])
        return (try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any] ?? [:]
    }

    static func streams(_ path: String, type: String) throws -> [[String: Any]] {
        let all = (try probe(path)["streams"] as? [[String: Any]]) ?? []
        return all.filter { $0["codec_type"] as? String == type }
    }

    /// Presentation times of the video keyframes, in seconds.
    static func keyframeTimes(_ path: String) throws -> [Double] {
        let r = try run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags",
                                    "-of", "csv=p=0", path])
        return r.stdout.split(separator: "\n").compactMap { line -> Double? in
            let parts = line.split(separator: ",")
            guard parts.count >= 2, parts[1].contains("K") else { return nil }
            return Double(parts[0])
        }.sorted()
    }

    /// Generates a synthetic clip with the ffmpeg CLI (for tests that need more than 2 s).
    static func makeClip(seconds: Int, size: String = "320x240", rate: Int = 30, audio: Bool = true) throws -> String {
        let path = NSTemporaryDirectory() + "vidd-clip-\(seconds)s-\(size)-\(rate)-\(audio)-\(UUID().uuidString.prefix(8)).mp4"
        var args = ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=\(size):rate=\(rate)"]
        if audio { args += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"] }
        args += ["-t", String(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-crf", "30", "-pix_fmt", "yuv420p"]
        if audio { args += ["-c:a", "aac", "-b:a", "48k"] }
        args.append(path)
        let r = try run("ffmpeg", args)
        guard r.status == 0 else { throw TestFailure(r.stderr) }
        return path
    }

    /// Decodes the streams `map` selects from `input` to the end: frames (video), seconds of
    /// output, and what ffmpeg said at level error.
    static func decodeToEnd(_ input: String, map: String, arguments: [String] = []) throws -> (frames: Int, seconds: Double, errors: String) {
        let r = try run("ffmpeg", ["-v", "error", "-nostdin"] + arguments + ["-i", input, "-map", map, "-f", "null", "-", "-progress", "pipe:1"])
        func last(_ key: String) -> String? {
            r.stdout.split(separator: "\n").last { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
        }
        let micros = last("out_time_us").flatMap { Double($0) } ?? 0
        return (Int(last("frame") ?? "") ?? 0, micros / 1e6, r.status == 0 ? r.stderr : "exit \(r.status): \(r.stderr)")
    }

    static func tempDirectory(_ name: String) -> String {
        let d = NSTemporaryDirectory() + "vidd-test-\(name)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

extension Dictionary where Key == String, Value == Any {
    func int(_ k: String) -> Int? { (self[k] as? Int) ?? (self[k] as? String).flatMap { Int($0) } }
    func double(_ k: String) -> Double? { (self[k] as? Double) ?? (self[k] as? String).flatMap { Double($0) } }
    func string(_ k: String) -> String? { self[k] as? String }
}

/// Top-level ISO BMFF box types in file order.
func topLevelBoxes(_ path: String) -> [String] {
    guard let data = FileManager.default.contents(atPath: path) else { return [] }
    let b = [UInt8](data)
    var types: [String] = []
    var off = 0
    while off + 8 <= b.count {
        var size = Int(b[off]) << 24 | Int(b[off + 1]) << 16 | Int(b[off + 2]) << 8 | Int(b[off + 3])
        let type = String(decoding: b[off + 4..<off + 8], as: UTF8.self)
        if size == 1, off + 16 <= b.count { size = b[off + 8..<off + 16].reduce(0) { $0 << 8 | Int($1) } }
        if size == 0 { size = b.count - off }
        guard size >= 8 else { break }
        types.append(type)
        off += size
    }
    return types
}
