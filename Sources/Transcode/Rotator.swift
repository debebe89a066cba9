import CFFmpeg

/// Turns decoded pictures upright according to the display matrix, once, before the fan-out to
/// the rungs (libavfilter's transpose/hflip/vflip, as the ffmpeg CLI's autorotate does).
final class Rotator {
    private var graph: UnsafeMutablePointer<AVFilterGraph>?
    private var source: UnsafeMutablePointer<AVFilterContext>?
    private var sink: UnsafeMutablePointer<AVFilterContext>?
    private let filters: String
    private let timeBase: AVRational

    /// `rotation`: counter-clockwise degrees from the display matrix (MediaInfo.rotation); nil when none is needed.
    /// `mirrored`: the matrix also mirrors the picture (VideoInfo.mirrored, Prober.orientation).
    init?(rotation: Int, mirrored: Bool = false, timeBase: AVRational) {
        // The CLI's rule: theta = -rotation; 90 → transpose=clock, 180 → flips, 270 → transpose=cclock.
        switch ((360 - rotation) % 360, mirrored) {
        case (90, false): filters = "transpose=clock"
        case (90, true): filters = "transpose=cclock_flip"
        case (180, false): filters = "hflip,vflip"
        case (180, true): filters = "vflip"
        case (0, true): filters = "hflip"
        case (270, false): filters = "transpose=cclock"
        case (270, true): filters = "transpose=clock_flip"
        default: return nil
        }
        self.timeBase = timeBase
    }

    deinit { avfilter_graph_free(&graph) }

    private func configure(for frame: UnsafePointer<AVFrame>) throws(TranscodeError) {
        guard let g = avfilter_graph_alloc() else { throw .libav(operation: "avfilter_graph_alloc", code: -12, message: "out of memory") }
        graph = g
        g.pointee.nb_threads = 1
        let f = frame.pointee
        let sar = f.sample_aspect_ratio.num > 0 ? f.sample_aspect_ratio : AVRational(num: 1, den: 1)
        let args = "video_size=\(f.width)x\(f.height):pix_fmt=\(f.format):time_base=\(timeBase.num)/\(timeBase.den):pixel_aspect=\(sar.num)/\(sar.den)"
        try LibAV.check(avfilter_graph_create_filter(&source, avfilter_get_by_name("buffer"), "in", args, nil, g), "buffer source")
        try LibAV.check(avfilter_graph_create_filter(&sink, avfilter_get_by_name("buffersink"), "out", nil, nil, g), "buffer sink")
        let outputs = avfilter_inout_alloc(), inputs = avfilter_inout_alloc()
        var o = outputs, i = inputs
        defer { avfilter_inout_free(&o); avfilter_inout_free(&i) }
        guard let outputs, let inputs else { throw .libav(operation: "avfilter_inout_alloc", code: -12, message: "out of memory") }
        outputs.pointee.name = av_strdup("in"); outputs.pointee.filter_ctx = source; outputs.pointee.pad_idx = 0
        inputs.pointee.name = av_strdup("out"); inputs.pointee.filter_ctx = sink; inputs.pointee.pad_idx = 0
        try LibAV.check(avfilter_graph_parse_ptr(g, filters, &i, &o, nil), "parse filter \(filters)")
        try LibAV.check(avfilter_graph_config(g, nil), "configure filter \(filters)")
    }

    /// Rotates `frame` into a new frame (nil when the graph holds it back, which these filters never do).
    func rotate(_ frame: UnsafeMutablePointer<AVFrame>) throws(TranscodeError) -> FrameRef? {
        if graph == nil { try configure(for: frame) }
        try LibAV.check(av_buffersrc_add_frame_flags(source, frame, Int32(AV_BUFFERSRC_FLAG_KEEP_REF)), "rotate: add frame")
        let out = try OwnedFrame()
        let rc = av_buffersink_get_frame(sink, out.frame)
        if rc == LibAV.eagain || rc == LibAV.eof { return nil }
        try LibAV.check(rc, "rotate: get frame")
        return FrameRef.referencing(out.frame)
    }
}
