#if canImport(Glibc)
import Glibc
#endif

/// Reads the few boxes of fragmented MP4 (ISO/IEC 14496-12) that a DASH manifest needs from the
/// HLS muxer's fMP4 files: an init segment's track timescale (`moov/trak/mdia/mdhd`, and the
/// `trex` default sample duration), and a media segment's timing — which must be one movie
/// fragment (`moof`) of one track with a `tfdt`, as DASH's segment addressing over the same
/// files requires. Pure parsing over a byte reader; the file variants read with `pread`.
enum FragmentedMP4 {
    struct InitSegment: Sendable, Equatable {
        var timescale: UInt32
        /// `trex`'s default, used when a fragment gives no durations of its own (0 if absent).
        var defaultSampleDuration: UInt32
    }

    struct Fragment: Sendable, Equatable {
        /// `tfdt`: decode time of the first sample, in the track's timescale.
        var baseMediaDecodeTime: UInt64
        /// Sum of the samples' durations.
        var duration: UInt64
        /// The smallest decode time + composition offset of the samples (B-frames put the
        /// first frame shown after the first decoded).
        var earliestPresentationTime: Int64
        var sampleCount: Int
        /// The first sample is a sync sample (starts with an IDR for video): a segment a player
        /// can start with.
        var startsWithSyncSample: Bool
    }

    struct FormatError: Error, Sendable, Equatable, CustomStringConvertible {
        var reason: String
        var description: String { reason }
    }

    /// Reads `count` bytes at `offset` (fewer at the end of the data).
    typealias Reader = (_ offset: Int64, _ count: Int) -> [UInt8]

    static func initSegment(_ bytes: [UInt8]) throws(FormatError) -> InitSegment {
        guard let moov = try boxes(in: bytes[...]).first(where: { $0.type == "moov" })?.body else {
            throw FormatError(reason: "no moov box: not an initialization segment")
        }
        let moovBoxes = try boxes(in: moov)
        let traks = moovBoxes.filter { $0.type == "trak" }
        guard traks.count == 1 else { throw FormatError(reason: "\(traks.count) tracks in the initialization segment, expected 1") }
        guard let mdia = try boxes(in: traks[0].body).first(where: { $0.type == "mdia" }),
              let mdhd = try boxes(in: mdia.body).first(where: { $0.type == "mdhd" }) else {
            throw FormatError(reason: "no mdhd box in the track")
        }
        var r = ByteReader(mdhd.body)
        let version = try r.u8()
        try r.skip(3 + (version == 1 ? 16 : 8))
        let timescale = try r.u32()
        guard timescale > 0 else { throw FormatError(reason: "track timescale 0") }
        var defaultDuration: UInt32 = 0
        if let mvex = moovBoxes.first(where: { $0.type == "mvex" }), let trex = try boxes(in: mvex.body).first(where: { $0.type == "trex" }) {
            var t = ByteReader(trex.body)
            try t.skip(4 + 4 + 4)  // version/flags, track_ID, default_sample_description_index
            defaultDuration = try t.u32()
        }
        return InitSegment(timescale: timescale, defaultSampleDuration: defaultDuration)
    }

    /// The one movie fragment of a media segment of `size` bytes.
    static func fragment(size: Int64, read: Reader, initSegment: InitSegment) throws(FormatError) -> Fragment {
        var offset: Int64 = 0
        var moofs: [[UInt8]] = []
        while offset < size {
            let head = read(offset, 16)
            guard head.count >= 8 else { throw FormatError(reason: "truncated box header at byte \(offset)") }
            var r = ByteReader(head[...])
            var boxSize = Int64(try r.u32())
            let type = try r.fourCC()
            var headerSize: Int64 = 8
            if boxSize == 1 {
                boxSize = Int64(bitPattern: try r.u64())
                headerSize = 16
            } else if boxSize == 0 {
                boxSize = size - offset
            }
            guard boxSize >= headerSize, offset + boxSize <= size else {
                throw FormatError(reason: "box \(type) at byte \(offset) runs past the end of the segment")
            }
            if type == "moof" {
                // A moof is a few kilobytes (16 bytes a sample); refuse what cannot be one.
                guard boxSize <= 64 << 20 else { throw FormatError(reason: "moof of \(boxSize) bytes") }
                moofs.append(read(offset + headerSize, Int(boxSize - headerSize)))
            }
            offset += boxSize
        }
        guard moofs.count == 1 else { throw FormatError(reason: "\(moofs.count) movie fragments in the segment, expected exactly 1") }
        return try parseMoof(moofs[0][...], initSegment: initSegment)
    }

