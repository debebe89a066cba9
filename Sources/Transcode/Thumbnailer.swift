import CFFmpeg
import Foundation

/// Poster and storyboard, built from the same decoded frames as the rungs (no second decode).
///
/// Poster: the first frame at or after each of a few candidate times is scored on a 160-px gray
/// copy (too dark or too bright → rejected; otherwise the variance of the Laplacian, a standard
/// sharpness measure) and the best one is kept. Storyboard: one thumbnail per interval scaled
/// straight into a sprite sheet, indexed by a WebVTT file with `#xywh=` fragments.
final class Thumbnailer {
    struct Storyboard {
        let interval: Double
        let columns: Int
        let rows: Int
        let count: Int
        let thumbWidth: Int
        let thumbHeight: Int
    }

    static let candidateFractions = [0.1, 0.25, 0.4, 0.55, 0.7]
    static let maxThumbWidth = 160
    static let maxPosterLongSide = 1280

    let duration: Double
    let posterSize: (Int, Int)
    let storyboard: Storyboard
    private var candidateTimes: [Double]
    private var best: (ref: FrameRef, score: Double, time: Double)?
    /// The latest frame while no candidate was reached: the poster when the picture ends before the
    /// first candidate time (a duration taken from the container, e.g. Matroska's, covers the audio).
    private var latest: (ref: FrameRef, time: Double)?
    private var sprite: OwnedFrame
    private var nextThumb = 0
    private var thumbScaler: OpaquePointer?
    private var grayScaler: OpaquePointer?
    private(set) var rejectedCandidates = 0

    init(duration: Double, displayWidth: Int, displayHeight: Int) throws(TranscodeError) {
        self.duration = max(duration, 0.04)
        let long = max(displayWidth, displayHeight)
        let scale = min(1, Double(Self.maxPosterLongSide) / Double(long))
        posterSize = (max(2, Int(Double(displayWidth) * scale) & ~1), max(2, Int(Double(displayHeight) * scale) & ~1))
        candidateTimes = Self.candidateFractions.map { $0 * duration }
        // Thumbnail width ≤ 160 px (portrait: 160 px high); sprite at most 100 thumbnails, one per ≥ 1 s.
        let tw: Int, th: Int
        if displayWidth >= displayHeight {
            tw = Self.maxThumbWidth; th = max(2, Int((Double(Self.maxThumbWidth) * Double(displayHeight) / Double(displayWidth) / 2).rounded()) * 2)
        } else {
            th = Self.maxThumbWidth; tw = max(2, Int((Double(Self.maxThumbWidth) * Double(displayWidth) / Double(displayHeight) / 2).rounded()) * 2)
        }
        let interval = max(1, (duration / 100).rounded(.up))
        let count = max(1, Int((duration / interval).rounded(.up)))
        let columns = min(10, count)
        let rows = (count + columns - 1) / columns
        storyboard = Storyboard(interval: interval, columns: columns, rows: rows, count: count, thumbWidth: tw, thumbHeight: th)
        sprite = try OwnedFrame()
        let f = sprite.frame
        f.pointee.width = Int32(tw * columns)
        f.pointee.height = Int32(th * rows)
        f.pointee.format = AV_PIX_FMT_YUVJ420P.rawValue
        try LibAV.check(av_frame_get_buffer(f, 0), "storyboard av_frame_get_buffer")
        // Black (full range): Y 0, chroma 128.
        memset(vidd_frame_plane(f, 0), 0, Int(vidd_frame_linesize(f, 0)) * Int(f.pointee.height))
        memset(vidd_frame_plane(f, 1), 128, Int(vidd_frame_linesize(f, 1)) * Int((f.pointee.height + 1) / 2))
        memset(vidd_frame_plane(f, 2), 128, Int(vidd_frame_linesize(f, 2)) * Int((f.pointee.height + 1) / 2))
    }

    deinit {
        sws_freeContext(thumbScaler)
        sws_freeContext(grayScaler)
    }

