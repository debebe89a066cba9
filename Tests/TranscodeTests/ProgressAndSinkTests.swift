import Foundation
import Synchronization
import Testing
@testable import Transcode

@Suite("Progress and sink")
struct ProgressAndSinkTests {
    @Test func progressEndsCompleteWithEveryRungFinished() throws {
        let dir = Tools.tempDirectory("progress")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let reports = Mutex<[TranscodeProgress]>([])
        var options = TranscodeOptions()
        options.ladder.rungs = [240, 144]
        let t = Transcoder(source: Fixture.path("no_audio.mp4"), outputDirectory: dir, options: options,
                           progress: { p in reports.withLock { $0.append(p) } })
        let result = try t.runBlocking()
        let all = reports.withLock { $0 }
        let last = try #require(all.last)
        #expect(last.fraction == 1)
        #expect(last.framesDecoded == 50)
        #expect(last.rungs.map(\.name) == ["240p", "144p"])
        #expect(last.rungs.allSatisfy { $0.state == .finished && $0.framesEncoded == 50 })
        #expect(last.speed > 0 && last.fps > 0)
        #expect(last.eta == 0)
        // Media time never goes backwards.
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.mediaTime <= $1.mediaTime })
        #expect(result.framesDecoded == 50)
        #expect(TranscodeCommand.progressLine(last).contains("100.0%"))
    }

    @Test func sinkHearsSegmentsBeforeTheirFinalPlaylistAndMasterLast() throws {
        let clip = try Tools.makeClip(seconds: 13, size: "320x240", rate: 25)
        defer { try? FileManager.default.removeItem(atPath: clip) }
        let dir = Tools.tempDirectory("sink")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sink = DirectorySink(directory: dir)
        var options = TranscodeOptions()
        options.ladder.rungs = [144]
        _ = try Transcoder(source: clip, outputDirectory: dir, options: options, sink: sink).runBlocking()
        let files = sink.files
        // The final master, then the DASH manifest over the same segments.
        #expect(files.suffix(2).map(\.kind) == [.masterPlaylist, .dashManifest])
        #expect(files.dropLast().last?.isFinal == true)
        // Three 6 s-ish segments per rendition, each reported once, before the rendition's final playlist.
        for rendition in ["144p", "audio"] {
            let segs = files.enumerated().filter { $0.element.kind == .hlsSegment && $0.element.rendition == rendition }
            #expect(segs.count == 3, "\(rendition): \(segs.map(\.element.relativePath))")
            #expect(Set(segs.map(\.element.relativePath)).count == segs.count)
            let final = try #require(files.firstIndex { $0.kind == .mediaPlaylist && $0.rendition == rendition && $0.isFinal })
            #expect(segs.allSatisfy { $0.offset < final })
            // The first segment was reported before the encoder finished (an intermediate playlist follows it).
            #expect(files.contains { $0.kind == .mediaPlaylist && $0.rendition == rendition && !$0.isFinal })
        }
        #expect(files.contains { $0.kind == .hlsInit && $0.relativePath == "hls/144p/init.mp4" })
        #expect(files.contains { $0.kind == .mp4 && $0.relativePath == "144p.mp4" })
    }
}
