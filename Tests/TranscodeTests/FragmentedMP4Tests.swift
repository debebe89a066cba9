import Testing
@testable import Transcode

/// Byte vectors for the fMP4 reader the DASH manifest is built with (ISO/IEC 14496-12 boxes
/// assembled by hand: every field where the standard puts it).
@Suite("FragmentedMP4")
struct FragmentedMP4Tests {
    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    static func be64(_ v: UInt64) -> [UInt8] { be32(UInt32(v >> 32)) + be32(UInt32(v & 0xFFFF_FFFF)) }
    static func box(_ type: String, _ body: [UInt8]) -> [UInt8] { be32(UInt32(8 + body.count)) + Array(type.utf8) + body }
    static func fullBox(_ type: String, version: UInt8 = 0, flags: UInt32 = 0, _ body: [UInt8]) -> [UInt8] {
        box(type, [version, UInt8(flags >> 16 & 0xFF), UInt8(flags >> 8 & 0xFF), UInt8(flags & 0xFF)] + body)
    }

    static func mdhd(timescale: UInt32, version: UInt8 = 0) -> [UInt8] {
        let times = version == 1 ? be64(1) + be64(2) : be32(1) + be32(2)
        let duration = version == 1 ? be64(0) : be32(0)
        return fullBox("mdhd", version: version, times + be32(timescale) + duration + [0x55, 0xC4, 0, 0])
    }

    static func initSegment(timescale: UInt32 = 15360, mdhdVersion: UInt8 = 0, trexDuration: UInt32 = 0, tracks: Int = 1) -> [UInt8] {
        let trak = box("trak", box("tkhd", []) + box("mdia", mdhd(timescale: timescale, version: mdhdVersion) + box("hdlr", [])))
        let trex = fullBox("trex", be32(1) + be32(1) + be32(trexDuration) + be32(0) + be32(0))
        return box("ftyp", Array("iso5".utf8) + be32(512)) +
            box("moov", box("mvhd", []) + Array(repeating: trak, count: tracks).flatMap { $0 } + box("mvex", trex))
    }

    struct Sample { var duration: UInt32? = nil; var flags: UInt32? = nil; var offset: Int32? = nil }

    /// A moof with one traf: tfhd (default duration and flags when given), tfdt, one trun.
    static func moof(tfdt: UInt64?, tfdtVersion: UInt8 = 1, defaultDuration: UInt32? = 512, defaultFlags: UInt32? = 0x0001_0000,
                     firstSampleFlags: UInt32? = 0x0200_0000, trunVersion: UInt8 = 0, samples: [Sample], trafs: Int = 1) -> [UInt8] {
        var tfhdFlags: UInt32 = 0x02_0000
        var tfhd = be32(1)
        if let d = defaultDuration { tfhdFlags |= 0x08; tfhd += be32(d) }
        if let f = defaultFlags { tfhdFlags |= 0x20; tfhd += be32(f) }
        var trunFlags: UInt32 = 0x01 | 0x200
        if firstSampleFlags != nil { trunFlags |= 0x04 }
        if samples.contains(where: { $0.duration != nil }) { trunFlags |= 0x100 }
        if samples.contains(where: { $0.flags != nil }) { trunFlags |= 0x400 }
        if samples.contains(where: { $0.offset != nil }) { trunFlags |= 0x800 }
        var trun = be32(UInt32(samples.count)) + be32(0)
        if let f = firstSampleFlags { trun += be32(f) }
        for s in samples {
            if trunFlags & 0x100 != 0 { trun += be32(s.duration ?? 0) }
            trun += be32(100)
            if trunFlags & 0x400 != 0 { trun += be32(s.flags ?? 0) }
            if trunFlags & 0x800 != 0 { trun += be32(UInt32(bitPattern: s.offset ?? 0)) }
        }
        var traf = fullBox("tfhd", flags: tfhdFlags, tfhd)
        if let t = tfdt { traf += fullBox("tfdt", version: tfdtVersion, tfdtVersion == 1 ? be64(t) : be32(UInt32(t))) }
        traf += fullBox("trun", version: trunVersion, flags: trunFlags, trun)
        return box("moof", fullBox("mfhd", be32(1)) + Array(repeating: box("traf", traf), count: trafs).flatMap { $0 })
    }

    static func segment(_ moofs: [[UInt8]], mdat: Int = 300) -> [UInt8] {
        box("styp", Array("msdh".utf8) + be32(0)) + box("sidx", Array(repeating: 0, count: 24)) +
            moofs.flatMap { $0 + box("mdat", Array(repeating: 0xAB, count: mdat)) }
    }

    static func parse(_ bytes: [UInt8], init i: FragmentedMP4.InitSegment = .init(timescale: 15360, defaultSampleDuration: 0)) throws -> FragmentedMP4.Fragment {
        try FragmentedMP4.fragment(size: Int64(bytes.count), read: { offset, count in
            let start = Int(offset)
            return start >= bytes.count ? [] : Array(bytes[start..<min(bytes.count, start + count)])
        }, initSegment: i)
    }

    @Test func initSegmentTimescaleAndTrexDefault() throws {
        #expect(try FragmentedMP4.initSegment(Self.initSegment(timescale: 15360, trexDuration: 512)) == .init(timescale: 15360, defaultSampleDuration: 512))
        #expect(try FragmentedMP4.initSegment(Self.initSegment(timescale: 48000, mdhdVersion: 1)).timescale == 48000)
    }