    /// Offers an upright decoded frame at `time` seconds from the start.
    func offer(_ frame: FrameRef, time: Double) throws(TranscodeError) {
        let f = frame.frame
        while nextThumb < storyboard.count && time + 1e-6 >= Double(nextThumb) * storyboard.interval {
            let col = nextThumb % storyboard.columns, row = nextThumb / storyboard.columns
            thumbScaler = sws_getCachedContext(thumbScaler, f.pointee.width, f.pointee.height, AVPixelFormat(rawValue: f.pointee.format),
                                               Int32(storyboard.thumbWidth), Int32(storyboard.thumbHeight), AV_PIX_FMT_YUVJ420P,
                                               SWS_BICUBIC, nil, nil, nil)
            guard thumbScaler != nil else { throw .libav(operation: "storyboard scaler", code: -22, message: "unsupported input") }
            try LibAV.check(vidd_sws_scale_into(thumbScaler, f, sprite.frame, Int32(col * storyboard.thumbWidth), Int32(row * storyboard.thumbHeight)),
                            "storyboard sws_scale")
            nextThumb += 1
        }
        if best == nil { latest = (frame, time) }
        if let next = candidateTimes.first, time + 1e-6 >= next {
            latest = nil
            candidateTimes.removeFirst()
            while let n = candidateTimes.first, time + 1e-6 >= n { candidateTimes.removeFirst() }
            let score = try sharpness(f)
            if let score {
                if best == nil || score > best!.score { best = (frame, score, time) }
            } else {
                rejectedCandidates += 1
                // Keep the first frame anyway if everything is dark (a black video still needs a poster).
                if best == nil { best = (frame, -1, time) }
            }
        }
    }

    /// Variance of the 4-neighbour Laplacian of a 160-px gray copy; nil for near-black or near-white frames.
    private func sharpness(_ f: UnsafePointer<AVFrame>) throws(TranscodeError) -> Double? {
        let w: Int32 = 160
        let h = max(2, Int32((Double(w) * Double(f.pointee.height) / Double(max(1, f.pointee.width))).rounded()))
        grayScaler = sws_getCachedContext(grayScaler, f.pointee.width, f.pointee.height, AVPixelFormat(rawValue: f.pointee.format),
                                          w, h, AV_PIX_FMT_GRAY8, SWS_BILINEAR, nil, nil, nil)
        guard grayScaler != nil else { throw .libav(operation: "poster scaler", code: -22, message: "unsupported input") }
        let g = try OwnedFrame()
        g.frame.pointee.width = w; g.frame.pointee.height = h; g.frame.pointee.format = AV_PIX_FMT_GRAY8.rawValue
        try LibAV.check(av_frame_get_buffer(g.frame, 0), "poster av_frame_get_buffer")
        try LibAV.check(sws_scale_frame(grayScaler, g.frame, f), "poster sws_scale_frame")
        let stride = Int(vidd_frame_linesize(g.frame, 0))
        guard let p = vidd_frame_plane(g.frame, 0) else { return nil }
        var sum = 0.0
        for y in 0..<Int(h) { for x in 0..<Int(w) { sum += Double(p[y * stride + x]) } }
        let mean = sum / Double(Int(w) * Int(h))
        if mean < 24 || mean > 235 { return nil }
        var lsum = 0.0, lsq = 0.0, n = 0.0
        for y in 1..<(Int(h) - 1) {
            for x in 1..<(Int(w) - 1) {
                let c = Int(p[y * stride + x])
                let l = Double(Int(p[(y - 1) * stride + x]) + Int(p[(y + 1) * stride + x]) + Int(p[y * stride + x - 1]) + Int(p[y * stride + x + 1]) - 4 * c)
                lsum += l; lsq += l * l; n += 1
            }
        }
        guard n > 0 else { return 0 }
        let m = lsum / n
        return lsq / n - m * m
    }

    var posterTime: Double? { best?.time }

