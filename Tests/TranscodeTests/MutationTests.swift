import Foundation
import Testing
@testable import Transcode

/// Randomly damaged copies of fixtures (bytes flipped, runs overwritten, truncated) must never crash
/// the probe or the transcoder: each ends in a result or a typed error.
///
/// In the suite: all 300 mutants are probed; a subset (VIDD_MUTATION_TRANSCODES, default 24, all
/// with one 144p rung) is transcoded to keep the suite fast on 2 cores. `scripts/mutation-transcode.sh`
/// runs the full 300 through the transcoder.
@Suite("Mutations")
struct MutationTests {
    /// SplitMix64: reproducible mutants from a seed.
    struct SeededRandom: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func mutant(of data: [UInt8], seed: UInt64) -> [UInt8] {
        var rng = SeededRandom(state: seed)
        var b = data
        switch seed % 4 {
        case 0:  // flip a few random bytes
            for _ in 0..<Int.random(in: 1...16, using: &rng) { b[Int.random(in: 0..<b.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng) }
        case 1:  // overwrite a run with random bytes
            let start = Int.random(in: 0..<b.count, using: &rng)
            for i in start..<min(b.count, start + Int.random(in: 1...512, using: &rng)) { b[i] = UInt8.random(in: 0...255, using: &rng) }
        case 2:  // truncate
            b = Array(b.prefix(Int.random(in: 0..<b.count, using: &rng)))
        default:  // flips in the first 4 KiB (headers, index) and a truncation
            for _ in 0..<Int.random(in: 1...8, using: &rng) { b[Int.random(in: 0..<min(4096, b.count), using: &rng)] ^= UInt8.random(in: 1...255, using: &rng) }
            b = Array(b.prefix(Int.random(in: b.count / 2..<b.count, using: &rng)))
        }
        return b
    }

    static let fixtures = ["landscape_720p.mp4", "no_audio.mp4", "vp9_opus.webm", "hevc_10bit.mp4", "audio_only.m4a"]

    static func write(_ bytes: [UInt8], _ name: String) -> String {
        let path = NSTemporaryDirectory() + "vidd-mutant-\(UUID().uuidString.prefix(8))-\(name)"
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    @Test func threeHundredMutantsNeverCrashTheProbe() throws {
        var outcomes: [String: Int] = [:]
        for seed in UInt64(1)...300 {
            let name = Self.fixtures[Int(seed) % Self.fixtures.count]
            let data = [UInt8](try #require(FileManager.default.contents(atPath: Fixture.path(name))))
            let path = Self.write(Self.mutant(of: data, seed: seed), name)
            defer { try? FileManager.default.removeItem(atPath: path) }
            do {
                _ = try Prober.probe(path)
                outcomes["ok", default: 0] += 1
            } catch {
                outcomes[String(describing: error).components(separatedBy: ":").dropFirst().first?.trimmingCharacters(in: .whitespaces).components(separatedBy: " ").prefix(3).joined(separator: " ") ?? "error", default: 0] += 1
            }
        }
        #expect(outcomes.values.reduce(0, +) == 300)
        #expect((outcomes["ok"] ?? 0) > 0)
    }

    @Test func mutantsNeverCrashTheTranscoder() throws {
        let count = Int(ProcessInfo.processInfo.environment["VIDD_MUTATION_TRANSCODES"] ?? "") ?? 24
        var ok = 0, failed = 0
        for seed in UInt64(1)...UInt64(count) {
            let name = Self.fixtures[Int(seed) % Self.fixtures.count]
            let data = [UInt8](try #require(FileManager.default.contents(atPath: Fixture.path(name))))
            let path = Self.write(Self.mutant(of: data, seed: seed), name)
            let dir = Tools.tempDirectory("mutant")
            defer { try? FileManager.default.removeItem(atPath: path); try? FileManager.default.removeItem(atPath: dir) }
            var options = TranscodeOptions()
            options.ladder.rungs = [144]
            do {
                _ = try Transcoder(source: path, outputDirectory: dir, options: options).runBlocking()
                ok += 1
            } catch {
                #expect(!error.description.isEmpty)
                failed += 1
            }
        }
        #expect(ok + failed == count)
    }
}
