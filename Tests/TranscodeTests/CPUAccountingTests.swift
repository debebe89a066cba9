import Foundation
import Testing
@testable import Transcode

@Suite("CPU accounting")
struct CPUAccountingTests {
    /// x264's lookahead thread ends when the encoder is flushed, before the job adds up its CPU:
    /// a helper thread's CPU must survive the thread.
    @Test func helperThreadCPUIsKeptAfterTheThreadEnds() throws {
        let burned = DispatchSemaphore(value: 0), exit = DispatchSemaphore(value: 0)
        let ownName = try String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)
        var (thread, helpers) = try HelperThreads.starting(named: "vidd-cpu-test") { () throws(TranscodeError) in
            // Named like the threads a library starts inside `starting` (they inherit the name).
            try NativeThread(name: "vidd-cpu-test") {
                while CPUTime.thread() < 0.1 {}
                burned.signal()
                exit.wait()
            }
        }
        #expect(try String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8) == ownName)
        burned.wait()
        #expect(helpers.ids.count == 1)
        helpers.sample()
        exit.signal()
        thread.join()
        helpers.sample()
        #expect(CPUTime.threads(helpers.ids).isEmpty)  // gone…
        #expect(helpers.cpu >= 0.09)                   // …but counted
    }

    @Test func aTranscodeAccountsForItsCPUWithoutCountingAnythingTwice() throws {
        let dir = Tools.tempDirectory("cpu")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = TranscodeOptions()
        options.ladder.rungs = [360, 144]
        let r = try Transcoder(source: Fixture.path("landscape_720p.mp4"), outputDirectory: dir, options: options).runBlocking()
        let c = r.cpu
        for part in [c.decode, c.audio, c.thumbnails, c.coordination, c.scaling, c.encoding, c.muxing, c.handOff] { #expect(part >= 0) }
        #expect(c.decode > 0 && c.encoding > 0 && c.scaling > 0 && c.muxing > 0 && c.audio > 0)
        // The parts are disjoint subsets of the process's CPU (other tests run in this process too,
        // so the total may be far larger; /proc counts in 10 ms ticks per thread).
        #expect(c.attributed <= c.total + 0.05)
        #expect(c.summary.contains("unattributed"))
    }
}
