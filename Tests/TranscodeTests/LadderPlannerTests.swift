import Testing
@testable import Transcode

@Suite("LadderPlanner")
struct LadderPlannerTests {
    func sizes(_ p: LadderPlan) -> [String] { p.rungs.map { "\($0.width)x\($0.height)" } }

    @Test func landscape1080p30() throws {
        let p = try LadderPlanner.plan(displayWidth: 1920, displayHeight: 1080, frameRate: 30, hasAudio: true)
        #expect(sizes(p) == ["1920x1080", "1280x720", "854x480", "640x360", "426x240", "256x144"])
        #expect(p.rungs.allSatisfy { $0.frameRateDivisor == 1 && $0.frameRate == 30 })
        #expect(p.rungs.map(\.maxRateKbps) == [5000, 2800, 1400, 800, 450, 250])
        #expect(p.rungs.map(\.bufSizeKbps) == [10000, 5600, 2800, 1600, 900, 500])
        #expect(p.preset == "veryfast")
        #expect(p.audio == AudioPlan())
        #expect(p.keyframeInterval == 2)
    }

    @Test func portraitUsesTheShortSide() throws {
        let p = try LadderPlanner.plan(displayWidth: 1080, displayHeight: 1920, frameRate: 30, hasAudio: false)
        #expect(sizes(p) == ["1080x1920", "720x1280", "480x854", "360x640", "240x426", "144x256"])
        #expect(p.audio == nil)
    }

    @Test func rotatedSourceIsPlannedFromItsDisplaySize() throws {
        let info = try Prober.probe(Fixture.path("portrait_rotated.mp4"))
        let p = try LadderPlanner.plan(for: info)
        #expect(sizes(p) == ["360x640", "240x426", "144x256"])
    }

    @Test func neverAboveTheSource() throws {
        let p = try LadderPlanner.plan(displayWidth: 1280, displayHeight: 720, frameRate: 25, hasAudio: true)
        #expect(p.rungs.first?.spec.shortSide == 720)
        let between = try LadderPlanner.plan(displayWidth: 1000, displayHeight: 600, frameRate: 25, hasAudio: true)
        #expect(sizes(between) == ["800x480", "600x360", "400x240", "240x144"])
    }

    @Test func oddSizesGiveEvenDimensionsAndKeepTheAspect() throws {
        let p = try LadderPlanner.plan(displayWidth: 853, displayHeight: 479, frameRate: 30, hasAudio: false)
        for r in p.rungs {
            #expect(r.width % 2 == 0 && r.height % 2 == 0)
            #expect(abs(Double(r.width) / Double(r.height) - 853.0 / 479.0) < 0.03)
            #expect(r.width <= 853 && r.height <= 479)
        }
        #expect(sizes(p) == ["642x360", "428x240", "256x144"])
        // SAR-stretched anamorphic display size 1024x576 from 720x576.
        #expect(LadderPlanner.size(displayWidth: 1023, displayHeight: 575, shortSide: 480) == (854, 480))
    }

    @Test func fourK() throws {
        let p = try LadderPlanner.plan(displayWidth: 3840, displayHeight: 2160, frameRate: 30, hasAudio: true)
        #expect(sizes(p) == ["3840x2160", "2560x1440", "1920x1080", "1280x720", "854x480", "640x360", "426x240", "256x144"])
        #expect(p.rungs[0].maxRateKbps == 14000)
        // On two cores the rungs themselves fill the cores: one x264 thread each.
        #expect(p.rungs.allSatisfy { $0.encoderThreads == 1 })
    }

    struct ThreadCase: Sendable, CustomStringConvertible {
        var cores: Int
        var rungs: [Int]?
        var encoderThreads: [Int]
        var decoderThreads: Int
        var description: String { "\(cores) cores, rungs \(rungs.map { "\($0)" } ?? "all")" }
    }

    /// A rung gets more than one x264 thread only when, alone on one thread, it would outlast the
    /// job spread over the cores; the decoder gets frame threads only on many cores.
    static let threadCases: [ThreadCase] = [
        ThreadCase(cores: 1, rungs: nil, encoderThreads: [1, 1, 1, 1, 1, 1], decoderThreads: 1),
        ThreadCase(cores: 2, rungs: nil, encoderThreads: [1, 1, 1, 1, 1, 1], decoderThreads: 1),
        ThreadCase(cores: 2, rungs: [1080], encoderThreads: [2], decoderThreads: 1),
        ThreadCase(cores: 2, rungs: [1080, 720], encoderThreads: [2, 1], decoderThreads: 1),
        ThreadCase(cores: 4, rungs: nil, encoderThreads: [2, 1, 1, 1, 1, 1], decoderThreads: 1),
        ThreadCase(cores: 8, rungs: nil, encoderThreads: [4, 2, 1, 1, 1, 1], decoderThreads: 2),
        ThreadCase(cores: 16, rungs: nil, encoderThreads: [8, 4, 2, 1, 1, 1], decoderThreads: 3),
    ]

