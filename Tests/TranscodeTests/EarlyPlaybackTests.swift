import Foundation
import Synchronization
import Testing
@testable import Transcode

/// Playable early, seen from the sink (what an uploader publishes, in the order it may): media
/// playlists that only grow, and a provisional master once every rendition has three segments
/// (what a player needs to start a playlist that is still growing) — which ffmpeg plays from the
/// start to the end of what exists at that moment.
@Suite("Early playback")
struct EarlyPlaybackTests {
    /// What the sink had heard when the provisional master came: a copy of every file a player
    /// could fetch then (the master, each rendition's latest playlist version, the files they name).
    final class Recorder: Sendable {
        struct State {
            var order: [OutputFile] = []
            var versions: [String: [String]] = [:]
            var snapshotError: String?
        }
        let state = Mutex(State())
        let snapshot: String

        init(snapshot: String) { self.snapshot = snapshot }

        func heard(_ file: OutputFile, outputDirectory: String) {
            // Playlists are read now: an intermediate version's file is renamed right after.
            let text = file.kind == .mediaPlaylist || file.kind == .masterPlaylist
                ? (try? String(contentsOfFile: file.localPath, encoding: .utf8)) : nil
            state.withLock { s in
                s.order.append(file)
                if file.kind == .mediaPlaylist, let text, let r = file.rendition { s.versions[r, default: []].append(text) }
                if file.kind == .masterPlaylist, !file.isFinal, let text {
                    do { try copy(master: text, playlists: s.versions.mapValues { $0.last! }, from: outputDirectory) } catch {
                        s.snapshotError = "\(error)"
                    }
                }
            }
        }

        private func copy(master: String, playlists: [String: String], from dir: String) throws {
            let fm = FileManager.default
            try fm.createDirectory(atPath: snapshot, withIntermediateDirectories: true)
            try master.write(toFile: snapshot + "/master.m3u8", atomically: true, encoding: .utf8)
            for uri in master.split(separator: "\n").compactMap(Self.playlistURI) {
                let rendition = uri.split(separator: "/")[1]
                guard let text = playlists[String(rendition)] else {
                    throw TestFailure("the master names \(uri) before any version of it was reported")
                }
                let target = snapshot + "/hls/\(rendition)"
                try fm.createDirectory(atPath: target, withIntermediateDirectories: true)
                // The available end, marked for ffmpeg (a growing playlist has no end of its own).
                try (text + "#EXT-X-ENDLIST\n").write(toFile: target + "/index.m3u8", atomically: true, encoding: .utf8)
                for name in ["init.mp4"] + Self.segments(text) {
                    try fm.copyItem(atPath: dir + "/hls/\(rendition)/" + name, toPath: target + "/" + name)
                }
            }
        }

        static func playlistURI(_ line: Substring) -> String? {
            if line.hasPrefix("hls/") { return String(line) }
            guard let r = line.range(of: "URI=\"") else { return nil }
            return String(line[r.upperBound...].prefix { $0 != "\"" })
        }

        static func segments(_ playlist: String) -> [String] {
            playlist.split(separator: "\n").filter { !$0.isEmpty && !$0.hasPrefix("#") }.map(String.init)
        }
    }