    static func parseMoof(_ moof: ArraySlice<UInt8>, initSegment: InitSegment) throws(FormatError) -> Fragment {
        let trafs = try boxes(in: moof).filter { $0.type == "traf" }
        guard trafs.count == 1 else { throw FormatError(reason: "\(trafs.count) track fragments in the moof, expected 1") }
        let children = try boxes(in: trafs[0].body)
        guard let tfhd = children.first(where: { $0.type == "tfhd" }) else { throw FormatError(reason: "no tfhd box") }
        guard let tfdt = children.first(where: { $0.type == "tfdt" }) else {
            throw FormatError(reason: "no tfdt box: the fragment does not say when it starts")
        }
        var h = ByteReader(tfhd.body)
        let tfhdFlags = try h.flags()
        try h.skip(4)  // track_ID
        if tfhdFlags & 0x01 != 0 { try h.skip(8) }  // base_data_offset
        if tfhdFlags & 0x02 != 0 { try h.skip(4) }  // sample_description_index
        let defaultDuration = tfhdFlags & 0x08 != 0 ? try h.u32() : initSegment.defaultSampleDuration
        if tfhdFlags & 0x10 != 0 { try h.skip(4) }  // default_sample_size
        let defaultFlags: UInt32 = tfhdFlags & 0x20 != 0 ? try h.u32() : 0

        var d = ByteReader(tfdt.body)
        let tfdtVersion = try d.u8()
        try d.skip(3)
        let base = tfdtVersion == 1 ? try d.u64() : UInt64(try d.u32())

        var decodeTime = base
        var earliest: Int64 = .max
        var count = 0
        var firstSampleFlags: UInt32?
        for trun in children where trun.type == "trun" {
            var t = ByteReader(trun.body)
            let version = try t.u8()
            let flags = try t.flags24()
            let samples = Int(try t.u32())
            // Each sample takes at least nothing and at most 16 bytes: bound the count by the box.
            guard samples <= trun.body.count else { throw FormatError(reason: "trun claims \(samples) samples in \(trun.body.count) bytes") }
            if flags & 0x01 != 0 { try t.skip(4) }  // data_offset
            let first: UInt32? = flags & 0x04 != 0 ? try t.u32() : nil
            for i in 0..<samples {
                let duration = flags & 0x100 != 0 ? try t.u32() : defaultDuration
                if flags & 0x200 != 0 { try t.skip(4) }  // size
                let sampleFlags: UInt32 = flags & 0x400 != 0 ? try t.u32() : (i == 0 ? first ?? defaultFlags : defaultFlags)
                var offset: Int64 = 0
                if flags & 0x800 != 0 {
                    let raw = try t.u32()
                    offset = version == 0 ? Int64(raw) : Int64(Int32(bitPattern: raw))
                }
                if count == 0 { firstSampleFlags = sampleFlags }
                earliest = min(earliest, Int64(decodeTime) + offset)
                decodeTime += UInt64(duration)
                count += 1
            }
        }
        guard count > 0 else { throw FormatError(reason: "the fragment has no samples") }
        guard decodeTime > base else { throw FormatError(reason: "the fragment's samples have no duration") }
        // sample_is_non_sync_sample (ISO/IEC 14496-12 §8.8.3.1).
        let sync = (firstSampleFlags ?? defaultFlags) & 0x0001_0000 == 0
        return Fragment(baseMediaDecodeTime: base, duration: decodeTime - base, earliestPresentationTime: earliest,
                        sampleCount: count, startsWithSyncSample: sync)
    }