    @Test("threads per encoder and decoder follow the cores the job may use", arguments: threadCases)
    func threadsFollowTheCores(_ c: ThreadCase) throws {
        let p = try LadderPlanner.plan(displayWidth: 1920, displayHeight: 1080, frameRate: 30, hasAudio: true,
                                       options: LadderOptions(rungs: c.rungs, cores: c.cores))
        #expect(p.rungs.map(\.encoderThreads) == c.encoderThreads)
        #expect(p.decoderThreads == c.decoderThreads)
    }

    @Test func tinySourceGetsOneRungAtItsOwnSize() throws {
        let p = try LadderPlanner.plan(displayWidth: 97, displayHeight: 61, frameRate: 15, hasAudio: false)
        #expect(p.rungs.count == 1)
        #expect(p.rungs[0].width == 96 && p.rungs[0].height == 60)
        #expect(p.rungs[0].name == "60p")
    }

    @Test func highFrameRates() throws {
        let p120 = try LadderPlanner.plan(displayWidth: 1920, displayHeight: 1080, frameRate: 120, hasAudio: false)
        #expect(p120.rungs.map(\.frameRateDivisor) == [2, 2, 4, 4, 4, 4])
        #expect(p120.rungs.map(\.frameRate) == [60, 60, 30, 30, 30, 30])
        // Rungs above 30 fps get 1.5× the max rate.
        #expect(p120.rungs[0].maxRateKbps == 7500)
        #expect(p120.rungs[2].maxRateKbps == 1400)
        let p60 = try LadderPlanner.plan(displayWidth: 1280, displayHeight: 720, frameRate: 59.94, hasAudio: false)
        #expect(p60.rungs.map(\.frameRateDivisor) == [1, 2, 2, 2, 2])
        let p50 = try LadderPlanner.plan(displayWidth: 1280, displayHeight: 720, frameRate: 50, hasAudio: false)
        #expect(p50.rungs.map(\.frameRate) == [50, 25, 25, 25, 25])
        let p90 = try LadderPlanner.plan(displayWidth: 640, displayHeight: 360, frameRate: 90, hasAudio: false)
        #expect(p90.rungs.map(\.frameRate) == [30, 30, 30])
        // 29.97 is not reduced.
        #expect(LadderPlanner.divisor(sourceRate: 29.97, maxRate: 30) == 1)
        // GOP bound: twice the 2 s keyframe interval.
        #expect(p60.rungs[0].gopFrames == 240)
    }

