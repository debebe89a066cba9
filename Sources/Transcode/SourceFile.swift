import CFFmpeg
import Foundation

/// An opened input: the demuxer context with stream info read, the chosen streams, and the
/// classification of open failures into typed errors. Owned by one thread at a time.
final class SourceFile {
    let path: String
    let format: UnsafeMutablePointer<AVFormatContext>
    let fileSize: Int64
    /// Index of the main video stream (attached cover pictures excluded), if any.
    let videoIndex: Int?
    let audioIndex: Int?
    var notes: [String] = []

    init(path: String) throws(TranscodeError) {
        LibAV.quietLogs()
        self.path = path
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { throw .fileNotFound(path: path) }
        fileSize = Int64(st.st_size)
        guard access(path, R_OK) == 0 else { throw .fileNotFound(path: path) }
        if fileSize == 0 { throw .emptyFile(path: path) }

        var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
        let openCode = avformat_open_input(&ctx, path, nil, nil)
        guard openCode >= 0, let ctx else {
            throw SourceFile.classifyOpenFailure(path: path, size: fileSize, code: openCode)
        }
        format = ctx
        // Bound the stream-info read: hostile files must not make probing slow.
        ctx.pointee.probesize = 32 << 20
        ctx.pointee.max_analyze_duration = 15 * 1_000_000
        let infoCode = avformat_find_stream_info(ctx, nil)
        if infoCode < 0 {
            var c: UnsafeMutablePointer<AVFormatContext>? = ctx
            avformat_close_input(&c)
            throw TranscodeError.corrupt(path: path, detail: "stream info unreadable: \(LibAV.message(infoCode))")
        }

        var bestVideo: (index: Int, pixels: Int)? = nil
        var firstAudio: Int? = nil
        var defaultAudio: Int? = nil
        for i in 0..<Int(ctx.pointee.nb_streams) {
            guard let s = ctx.pointee.streams[i], let par = s.pointee.codecpar else { continue }
            switch par.pointee.codec_type {
            case AVMEDIA_TYPE_VIDEO:
                if s.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC != 0 { continue }
                let px = Int(par.pointee.width) * Int(par.pointee.height)
                if bestVideo == nil || px > bestVideo!.pixels { bestVideo = (i, px) }
            case AVMEDIA_TYPE_AUDIO:
                guard par.pointee.ch_layout.nb_channels > 0, par.pointee.sample_rate > 0 else { continue }
                if firstAudio == nil { firstAudio = i }
                if defaultAudio == nil, s.pointee.disposition & AV_DISPOSITION_DEFAULT != 0 { defaultAudio = i }
            default: continue
            }
        }
        videoIndex = bestVideo?.index
        audioIndex = defaultAudio ?? firstAudio
        // Every stored property is set: from here on a throw runs deinit, which closes the input.
        try checkIndexWithinFile()
        if let name = LibAV.string(ctx.pointee.iformat.pointee.name), name.contains("matroska"),
           let cut = SourceFile.matroskaTruncation(path: path, size: fileSize) {
            throw .truncated(path: path, detail: cut)
        }
    }

    deinit {
        var c: UnsafeMutablePointer<AVFormatContext>? = format
        avformat_close_input(&c)
    }

    func stream(_ i: Int) -> UnsafeMutablePointer<AVStream> { format.pointee.streams[i]! }

    /// A moov-first MP4 (or an MKV with cues) cut short still opens; its index then points past
    /// the end of the file. Refuse it rather than publish half a video.
    private func checkIndexWithinFile() throws(TranscodeError) {
        for i in [videoIndex, audioIndex].compactMap({ $0 }) {
            let st = stream(i)
            let n = avformat_index_get_entries_count(st)
            guard n > 0, let last = avformat_index_get_entry(st, n - 1) else { continue }
            let end = last.pointee.pos + Int64(last.pointee.size)
            // Matroska cues point at clusters (size 0); only trust entries with a size.
            if last.pointee.size > 0, end > fileSize {
                throw .truncated(path: path, detail: "stream #\(i)'s index needs \(end) bytes but the file has \(fileSize)")
            }
        }
    }