    // MARK: Files

    static func initSegment(path: String) throws(TranscodeError) -> InitSegment {
        do throws(FormatError) {
            let file = try open(path)
            defer { close(file.fd) }
            guard file.size <= 1 << 20 else { throw FormatError(reason: "\(file.size) bytes: too large for an initialization segment") }
            return try initSegment(pread(file.fd, at: 0, count: Int(file.size)))
        } catch {
            throw .output(path: path, operation: "read initialization segment", message: error.reason)
        }
    }

    static func fragment(path: String, initSegment: InitSegment) throws(TranscodeError) -> (fragment: Fragment, size: Int64) {
        do throws(FormatError) {
            let file = try open(path)
            defer { close(file.fd) }
            let fragment = try fragment(size: file.size, read: { pread(file.fd, at: $0, count: $1) }, initSegment: initSegment)
            return (fragment, file.size)
        } catch {
            throw .output(path: path, operation: "read media segment", message: error.reason)
        }
    }

    private static func open(_ path: String) throws(FormatError) -> (fd: Int32, size: Int64) {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FormatError(reason: String(cString: strerror(errno))) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw FormatError(reason: message)
        }
        return (fd, Int64(st.st_size))
    }

    private static func pread(_ fd: Int32, at offset: Int64, count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = out.withUnsafeMutableBytes { Glibc.pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            done += n
        }
        return Array(out[..<done])
    }

    // MARK: Boxes

    struct Box {
        var type: String
        var body: ArraySlice<UInt8>
    }

    /// The boxes directly inside `data` (a file's top level, or a container's body).
    static func boxes(in data: ArraySlice<UInt8>) throws(FormatError) -> [Box] {
        var out: [Box] = []
        var i = data.startIndex
        while i < data.endIndex {
            guard data.endIndex - i >= 8 else { throw FormatError(reason: "truncated box header") }
            var r = ByteReader(data[i..<min(data.endIndex, i + 16)])
            var size = Int(try r.u32())
            let type = try r.fourCC()
            var header = 8
            if size == 1 {
                let large = try r.u64()
                guard large <= UInt64(Int.max) else { throw FormatError(reason: "box \(type) too large") }
                size = Int(large)
                header = 16
            } else if size == 0 {
                size = data.endIndex - i
            }
            guard size >= header, size <= data.endIndex - i else { throw FormatError(reason: "box \(type) runs past its container") }
            out.append(Box(type: type, body: data[(i + header)..<(i + size)]))
            i += size
        }
        return out
    }

    /// Big-endian fields, bounds-checked.
    struct ByteReader {
        var data: ArraySlice<UInt8>
        init(_ data: ArraySlice<UInt8>) { self.data = data }

        mutating func take(_ n: Int) throws(FormatError) -> ArraySlice<UInt8> {
            guard data.count >= n else { throw FormatError(reason: "box shorter than its fields") }
            defer { data = data.dropFirst(n) }
            return data.prefix(n)
        }
        mutating func skip(_ n: Int) throws(FormatError) { _ = try take(n) }
        mutating func u8() throws(FormatError) -> UInt8 { try take(1).first! }
        mutating func u32() throws(FormatError) -> UInt32 { try take(4).reduce(0) { $0 << 8 | UInt32($1) } }
        mutating func u64() throws(FormatError) -> UInt64 { try take(8).reduce(0) { $0 << 8 | UInt64($1) } }
        /// The 24-bit flags after a full box's version.
        mutating func flags24() throws(FormatError) -> UInt32 { try take(3).reduce(0) { $0 << 8 | UInt32($1) } }
        /// A full box's version and flags; the flags.
        mutating func flags() throws(FormatError) -> UInt32 { try u32() & 0x00FF_FFFF }
        mutating func fourCC() throws(FormatError) -> String { String(decoding: try take(4), as: UTF8.self) }
    }
}