    @Test func provisionalMasterOnceEveryRenditionHasThreeSegmentsPlaysToTheAvailableEnd() throws {
        // 25 s at 25 fps: segments end at 6, 12, 18, 24 and 25 s in every rendition.
        let clip = try Tools.makeClip(seconds: 25, size: "320x240", rate: 25)
        defer { try? FileManager.default.removeItem(atPath: clip) }
        let dir = Tools.tempDirectory("early")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let recorder = Recorder(snapshot: dir + "-snapshot")
        defer { try? FileManager.default.removeItem(atPath: recorder.snapshot) }
        let sink = DirectorySink(directory: dir) { recorder.heard($0, outputDirectory: dir) }
        var options = TranscodeOptions()
        options.ladder.rungs = [240, 144]
        let result = try Transcoder(source: clip, outputDirectory: dir, options: options, sink: sink).runBlocking()
        let state = recorder.state.withLock { $0 }
        #expect(state.snapshotError == nil, "\(state.snapshotError ?? "")")
        let order = state.order

        // One provisional master, after a playlist version of every rendition, before the final master.
        let masters = order.enumerated().filter { $0.element.kind == .masterPlaylist }
        #expect(masters.map(\.element.isFinal) == [false, true])
        let provisional = try #require(masters.first?.offset)
        for rendition in ["240p", "144p", "audio"] {
            let first = try #require(order.firstIndex { $0.kind == .mediaPlaylist && $0.rendition == rendition })
            #expect(first < provisional, "\(rendition)'s first playlist comes before the master that names it")
            let final = try #require(order.firstIndex { $0.kind == .mediaPlaylist && $0.rendition == rendition && $0.isFinal })
            #expect(final > provisional, "the master came while \(rendition) was still encoding")
        }
        // Every playlist version names only segments reported before it, and only grows: an EVENT
        // playlist, same target duration throughout, `#EXT-X-ENDLIST` on the complete one alone.
        for (rendition, versions) in state.versions {
            var previous: [String] = []
            for (i, text) in versions.enumerated() {
                let at = order.indices.filter { order[$0].kind == .mediaPlaylist && order[$0].rendition == rendition }[i]
                let segments = Recorder.segments(text)
                for s in segments {
                    #expect(order[..<at].contains { $0.relativePath == "hls/\(rendition)/\(s)" }, "\(rendition) v\(i) lists \(s) before it was reported")
                }
                #expect(Array(segments.prefix(previous.count)) == previous, "\(rendition) v\(i) only appends")
                #expect(text.contains("#EXT-X-PLAYLIST-TYPE:EVENT\n") && text.contains("#EXT-X-TARGETDURATION:6\n"))
                // (The complete version is reported twice: when written, and as the muxer's final file.)
                #expect(text.contains("#EXT-X-ENDLIST") == (text == versions.last), "\(rendition) v\(i)")
                previous = segments
            }
        }

        // The provisional master: every rendition, the encoders' ceilings as BANDWIDTH, no average yet.
        let master = try String(contentsOfFile: recorder.snapshot + "/master.m3u8", encoding: .utf8)
        #expect(!master.contains("AVERAGE-BANDWIDTH"))
        for rung in result.plan.rungs {
            let line = try #require(master.split(separator: "\n").first { $0.contains("RESOLUTION=\(rung.width)x\(rung.height)") })
            let bandwidth = try #require(Int(line.split(separator: ",")[0].dropFirst("#EXT-X-STREAM-INF:BANDWIDTH=".count)))
            // The VBV ceiling of a 6 s segment (max rate + buffer / 6 s), with the audio's.
            let ceiling = rung.maxRateKbps * 1000 + rung.bufSizeKbps * 1000 / 6
            #expect(bandwidth >= ceiling + RungTable.audioBitRate, "\(line)")
        }
        // The final master replaced it with measured figures.
        #expect(try String(contentsOfFile: dir + "/master.m3u8", encoding: .utf8).contains("AVERAGE-BANDWIDTH="))

        // What a player could fetch at that moment plays from the start to its end: the first 18 s
        // of every rung (three segments; 25 fps: 450 frames) and of the audio.
        for index in result.plan.rungs.indices {
            let played = try Tools.decodeToEnd(recorder.snapshot + "/master.m3u8", map: "0:v:\(index)")
            #expect(played.errors.isEmpty, "\(played.errors)")
            #expect(played.frames == 450, "rung \(index): \(played.frames) frames")
        }
        let audio = try Tools.decodeToEnd(recorder.snapshot + "/master.m3u8", map: "0:a:0")
        #expect(audio.errors.isEmpty && abs(audio.seconds - 18) < 0.1, "audio: \(audio.seconds) s \(audio.errors)")
    }
}
