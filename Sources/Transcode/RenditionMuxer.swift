import CFFmpeg
import Foundation

/// One output container: an MP4 file (moov moved to the front on finish) or an HLS fMP4 media
/// playlist with its init segment and media segments. Packets come from encoders owned elsewhere;
/// this type only muxes and reports finished files to the sink.
final class RenditionMuxer {
    enum Kind { case mp4, hls }

    /// What the muxer needs to declare one stream.
    struct StreamTemplate {
        let codec: UnsafeMutablePointer<AVCodecContext>
    }

    let kind: Kind
    let outputDirectory: String
    let relativePath: String
    let rendition: String
    private var context: UnsafeMutablePointer<AVFormatContext>?
    private var encoderTimeBases: [AVRational] = []
    private var headerWritten = false
    private var finished = false
    private let sink: (any OutputSink)?
    /// Passed to the io_open/io_close2 callbacks (C function pointers cannot capture).
    private var ioTracker: Unmanaged<IOTracker>?

    /// `relativePath`: "720p.mp4" or "hls/720p/index.m3u8".
    init(kind: Kind, outputDirectory: String, relativePath: String, rendition: String,
         streams: [StreamTemplate], sink: (any OutputSink)?) throws(TranscodeError) {
        self.kind = kind
        self.outputDirectory = outputDirectory
        self.relativePath = relativePath
        self.rendition = rendition
        self.sink = sink
        let path = outputDirectory + "/" + relativePath
        let dir = (path as NSString).deletingLastPathComponent
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw .output(path: dir, operation: "mkdir", message: "\(error)")
        }
        var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
        try LibAV.check(avformat_alloc_output_context2(&ctx, nil, kind == .mp4 ? "mp4" : "hls", path),
                        "avformat_alloc_output_context2(\(relativePath))")
        guard let ctx else { throw .libav(operation: "avformat_alloc_output_context2", code: -12, message: "no context") }
        context = ctx
        for t in streams {
            guard let st = avformat_new_stream(ctx, nil) else {
                throw .libav(operation: "avformat_new_stream", code: -12, message: "out of memory")
            }
            try LibAV.check(avcodec_parameters_from_context(st.pointee.codecpar, t.codec), "avcodec_parameters_from_context")
            st.pointee.time_base = t.codec.pointee.time_base
            encoderTimeBases.append(t.codec.pointee.time_base)
        }
        var opts: OpaquePointer? = nil
        defer { av_dict_free(&opts) }
        switch kind {
        case .mp4:
            try LibAV.check(avio_open(&ctx.pointee.pb, path, AVIO_FLAG_WRITE), "avio_open(\(path))")
            av_dict_set(&opts, "movflags", "+faststart", 0)
        case .hls:
            let base = (relativePath as NSString).deletingLastPathComponent
            let tracker = IOTracker(outputDirectory: outputDirectory, rendition: rendition,
                                    playlist: path, sink: sink)
            ioTracker = Unmanaged.passRetained(tracker)
            ctx.pointee.opaque = ioTracker!.toOpaque()
            ctx.pointee.io_open = hlsIOOpen
            ctx.pointee.io_close2 = hlsIOClose
            av_dict_set(&opts, "hls_time", String(RungTable.segmentDuration), 0)
            // EVENT, not VOD: the playlist is published while it grows (RFC 8216 §4.3.3.5: a VOD
            // playlist may never change; an EVENT one only gains segments at its end, and
            // `#EXT-X-ENDLIST` once the trailer is written). libavformat writes each version to
            // `index.m3u8.tmp` and renames it (IOTracker maps the name back).
            av_dict_set(&opts, "hls_playlist_type", "event", 0)
            av_dict_set(&opts, "hls_segment_type", "fmp4", 0)
            av_dict_set(&opts, "hls_flags", "independent_segments", 0)
            av_dict_set(&opts, "hls_segment_filename", outputDirectory + "/" + base + "/seg_%04d.m4s", 0)
            av_dict_set(&opts, "hls_fmp4_init_filename", "init.mp4", 0)
        }
        try LibAV.check(avformat_write_header(ctx, &opts), "avformat_write_header(\(relativePath))")
        headerWritten = true
    }

    /// Writes a new reference to `packet` (in its encoder's time base) as stream `stream`.
    func write(_ packet: UnsafePointer<AVPacket>, stream: Int) throws(TranscodeError) {
        guard let ctx = context, !finished else { return }
        guard let p = av_packet_clone(packet) else { throw .libav(operation: "av_packet_clone", code: -12, message: "out of memory") }
        var owned: UnsafeMutablePointer<AVPacket>? = p
        defer { av_packet_free(&owned) }
        p.pointee.stream_index = Int32(stream)
        av_packet_rescale_ts(p, encoderTimeBases[stream], ctx.pointee.streams[stream]!.pointee.time_base)
        try LibAV.check(av_interleaved_write_frame(ctx, p), "write packet to \(relativePath)")
    }

    /// Writes the trailer (MP4: moves the moov atom to the front), closes every file and reports them.
    func finish() throws(TranscodeError) {
        guard let ctx = context, !finished else { return }
        finished = true
        var err: TranscodeError? = nil
        if headerWritten {
            let rc = av_write_trailer(ctx)
            if rc < 0 { err = .libav(operation: "av_write_trailer(\(relativePath))", code: rc, message: LibAV.message(rc)) }
        }
        release()
        if let err { throw err }
        if kind == .mp4 {
            sink?.fileCompleted(OutputFile(relativePath: relativePath, localPath: outputDirectory + "/" + relativePath,
                                           kind: .mp4, rendition: rendition, isFinal: true))
        } else {
            sink?.fileCompleted(OutputFile(relativePath: relativePath, localPath: outputDirectory + "/" + relativePath,
                                           kind: .mediaPlaylist, rendition: rendition, isFinal: true))
        }
    }

    private func release() {
        guard let ctx = context else { return }
        if kind == .mp4 { avio_closep(&ctx.pointee.pb) }
        avformat_free_context(ctx)
        context = nil
        ioTracker?.release()
        ioTracker = nil
    }

    deinit {
        // Cancelled or failed: close the files without a trailer.
        if let ctx = context, headerWritten, !finished, kind == .hls { _ = av_write_trailer(ctx) }
        release()
    }
}