    /// Writes poster.jpg (if any frame was seen), storyboard.jpg and storyboard.vtt into `directory`.
    func write(to directory: String, sink: (any OutputSink)?) throws(TranscodeError) {
        if best == nil, let latest {
            best = (latest.ref, -1, latest.time)
            self.latest = nil
        }
        if let best {
            let f = best.ref.frame
            let scaler = sws_getContext(f.pointee.width, f.pointee.height, AVPixelFormat(rawValue: f.pointee.format),
                                        Int32(posterSize.0), Int32(posterSize.1), AV_PIX_FMT_YUVJ420P, SWS_BICUBIC, nil, nil, nil)
            guard scaler != nil else { throw .libav(operation: "poster scaler", code: -22, message: "unsupported input") }
            defer { sws_freeContext(scaler) }
            let out = try OwnedFrame()
            out.frame.pointee.width = Int32(posterSize.0); out.frame.pointee.height = Int32(posterSize.1)
            out.frame.pointee.format = AV_PIX_FMT_YUVJ420P.rawValue
            try LibAV.check(av_frame_get_buffer(out.frame, 0), "poster av_frame_get_buffer")
            try LibAV.check(sws_scale_frame(scaler, out.frame, f), "poster sws_scale_frame")
            try Self.writeJPEG(out.frame, path: directory + "/poster.jpg")
            sink?.fileCompleted(OutputFile(relativePath: "poster.jpg", localPath: directory + "/poster.jpg", kind: .poster, rendition: nil, isFinal: true))
        }
        guard nextThumb > 0 else { return }
        try Self.writeJPEG(sprite.frame, path: directory + "/storyboard.jpg")
        sink?.fileCompleted(OutputFile(relativePath: "storyboard.jpg", localPath: directory + "/storyboard.jpg", kind: .storyboard, rendition: nil, isFinal: true))
        var vtt = "WEBVTT\n\n"
        for i in 0..<nextThumb {
            let start = Double(i) * storyboard.interval
            let end = min(duration, start + storyboard.interval)
            let x = (i % storyboard.columns) * storyboard.thumbWidth, y = (i / storyboard.columns) * storyboard.thumbHeight
            vtt += "\(Self.timestamp(start)) --> \(Self.timestamp(max(end, start + 0.001)))\nstoryboard.jpg#xywh=\(x),\(y),\(storyboard.thumbWidth),\(storyboard.thumbHeight)\n\n"
        }
        let vttPath = directory + "/storyboard.vtt"
        guard FileManager.default.createFile(atPath: vttPath, contents: Data(vtt.utf8)) else {
            throw .output(path: vttPath, operation: "write", message: "cannot create file")
        }
        sink?.fileCompleted(OutputFile(relativePath: "storyboard.vtt", localPath: vttPath, kind: .storyboardIndex, rendition: nil, isFinal: true))
    }

    static func timestamp(_ t: Double) -> String {
        let ms = Int((t * 1000).rounded())
        return String(format: "%02d:%02d:%02d.%03d", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000)
    }

    /// One JPEG through libavcodec's MJPEG encoder.
    static func writeJPEG(_ frame: UnsafeMutablePointer<AVFrame>, path: String) throws(TranscodeError) {
        guard let enc = avcodec_find_encoder(AV_CODEC_ID_MJPEG), let ctx = avcodec_alloc_context3(enc) else {
            throw .libav(operation: "find MJPEG encoder", code: -1, message: "no MJPEG encoder")
        }
        var c: UnsafeMutablePointer<AVCodecContext>? = ctx
        defer { avcodec_free_context(&c) }
        ctx.pointee.width = frame.pointee.width
        ctx.pointee.height = frame.pointee.height
        ctx.pointee.pix_fmt = AV_PIX_FMT_YUVJ420P
        ctx.pointee.time_base = AVRational(num: 1, den: 25)
        ctx.pointee.flags |= AV_CODEC_FLAG_QSCALE
        ctx.pointee.global_quality = 3 * FF_QP2LAMBDA
        try LibAV.check(avcodec_open2(ctx, enc, nil), "open MJPEG encoder")
        frame.pointee.quality = ctx.pointee.global_quality
        frame.pointee.pts = 0
        try LibAV.check(avcodec_send_frame(ctx, frame), "MJPEG send frame")
        try LibAV.check(avcodec_send_frame(ctx, nil), "MJPEG flush")
        let pkt = try OwnedPacket()
        try LibAV.check(avcodec_receive_packet(ctx, pkt.packet), "MJPEG receive packet")
        let data = Data(bytes: pkt.packet.pointee.data, count: Int(pkt.packet.pointee.size))
        guard FileManager.default.createFile(atPath: path, contents: data) else {
            throw .output(path: path, operation: "write", message: "cannot create file")
        }
    }
}