    @Test func initSegmentsThatCannotServeDASH() {
        #expect(throws: FragmentedMP4.FormatError(reason: "2 tracks in the initialization segment, expected 1")) {
            try FragmentedMP4.initSegment(Self.initSegment(tracks: 2))
        }
        #expect(throws: FragmentedMP4.FormatError(reason: "no moov box: not an initialization segment")) {
            try FragmentedMP4.initSegment(Self.box("ftyp", []))
        }
        #expect(throws: FragmentedMP4.FormatError.self) { try FragmentedMP4.initSegment(Self.initSegment(timescale: 0)) }
        // A box claiming more bytes than there are.
        #expect(throws: FragmentedMP4.FormatError(reason: "box moov runs past its container")) {
            try FragmentedMP4.initSegment(Self.be32(4000) + Array("moov".utf8) + [0, 0, 0])
        }
    }

    /// A video fragment as libavformat writes it: durations and non-sync flags from tfhd, the
    /// first sample's flags (sync) in trun, composition offsets for B-frames.
    @Test func videoFragmentWithCompositionOffsets() throws {
        let samples = [Sample(offset: 1024), Sample(offset: 2560), Sample(offset: 0), Sample(offset: 512)]
        let f = try Self.parse(Self.segment([Self.moof(tfdt: 92160, samples: samples)]))
        #expect(f == .init(baseMediaDecodeTime: 92160, duration: 2048, earliestPresentationTime: 92160 + 1024, sampleCount: 4, startsWithSyncSample: true))
        // trun version 1: signed offsets (a first frame shown before its decode time).
        let v1 = try Self.parse(Self.segment([Self.moof(tfdt: 1000, tfdtVersion: 0, trunVersion: 1, samples: [Sample(offset: -512), Sample(offset: 0)])]))
        #expect(v1.earliestPresentationTime == 488)
        #expect(v1.baseMediaDecodeTime == 1000)
    }

    @Test func durationsPerSampleOrFromTrex() throws {
        let perSample = try Self.parse(Self.segment([Self.moof(tfdt: 0, samples: [Sample(duration: 1024), Sample(duration: 1023), Sample(duration: 1025)])]))
        #expect(perSample.duration == 3072 && perSample.sampleCount == 3)
        let trex = try Self.parse(Self.segment([Self.moof(tfdt: 0, defaultDuration: nil, samples: [Sample(), Sample()])]),
                                  init: .init(timescale: 48000, defaultSampleDuration: 1024))
        #expect(trex.duration == 2048)
        // Audio: every sample a sync sample (no non-sync default, no first-sample flags).
        let audio = try Self.parse(Self.segment([Self.moof(tfdt: 288768, defaultFlags: 0x0200_0000, firstSampleFlags: nil, samples: [Sample(), Sample()])]))
        #expect(audio.startsWithSyncSample && audio.earliestPresentationTime == 288768)
    }

    @Test func aSegmentThatStartsWithANonSyncSampleIsSaidSo() throws {
        let f = try Self.parse(Self.segment([Self.moof(tfdt: 0, firstSampleFlags: nil, samples: [Sample(), Sample()])]))
        #expect(!f.startsWithSyncSample)
    }

    @Test func largeSizeBoxesAreSkipped() throws {
        // An mdat with a 64-bit size (size field 1) between the moof and the end.
        let mdat = Self.be32(1) + Array("mdat".utf8) + Self.be64(16 + 40) + Array(repeating: 0, count: 40)
        let bytes = Self.moof(tfdt: 7, samples: [Sample()]) + mdat
        #expect(try Self.parse(bytes).baseMediaDecodeTime == 7)
    }

    @Test("segments DASH cannot address are refused with the reason", arguments: [
        ("two movie fragments", segment([moof(tfdt: 0, samples: [Sample()]), moof(tfdt: 512, samples: [Sample()])]),
         "2 movie fragments in the segment, expected exactly 1"),
        ("no movie fragment", box("styp", []) + box("mdat", [1, 2, 3]), "0 movie fragments in the segment, expected exactly 1"),
        ("no tfdt", segment([moof(tfdt: nil, samples: [Sample()])]), "no tfdt box: the fragment does not say when it starts"),
        ("two tracks", segment([moof(tfdt: 0, samples: [Sample()], trafs: 2)]), "2 track fragments in the moof, expected 1"),
        ("no samples", segment([moof(tfdt: 0, samples: [])]), "the fragment has no samples"),
        ("zero durations", segment([moof(tfdt: 0, defaultDuration: nil, samples: [Sample()])]), "the fragment's samples have no duration"),
        ("truncated", Array(segment([moof(tfdt: 0, samples: [Sample()])]).dropLast(10)), "box mdat at byte 152 runs past the end of the segment"),
        ("header cut", Array(box("styp", []) + [0, 0, 0]), "truncated box header at byte 8"),
    ] as [(String, [UInt8], String)])
    func refused(_ name: String, _ bytes: [UInt8], _ reason: String) {
        #expect(throws: FragmentedMP4.FormatError(reason: reason), "\(name)") { try Self.parse(bytes) }
    }

    @Test func aSampleCountLargerThanItsBoxIsRefusedBeforeAnyLoop() {
        // trun claiming 4 billion samples in a few bytes.
        var moof = Self.moof(tfdt: 0, samples: [Sample()])
        let trun = moof.indices.first { moof[$0..<$0 + 4] == ArraySlice("trun".utf8) }!
        moof.replaceSubrange((trun + 8)..<(trun + 12), with: Self.be32(0xFFFF_FFFF))
        #expect(throws: FragmentedMP4.FormatError.self) { try Self.parse(moof) }
    }
}
