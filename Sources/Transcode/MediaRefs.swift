import CFFmpeg

/// A decoded frame shared read-only by several consumer threads; freed when the last holder drops it.
///
/// @unchecked Sendable: the frame is fully written before it is published through a queue and
/// never mutated afterwards (consumers only read it, e.g. as the source of sws_scale).
final class FrameRef: @unchecked Sendable {
    let frame: UnsafeMutablePointer<AVFrame>
    /// Takes ownership of `frame`.
    init(_ frame: UnsafeMutablePointer<AVFrame>) { self.frame = frame }
    /// A new reference to `source`'s buffers (no pixel copy); nil on allocation failure.
    static func referencing(_ source: UnsafeMutablePointer<AVFrame>) -> FrameRef? {
        guard let f = av_frame_alloc() else { return nil }
        if av_frame_ref(f, source) < 0 { var p: UnsafeMutablePointer<AVFrame>? = f; av_frame_free(&p); return nil }
        return FrameRef(f)
    }
    deinit { var p: UnsafeMutablePointer<AVFrame>? = frame; av_frame_free(&p) }
}

/// An encoded packet shared by several muxing threads; each muxer writes its own reference.
///
/// @unchecked Sendable: immutable after publication (muxers write `av_packet_ref` copies).
final class PacketRef: @unchecked Sendable {
    let packet: UnsafeMutablePointer<AVPacket>
    init(_ packet: UnsafeMutablePointer<AVPacket>) { self.packet = packet }
    deinit { var p: UnsafeMutablePointer<AVPacket>? = packet; av_packet_free(&p) }
}

/// Owns an AVPacket for the lifetime of a scope.
final class OwnedPacket {
    let packet: UnsafeMutablePointer<AVPacket>
    init() throws(TranscodeError) {
        guard let p = av_packet_alloc() else { throw .libav(operation: "av_packet_alloc", code: -12, message: "out of memory") }
        packet = p
    }
    deinit { var p: UnsafeMutablePointer<AVPacket>? = packet; av_packet_free(&p) }
}

/// Owns an AVFrame for the lifetime of a scope.
final class OwnedFrame {
    let frame: UnsafeMutablePointer<AVFrame>
    init() throws(TranscodeError) {
        guard let f = av_frame_alloc() else { throw .libav(operation: "av_frame_alloc", code: -12, message: "out of memory") }
        frame = f
    }
    deinit { var f: UnsafeMutablePointer<AVFrame>? = frame; av_frame_free(&f) }
}