/// Tracks the files the HLS muxer opens so each is reported to the sink when closed.
final class IOTracker {
    let outputDirectory: String
    let rendition: String
    let playlist: String
    let sink: (any OutputSink)?
    var openForWrite: [UnsafeMutablePointer<AVIOContext>: String] = [:]

    init(outputDirectory: String, rendition: String, playlist: String, sink: (any OutputSink)?) {
        self.outputDirectory = outputDirectory; self.rendition = rendition; self.playlist = playlist; self.sink = sink
    }

    func closed(_ url: String) {
        guard let sink else { return }
        // A playlist version is closed under its temporary name and renamed after this returns:
        // it is reported under the playlist's own name, with the temporary file as `localPath`.
        let isPlaylist = url == playlist || url == playlist + ".tmp"
        let kind: OutputFile.Kind = isPlaylist ? .mediaPlaylist : url.hasSuffix(".m4s") ? .hlsSegment : .hlsInit
        var rel = isPlaylist ? playlist : url
        if rel.hasPrefix(outputDirectory + "/") { rel.removeFirst(outputDirectory.count + 1) }
        sink.fileCompleted(OutputFile(relativePath: rel, localPath: url, kind: kind, rendition: rendition, isFinal: kind != .mediaPlaylist))
    }
}

private func hlsIOOpen(_ s: UnsafeMutablePointer<AVFormatContext>?, _ pb: UnsafeMutablePointer<UnsafeMutablePointer<AVIOContext>?>?,
                       _ url: UnsafePointer<CChar>?, _ flags: Int32, _ options: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guard let s, let pb, let url else { return vidd_AVERROR(EINVAL) }
    let rc = avio_open2(pb, url, flags, &s.pointee.interrupt_callback, options)
    if rc >= 0, flags & AVIO_FLAG_WRITE != 0, let opened = pb.pointee, let opaque = s.pointee.opaque {
        Unmanaged<IOTracker>.fromOpaque(opaque).takeUnretainedValue().openForWrite[opened] = String(cString: url)
    }
    return rc
}

private func hlsIOClose(_ s: UnsafeMutablePointer<AVFormatContext>?, _ pb: UnsafeMutablePointer<AVIOContext>?) -> Int32 {
    guard let pb else { return 0 }
    var p: UnsafeMutablePointer<AVIOContext>? = pb
    let rc = avio_closep(&p)
    if let s, let opaque = s.pointee.opaque {
        let tracker = Unmanaged<IOTracker>.fromOpaque(opaque).takeUnretainedValue()
        if let url = tracker.openForWrite.removeValue(forKey: pb), rc >= 0 { tracker.closed(url) }
    }
    return rc
}