    /// Tells "not media at all" from "media, but cut short" from "media with damaged headers".
    static func classifyOpenFailure(path: String, size: Int64, code: Int32) -> TranscodeError {
        let head = readHead(path: path, count: 4096)
        if head.isEmpty { return .fileNotFound(path: path) }
        var score: Int32 = 0
        let recognised: String? = head.withUnsafeBufferPointer { buf -> String? in
            // The probe buffer needs AVPROBE_PADDING_SIZE zero bytes after the data.
            var padded = Array(buf) + [UInt8](repeating: 0, count: Int(AVPROBE_PADDING_SIZE))
            return padded.withUnsafeMutableBufferPointer { p -> String? in
                // An empty file name: judge by content only, never by the extension.
                return "".withCString { name -> String? in
                    var pd = AVProbeData(filename: name, buf: p.baseAddress, buf_size: Int32(head.count), mime_type: nil)
                    guard let fmt = av_probe_input_format3(&pd, 1, &score), score > AVPROBE_SCORE_EXTENSION else { return nil }
                    return LibAV.string(fmt.pointee.name)
                }
            }
        }
        guard let recognised else {
            return .notMedia(path: path, reason: "no demuxer recognises the content (\(LibAV.message(code)))")
        }
        if recognised.contains("mp4") || recognised.contains("mov"), let t = isoBMFFTruncation(path: path, size: size) {
            return .truncated(path: path, detail: t)
        }
        return .corrupt(path: path, detail: "\(recognised) container unreadable: \(LibAV.message(code))")
    }

    /// A Matroska/WebM file declares the size of its Segment (everything after the EBML header)
    /// up front; one cut short still opens and demuxes up to the cut, so half a video would pass
    /// as a whole one. A Segment that runs past the end of the file means it was cut. Live
    /// recorders (MediaRecorder) write an unknown size (all ones): nothing can be told then.
    static func matroskaTruncation(path: String, size: Int64) -> String? {
        let head = readHead(path: path, count: 64)
        var offset = 0
        /// An EBML variable-length integer at `offset`: its length, and its value (nil = unknown, all ones).
        func vint() -> (length: Int, value: Int64?)? {
            guard offset < head.count, head[offset] != 0 else { return nil }
            let length = head[offset].leadingZeroBitCount + 1
            guard offset + length <= head.count else { return nil }
            var value = Int64(head[offset] & (0xFF >> length))
            var allOnes = value == Int64(0xFF >> length)
            for b in head[(offset + 1)..<(offset + length)] { value = value << 8 | Int64(b); allOnes = allOnes && b == 0xFF }
            return (length, allOnes ? nil : value)
        }
        // EBML header: ID 1A 45 DF A3, its size, its body; then the Segment: ID 18 53 80 67, its size.
        guard head.starts(with: [0x1A, 0x45, 0xDF, 0xA3]) else { return nil }
        offset = 4
        guard let header = vint(), let headerSize = header.value else { return nil }
        offset += header.length + Int(clamping: headerSize)
        guard offset + 4 <= head.count, Array(head[offset..<(offset + 4)]) == [0x18, 0x53, 0x80, 0x67] else { return nil }
        offset += 4
        guard let segment = vint(), let segmentSize = segment.value else { return nil }
        let end = Int64(offset + segment.length) + segmentSize
        guard end > size else { return nil }
        return "the Matroska segment needs \(end) bytes but the file has \(size)"
    }

    static func readHead(path: String, count: Int) -> [UInt8] {
        guard let fh = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? fh.close() }
        return Array((try? fh.read(upToCount: count)) ?? Data())
    }

    /// Walks the top-level ISO BMFF boxes: a box that runs past the end of the file, or a missing
    /// 'moov', means the file was cut short (the index of a camera's MP4 is written last).
    static func isoBMFFTruncation(path: String, size: Int64) -> String? {
        guard let fh = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? fh.close() }
        var offset: Int64 = 0
        var sawMoov = false
        var boxes = 0
        while offset + 8 <= size, boxes < 10_000 {
            boxes += 1
            guard (try? fh.seek(toOffset: UInt64(offset))) != nil,
                  let h = try? fh.read(upToCount: 16), h.count >= 8 else { return nil }
            let b = Array(h)
            var boxSize = Int64(b[0]) << 24 | Int64(b[1]) << 16 | Int64(b[2]) << 8 | Int64(b[3])
            let type = String(decoding: b[4..<8], as: UTF8.self)
            if boxSize == 1 {
                guard b.count >= 16 else { return "box '\(type)' header cut at offset \(offset)" }
                boxSize = b[8..<16].reduce(Int64(0)) { $0 << 8 | Int64($1) }
            } else if boxSize == 0 {
                boxSize = size - offset
            }
            if boxSize < 8 { return nil }  // garbage, not a truncation
            if type == "moov" { sawMoov = true }
            if offset + boxSize > size {
                return "box '\(type)' at offset \(offset) needs \(boxSize) bytes, only \(size - offset) present" +
                    (sawMoov ? "" : "; no 'moov' index before it")
            }
            offset += boxSize
        }
        if !sawMoov { return "no 'moov' index box in \(size) bytes" }
        return nil
    }
}
