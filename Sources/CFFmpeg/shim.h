#ifndef VIDD_CFFMPEG_SHIM_H
#define VIDD_CFFMPEG_SHIM_H
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
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

// Macros Swift cannot import.
static inline int vidd_AVERROR(int e) { return AVERROR(e); }
static inline int vidd_AVERROR_EOF(void) { return AVERROR_EOF; }
static inline int64_t vidd_AV_NOPTS_VALUE(void) { return AV_NOPTS_VALUE; }
static inline AVRational vidd_AV_TIME_BASE_Q(void) { return AV_TIME_BASE_Q; }
#endif