    @Test func rungSelectionAndPresetValidation() throws {
        let p = try LadderPlanner.plan(displayWidth: 1920, displayHeight: 1080, frameRate: 30, hasAudio: true,
                                       options: LadderOptions(preset: "fast", rungs: [720, 144, 2160]))
        #expect(sizes(p) == ["1280x720", "256x144"])
        #expect(p.preset == "fast")
        #expect(throws: TranscodeError.self) {
            try LadderPlanner.plan(displayWidth: 1920, displayHeight: 1080, frameRate: 30, hasAudio: true, options: LadderOptions(preset: "turbo"))
        }
        #expect(throws: TranscodeError.self) {
            try LadderPlanner.plan(displayWidth: 1920, displayHeight: 1080, frameRate: 30, hasAudio: true, options: LadderOptions(rungs: [700]))
        }
        // Requested rungs all above the source: refused with a reason (it used to plan no video
        // and fail after decoding as "no frame could be decoded").
        #expect(throws: TranscodeError.invalidOptions("no requested rung (720) fits a 320x240 source; the largest it allows is 240")) {
            try LadderPlanner.plan(displayWidth: 320, displayHeight: 240, frameRate: 30, hasAudio: true, options: LadderOptions(rungs: [720]))
        }
        #expect(throws: TranscodeError.invalidOptions("no requested rung (144) fits a 160x120 source; the largest it allows is none: it is smaller than every rung")) {
            try LadderPlanner.plan(displayWidth: 160, displayHeight: 120, frameRate: 30, hasAudio: true, options: LadderOptions(rungs: [144]))
        }
    }

    @Test func audioOnlyPlanHasNoRungs() throws {
        let p = try LadderPlanner.plan(displayWidth: nil, displayHeight: nil, frameRate: 0, hasAudio: true)
        #expect(p.rungs.isEmpty)
        #expect(p.audio?.sampleRate == 48000 && p.audio?.channels == 2 && p.audio?.profile == "LC")
    }

    @Test func rungTableIsOrderedAndConsistent() {
        let sides = RungTable.rungs.map(\.shortSide)
        #expect(sides == [2160, 1440, 1080, 720, 480, 360, 240, 144])
        #expect(RungTable.rungs.allSatisfy { $0.bufSizeKbps == 2 * $0.maxRateKbps })
    }

    // Cascade scaling: each rung's source is the smallest planned rung that is itself scaled down,
    // ≥ 1.5× its short side and fed every frame it needs; else the decoded source (nil).
    func sources(_ p: LadderPlan) -> [String] { p.rungs.map { r in r.scaledFrom.map { p.rungs[$0].name } ?? "source" } }

    @Test func cascadeLandscape1080p() throws {
        let p = try LadderPlanner.plan(displayWidth: 1920, displayHeight: 1080, frameRate: 30, hasAudio: true)
        #expect(sources(p) == ["source", "source", "720p", "720p", "360p", "240p"])
        #expect(p.rungs.map(\.scaledFrom) == [nil, nil, 1, 1, 3, 4])
        let off = try LadderPlanner.plan(displayWidth: 1920, displayHeight: 1080, frameRate: 30, hasAudio: true,
                                         options: LadderOptions(cascade: false))
        #expect(off.rungs.allSatisfy { $0.scaledFrom == nil })
        // Everything else is the same plan.
        #expect(sizes(off) == sizes(p))
    }

    @Test func cascadePortraitAndFourK() throws {
        let portrait = try LadderPlanner.plan(displayWidth: 1080, displayHeight: 1920, frameRate: 30, hasAudio: false)
        #expect(sources(portrait) == ["source", "source", "720p", "720p", "360p", "240p"])
        let uhd = try LadderPlanner.plan(displayWidth: 3840, displayHeight: 2160, frameRate: 30, hasAudio: true)
        // 1440p is not 1.5 × 1080: 1080p comes from the source; 720p from the smallest rung that is, 1080p.
        #expect(sources(uhd) == ["source", "source", "source", "1080p", "720p", "720p", "360p", "240p"])
        // A rung at the source's own size is never a cascade source, whatever its short side.
        let p720 = try LadderPlanner.plan(displayWidth: 1280, displayHeight: 720, frameRate: 30, hasAudio: true)
        #expect(sources(p720) == ["source", "source", "source", "360p", "240p"])
    }

    @Test func cascadeOddSizesAndSelectedRungs() throws {
        let odd = try LadderPlanner.plan(displayWidth: 853, displayHeight: 479, frameRate: 30, hasAudio: false)
        #expect(sizes(odd) == ["642x360", "428x240", "256x144"])
        #expect(sources(odd) == ["source", "360p", "240p"])
        let between = try LadderPlanner.plan(displayWidth: 1000, displayHeight: 600, frameRate: 25, hasAudio: true)
        #expect(sources(between) == ["source", "source", "360p", "240p"])
        let portraitOdd = try LadderPlanner.plan(displayWidth: 727, displayHeight: 1291, frameRate: 30, hasAudio: false)
        #expect(sizes(portraitOdd) == ["720x1278", "480x852", "360x640", "240x426", "144x256"])
        // 720p is below the source's 727: it feeds 480p and 360p.
        #expect(sources(portraitOdd) == ["source", "720p", "720p", "360p", "240p"])
        // Only planned rungs feed others.
        let some = try LadderPlanner.plan(displayWidth: 1920, displayHeight: 1080, frameRate: 30, hasAudio: true,
                                          options: LadderOptions(rungs: [720, 144]))
        #expect(sources(some) == ["source", "720p"])
        let tiny = try LadderPlanner.plan(displayWidth: 97, displayHeight: 61, frameRate: 15, hasAudio: false)
        #expect(sources(tiny) == ["source"])
    }

    @Test func cascadeOnlyFromRungsThatGetEveryFrameNeeded() throws {
        // 120 fps: 1080p/720p at 60 (÷2), the rest at 30 (÷4); 2 divides 4, so the cascade holds.
        let p120 = try LadderPlanner.plan(displayWidth: 1920, displayHeight: 1080, frameRate: 120, hasAudio: false)
        #expect(sources(p120) == ["source", "source", "720p", "720p", "360p", "240p"])
        // 1000x800 at 60: 720p keeps 60 fps and feeds 360p at 30.
        let p60 = try LadderPlanner.plan(displayWidth: 1000, displayHeight: 800, frameRate: 60, hasAudio: false,
                                         options: LadderOptions(rungs: [720, 360]))
        #expect(p60.rungs.map(\.frameRateDivisor) == [1, 2])
        #expect(sources(p60) == ["source", "720p"])
        // The other way round never happens: a rung does not feed one that needs frames it skipped.
        var rungs = p60.rungs
        rungs[0].frameRateDivisor = 2; rungs[1].frameRateDivisor = 1
        LadderPlanner.assignScaleSources(&rungs, sourceShortSide: 800)
        #expect(rungs.map(\.scaledFrom) == [nil, nil])
    }
}
