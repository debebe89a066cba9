#ifndef VIDD_CFFMPEG_SHIM_H
#define VIDD_CFFMPEG_SHIM_H
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersrc.h>
#include <libavfilter/buffersink.h>
#include <libswscale/swscale.h>
#include <libswresample/swresample.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
#include <libavutil/channel_layout.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/error.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

// Macros Swift cannot import.
static inline int vidd_AVERROR(int e) { return AVERROR(e); }
static inline int vidd_AVERROR_EOF(void) { return AVERROR_EOF; }
static inline int vidd_AVERROR_EAGAIN(void) { return AVERROR(EAGAIN); }
static inline int vidd_AVERROR_INVALIDDATA(void) { return AVERROR_INVALIDDATA; }
static inline int64_t vidd_AV_NOPTS_VALUE(void) { return AV_NOPTS_VALUE; }
static inline AVRational vidd_AV_TIME_BASE_Q(void) { return AV_TIME_BASE_Q; }
static inline unsigned vidd_AV_CODEC_FLAG_CLOSED_GOP(void) { return AV_CODEC_FLAG_CLOSED_GOP; }

// AVFrame.data / linesize are fixed arrays that Swift imports as 8-tuples: hand out plain pointers.
static inline uint8_t *vidd_frame_plane(const AVFrame *f, int i) { return f->data[i]; }
static inline int vidd_frame_linesize(const AVFrame *f, int i) { return f->linesize[i]; }

/// Scales `src` into the rectangle at (x, y) of an already allocated planar YUV 4:2:0 `dst`
/// (x and y even): the storyboard sprite is filled tile by tile without an intermediate frame.
static inline int vidd_sws_scale_into(struct SwsContext *c, const AVFrame *src, AVFrame *dst, int x, int y) {
    uint8_t *planes[4] = {
        dst->data[0] + (ptrdiff_t)y * dst->linesize[0] + x,
        dst->data[1] + (ptrdiff_t)(y / 2) * dst->linesize[1] + x / 2,
        dst->data[2] + (ptrdiff_t)(y / 2) * dst->linesize[2] + x / 2,
        NULL };
    int strides[4] = { dst->linesize[0], dst->linesize[1], dst->linesize[2], 0 };
    return sws_scale(c, (const uint8_t *const *)src->data, src->linesize, 0, src->height, planes, strides);
}

/// The display matrix of a stream (from its side data) as a rotation in degrees, counter-clockwise
/// as libavutil reports it; NAN when the stream has none.
static inline double vidd_stream_rotation(const AVStream *st) {
    const uint8_t *m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
    return m ? av_display_rotation_get((const int32_t *)m) : NAN;
}

/// Copies the stream's display matrix (16.16 and 2.30 fixed point, libavutil's layout) into `out`;
/// 0 when the stream has none.
static inline int vidd_stream_display_matrix(const AVStream *st, int32_t out[9]) {
    const uint8_t *m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
    if (!m) return 0;
    memcpy(out, m, 9 * sizeof(int32_t));
    return 1;
}

/// A human-readable libav error string (av_err2str is a macro using a compound literal).
static inline void vidd_strerror(int code, char *buf, size_t size) {
    if (av_strerror(code, buf, size) < 0) snprintf(buf, size, "libav error %d", code);
}

/// Names the calling thread (prctl is variadic, so Swift cannot call it). Threads that libav and
/// x264 start inherit the name, which lets tests find every thread a transcode owns.
static inline void vidd_set_thread_name(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }
/// Copies the calling thread's name into `buf` (at least 16 bytes).
static inline void vidd_get_thread_name(char *buf) { prctl(PR_GET_NAME, buf, 0, 0, 0); }
#endif
