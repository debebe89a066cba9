#!/usr/bin/env bash
# Generates vidd's media fixtures with the ffmpeg CLI (lavfi sources only: nothing is downloaded).
#
#   Fixtures/generate.sh            the small committed set (into Fixtures/)
#   Fixtures/generate.sh large      4K and the 60 s 1080p30 benchmark source (into .tmp/fixtures/, gitignored)
#
# Determinism: every input is a synthetic lavfi source (testsrc2, sine),
# encoders run single-threaded with bitexact flags and metadata stripped, so the same ffmpeg/x264/x265/
# libvpx versions reproduce the same bytes. Other versions give equivalent media (same streams,
# sizes, durations, frame counts), which is all the tests check: they never compare bytes or hashes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mode="${1:-small}"
ff() { ffmpeg -hide_banner -loglevel error -y -nostdin "$@"; }
# Strip version strings and dates so re-runs produce identical files.
BITEXACT=(-map_metadata -1 -fflags +bitexact -flags:v +bitexact -flags:a +bitexact)

if [[ "$mode" == "large" ]]; then
  out="$here/../.tmp/fixtures"; mkdir -p "$out"
  # 60 s 1080p30 with audio: the benchmark source (CRF 18: a high-quality source, ~like a camera upload).
  [[ -s "$out/bench_1080p30_60s.mp4" ]] || { ff \
    -f lavfi -i "testsrc2=size=1920x1080:rate=30" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000" -t 60 \
    -c:v libx264 -preset veryfast -crf 18 -pix_fmt yuv420p -g 60 -c:a aac -b:a 160k -ac 2 \
    "${BITEXACT[@]}" -movflags +faststart "$out/bench_tmp.mp4" && mv "$out/bench_tmp.mp4" "$out/bench_1080p30_60s.mp4"; }
  # 4K 2 s: ladder tests from the top rung.
  [[ -s "$out/uhd_2160p.mp4" ]] || { ff \
    -f lavfi -i "testsrc2=size=3840x2160:rate=30" -f lavfi -i "sine=frequency=330:sample_rate=48000" -t 2 \
    -c:v libx264 -preset veryfast -crf 26 -pix_fmt yuv420p -c:a aac -b:a 96k \
    "${BITEXACT[@]}" "$out/uhd_tmp.mp4" && mv "$out/uhd_tmp.mp4" "$out/uhd_2160p.mp4"; }
  ls -l "$out"
  exit 0
fi

cd "$here"
X264=(-c:v libx264 -preset veryfast -threads 1 -x264-params "threads=1")

# 1. Landscape 1280x720 30 fps H.264 High + AAC 48 kHz stereo, 2 s.
ff -f lavfi -i "testsrc2=size=1280x720:rate=30" \
   -f lavfi -i "sine=frequency=440:sample_rate=48000" -t 2 \
   "${X264[@]}" -crf 32 -pix_fmt yuv420p -profile:v high \
   -c:a aac -b:a 64k -ac 2 "${BITEXACT[@]}" -movflags +faststart landscape_720p.mp4

# 2. Portrait phone video: coded 640x360 landscape with a 90° display matrix (display 360x640), AAC mono 44.1 kHz.
ff -f lavfi -i "testsrc2=size=640x360:rate=30" \
   -f lavfi -i "sine=frequency=660:sample_rate=44100" -t 2 \
   "${X264[@]}" -crf 32 -pix_fmt yuv420p -c:a aac -b:a 48k -ac 1 "${BITEXACT[@]}" portrait_tmp.mp4
# ffmpeg 5.1 drops a rotate tag given while encoding; a stream copy writes it as the tkhd display matrix.
ff -i portrait_tmp.mp4 -c copy -metadata:s:v:0 rotate=90 "${BITEXACT[@]}" portrait_rotated.mp4
rm -f portrait_tmp.mp4

# 3. Video without audio, 320x240 25 fps.
ff -f lavfi -i "testsrc2=size=320x240:rate=25" -t 2 \
   "${X264[@]}" -crf 30 -pix_fmt yuv420p "${BITEXACT[@]}" no_audio.mp4

# 4. Audio only: AAC 48 kHz stereo in MP4 (.m4a), 2 s.
ff -f lavfi -i "sine=frequency=523:sample_rate=48000" -t 2 -ac 2 \
   -c:a aac -b:a 64k "${BITEXACT[@]}" audio_only.m4a

# 5. VP9 + Opus in WebM (Matroska has no frame count), 320x180 24 fps.
ff -f lavfi -i "testsrc2=size=320x180:rate=24" \
   -f lavfi -i "sine=frequency=440:sample_rate=48000" -t 2 \
   -c:v libvpx-vp9 -b:v 200k -deadline realtime -cpu-used 8 -threads 1 -row-mt 0 -pix_fmt yuv420p \
   -c:a libopus -b:a 48k -ac 2 "${BITEXACT[@]}" vp9_opus.webm

# 6. 10-bit HEVC (Main 10, yuv420p10le) tagged hvc1, 320x240 30 fps, with AAC.
ff -f lavfi -i "testsrc2=size=320x240:rate=30" \
   -f lavfi -i "sine=frequency=440:sample_rate=48000" -t 2 \
   -c:v libx265 -preset ultrafast -crf 30 -pix_fmt yuv420p10le -tag:v hvc1 \
   -x265-params "log-level=error:pools=1:frame-threads=1" \
   -c:a aac -b:a 48k -ac 2 "${BITEXACT[@]}" hevc_10bit.mp4

# 7. Variable frame rate: 1 s at 30 fps then 1 s at 10 fps (timestamps kept, not resampled): 40 frames.
ff -f lavfi -i "testsrc2=size=320x240:rate=30" -t 2 \
   -vf "select='lt(n\\,30)+not(mod(n\\,3))',setpts='if(lt(N\\,30)\\,N/30\\,1+(N-30)/10)/TB'" -vsync vfr \
   "${X264[@]}" -crf 30 -pix_fmt yuv420p -video_track_timescale 90000 "${BITEXACT[@]}" vfr.mp4

# 8. Truncated upload: a moov-at-end MP4 (as cameras write them) cut at 60 %: the index never arrived.
ff -f lavfi -i "testsrc2=size=320x240:rate=30" -f lavfi -i "sine=frequency=440:sample_rate=48000" -t 2 \
   "${X264[@]}" -crf 30 -pix_fmt yuv420p -c:a aac -b:a 48k "${BITEXACT[@]}" truncated_tmp.mp4
size=$(stat -c %s truncated_tmp.mp4)
head -c $(( size * 6 / 10 )) truncated_tmp.mp4 > truncated.mp4
rm -f truncated_tmp.mp4

# 9. Zero-byte file and 10. a text file named .mp4.
: > empty.mp4
printf 'This is not a video. It is a text file with an .mp4 name.\n' > not_video.mp4

ls -l "$here"
du -ch "$here"/*.mp4 "$here"/*.m4a "$here"/*.webm | tail -1
