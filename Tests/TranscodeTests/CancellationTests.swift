import Foundation
import Synchronization
import Testing
@testable import Transcode

@Suite("Cancellation")
struct CancellationTests {
    /// Threads of this process named by the transcoder ("vidd-…"; libav/x264 threads inherit the name).
    static func transcoderThreads() -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter { tid in
            let comm = (try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8)) ?? ""
            return comm.hasPrefix("vidd-")
        }.count
    }

    /// The transcoder threads left once every transcode in this process has ended. Other suites
    /// transcode in parallel in the same process (and their threads carry the same names), so this
    /// polls until the count reaches 0 — a leaked thread never gets there — with a generous bound
    /// (the longest other test ends well within it); the count is the assertion, not the time.
    static func transcoderThreadsWhenSettled() async throws -> Int {
        var threads = transcoderThreads()
        for _ in 0..<1200 where threads > 0 { try await Task.sleep(for: .milliseconds(50)); threads = transcoderThreads() }
        return threads
    }

    /// Open descriptors pointing into `paths`.
    static func openFiles(under paths: [String]) -> [String] {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return fds.compactMap { fd in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)") else { return nil }
            return paths.contains { target.hasPrefix($0) } ? target : nil
        }
    }

    @Test func cancellationStopsPromptlyAndLeavesNoThreadsOrFiles() async throws {
        let clip = try Tools.makeClip(seconds: 20, size: "640x360", rate: 30)
        defer { try? FileManager.default.removeItem(atPath: clip) }
        let dir = Tools.tempDirectory("cancel")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let frames = Atomic<Int>(0)
        let transcoder = Transcoder(source: clip, outputDirectory: dir, options: TranscodeOptions(),
                                    progress: { p in frames.store(p.framesDecoded, ordering: .relaxed) })
        let task = Task { try await transcoder.run() }
        // Wait until it is really encoding (progress reports decoded frames).
        while frames.load(ordering: .relaxed) < 30 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(Self.transcoderThreads() > 0)
        let cancelledAt = ContinuousClock.now
        task.cancel()
        let result = await task.result
        let stopTime = ContinuousClock.now - cancelledAt
        guard case .failure(let error) = result, let e = error as? TranscodeError else {
            Issue.record("expected a cancellation error, got \(result)"); return
        }
        #expect(e == .cancelled)
        // The issue's requirement: stops within a second (measured from cancel() to run() returning).
        #expect(stopTime < .seconds(1), "stopped after \(stopTime)")
        // The coordinator thread resumes the caller as its very last act; give it a moment to exit.
        #expect(try await Self.transcoderThreadsWhenSettled() == 0)
        #expect(Self.openFiles(under: [dir, clip]).isEmpty)
    }

    @Test func completedTranscodeLeavesNoThreadsOrFiles() async throws {
        let dir = Tools.tempDirectory("done")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = TranscodeOptions()
        options.ladder.rungs = [144]
        let src = Fixture.path("no_audio.mp4")
        let result = try await Transcoder(source: src, outputDirectory: dir, options: options).run()
        #expect(result.framesDecoded == 50)
        #expect(try await Self.transcoderThreadsWhenSettled() == 0)
        #expect(Self.openFiles(under: [dir, src]).isEmpty)
    }
}
