import Foundation
import Glibc

/// The one-shot `vidd transcode` / `vidd probe` commands (no services needed). main.swift parses
/// arguments; this runs them and renders progress on a terminal.
public enum TranscodeCommand {
    /// Returns the process exit code.
    public static func probe(_ path: String) -> Int32 {
        do {
            print(try Prober.probe(path).jsonString())
            return 0
        } catch {
            printError("vidd: \(error)")
            return 1
        }
    }

    public static func transcode(source: String, outputDirectory: String, preset: String?, rungs: [Int]?) -> Int32 {
        var options = TranscodeOptions()
        if let preset { options.ladder.preset = preset }
        options.ladder.rungs = rungs
        // VIDD_TRANSCODE_CASCADE=0 scales every rung from the source (the benchmark compares both).
        if let v = ProcessInfo.processInfo.environment["VIDD_TRANSCODE_CASCADE"] { options.ladder.cascade = !(v == "0" || v == "false") }
        // Threads are planned for this machine's cores; VIDD_TRANSCODE_CORES=N plans for N (the batch
        // benchmark gives each of K jobs at once cores / K, as the worker does).
        options.ladder.cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        if let v = ProcessInfo.processInfo.environment["VIDD_TRANSCODE_CORES"] {
            guard let n = Int(v), n >= 1 else {
                printError("vidd: VIDD_TRANSCODE_CORES must be a whole number ≥ 1 (got '\(v)')")
                return 2
            }
            options.ladder.cores = n
        }
        let interactive = isatty(STDERR_FILENO) != 0
        let transcoder = Transcoder(source: source, outputDirectory: outputDirectory, options: options,
                                    sink: DirectorySink(directory: outputDirectory),
                                    progress: { p in renderProgress(p, interactive: interactive) })
        do {
            let r = try transcoder.runBlocking()
            if interactive { printError("") }
            let rungs = r.plan.rungs.map { rung in
                "\(rung.name) \(rung.width)x\(rung.height)@\(String(format: "%.2f", rung.frameRate))" +
                    (rung.scaledFrom.map { " (from \(r.plan.rungs[$0].name))" } ?? "")
            }
            print("done in \(String(format: "%.1f", r.elapsed)) s: \(r.framesDecoded) frames decoded; rungs: \(rungs.joined(separator: ", "))")
            print("outputs in \(r.outputDirectory): \(r.masterPlaylist), \(r.mp4Files.joined(separator: ", "))" +
                  (r.poster.map { ", \($0)" } ?? "") + (r.storyboard.map { ", \($0), storyboard.vtt" } ?? ""))
            for n in r.notes { print("note: \(n)") }
            print(r.cpu.summary)
            return 0
        } catch {
            if interactive { printError("") }
            printError("vidd: \(error)")
            return 1
        }
    }

    /// One progress line: a bar, media time, fps, speed, ETA and per-rung frame counts.
    public static func progressLine(_ p: TranscodeProgress) -> String {
        let width = 30
        let filled = Int(p.fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let eta = p.eta.map { String(format: "%.0fs", $0) } ?? "?"
        let rungs = p.rungs.map { "\($0.name):\($0.framesEncoded)" }.joined(separator: " ")
        return String(format: "[%@] %5.1f%% %.1f/%.1fs %.0f fps %.2fx ETA %@ ", bar, p.fraction * 100, p.mediaTime, p.duration,
                      p.fps, p.speed, eta) + rungs
    }

    private static func renderProgress(_ p: TranscodeProgress, interactive: Bool) {
        guard interactive else { return }
        FileHandle.standardError.write(Data(("\r" + progressLine(p) + "\u{1B}[K").utf8))
    }

    private static func printError(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
}
