import Foundation
import Testing
import TestSupport
@testable import WebAppEmbedder

/// The build tool's gzip, decompressed by gzip(1) and Python's zlib: what the web app's files go
/// through at build time, with the inputs that stress a DEFLATE encoder.
///
/// Compressing is seconds of CPU in a debug build: it runs on a thread of its own (never on the
/// cooperative pool, whose two threads every other test's I/O needs) and one case at a time.
@Suite(.serialized) struct DeflateTests {
    static func gzip(_ input: [UInt8]) async -> [UInt8] {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: Deflate.gzip(input)) }
        }
    }

    static func pseudoRandom(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
    }

    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let inputs: [(String, [UInt8])] = [
        ("empty", []),
        ("one byte", [0x61]),
        ("two bytes", [0, 255]),
        ("every byte value", (0...255).map { UInt8($0) }),
        ("100 000 zeros (maximal matches)", [UInt8](repeating: 0, count: 100_000)),
        ("repeated phrase", Array(String(repeating: "the quick brown fox jumps over the lazy dog. ", count: 2_000).utf8)),
        ("random 70 000 bytes (incompressible, two blocks of tokens)", pseudoRandom(70_000, seed: 7)),
        ("text with a short alphabet", pseudoRandom(100_000, seed: 3).map { UInt8(ascii: "a") + $0 % 4 }),
        ("UTF-8 text", Array(String(repeating: "Grüße, 東京 — ½ 🎬\n", count: 500).utf8)),
        ("long distances", (0..<40_000).map { UInt8(truncatingIfNeeded: $0 % 32_771) } + pseudoRandom(1_000, seed: 9)),
    ]

    @Test(arguments: inputs.indices)
    func gzipOneDecompressesToTheInput(_ index: Int) async throws {
        let (name, input) = Self.inputs[index]
        let compressed = await Self.gzip(input)
        let r = try await TestProcess.run(["gzip", "-dc"], stdin: Data(compressed))
        #expect(r.status == 0, "\(name): gzip -dc said \(String(decoding: r.errorOutput, as: UTF8.self))")
        #expect([UInt8](r.output) == input, "\(name): \(r.output.count) bytes back, \(input.count) in")
        let check = try await TestProcess.run(["python3", "-c", "import sys, zlib; d = sys.stdin.buffer.read(); sys.stdout.buffer.write(zlib.decompress(d, 31))"],
                                              stdin: Data(compressed))
        #expect(check.status == 0 && [UInt8](check.output) == input, "\(name): zlib: \(String(decoding: check.errorOutput, as: UTF8.self))")
    }

    @Test func compressesTextLikeGzipDoes() async throws {
        let text = Array(String(repeating: "function render(video) { return video.title ?? video.original_name; }\n", count: 300).utf8)
        let ours = await Self.gzip(text).count
        let theirs = try await TestProcess.run(["gzip", "-9nc"], stdin: Data(text)).output.count
        #expect(ours < text.count / 10, "\(ours) of \(text.count)")
        #expect(Double(ours) < Double(theirs) * 1.5, "ours \(ours), gzip -9 \(theirs)")
    }

    /// The app's own files, as the build compresses them.
    @Test func theWebAppFilesRoundTrip() async throws {
        let root = Self.repoRoot.appendingPathComponent("Sources/VideoAPI/WebApp/static")
        let files = try WebAppFiles.list(root)
        #expect(files.contains("index.html") && files.contains("favicon.ico"), "\(files)")
        for path in files {
            let bytes = [UInt8](try Data(contentsOf: root.appendingPathComponent(path)))
            let r = try await TestProcess.run(["gzip", "-dc"], stdin: Data(await Self.gzip(bytes)))
            #expect(r.status == 0 && [UInt8](r.output) == bytes, "\(path)")
        }
    }

    @Test func codeLengthsStayWithinTheLimit() {
        // Fibonacci frequencies make the deepest possible Huffman tree.
        var fib = [1, 1]
        while fib.count < 30 { fib.append(fib[fib.count - 1] + fib[fib.count - 2]) }
        let lengths = Huffman.lengths(fib, limit: 15)
        #expect(lengths.max()! <= 15)
        // Kraft: a complete prefix code.
        let kraft = lengths.filter { $0 > 0 }.reduce(0.0) { $0 + pow(2.0, -Double($1)) }
        #expect(abs(kraft - 1) < 1e-12, "\(lengths)")
        #expect(Huffman.lengths([0, 0, 5], limit: 7).filter { $0 > 0 }.count == 2, "one used symbol still gets a complete code")
    }
}
