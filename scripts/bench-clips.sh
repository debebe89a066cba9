#!/usr/bin/env bash
# The benchmark batch, shared by the batch benchmarks (scripts/bench-e2e.sh; the same specs as
# scripts/bench-batch.sh's): 20 clips of 5–60 s (266 s in all; most of them short or small, as
# uploads are), 360p–1080p, landscape and portrait, with and without audio, 25/30 fps, lavfi
# sources encoded the way a phone or camera upload would be (H.264 + AAC, CRF 20). Generated
# once into DIR (default .tmp/bench-batch/clips, never committed); existing clips are kept.
#   scripts/bench-clips.sh [DIR]        prints DIR
set -euo pipefail
cd "$(dirname "$0")/.."
clips=${1:-.tmp/bench-batch/clips}
mkdir -p "$clips"
ff() { ffmpeg -hide_banner -loglevel error -y -nostdin "$@"; }
# index: seconds size rate audio(1/0) source
specs=(
  "60 640x360 30 1 testsrc2"    "5 1920x1080 30 1 testsrc2"   "6 1080x1920 30 1 testsrc"
  "12 640x360 25 0 testsrc2"    "15 1280x720 25 1 testsrc"    "8 720x1280 30 1 testsrc2"
  "5 1920x1080 25 0 testsrc"    "5 854x480 30 1 testsrc2"     "15 480x854 30 0 testsrc2"
  "20 854x480 25 1 testsrc"     "5 1920x1080 30 1 testsrc2"   "25 360x640 30 1 testsrc2"
  "6 1280x720 30 0 testsrc"     "30 640x360 30 1 testsrc2"    "6 1080x1920 30 0 testsrc2"
  "9 854x480 25 1 testsrc"      "12 1280x720 30 1 testsrc2"   "7 640x360 30 1 testsrc"
  "10 720x1280 25 1 testsrc2"   "5 1920x1080 30 1 testsrc2"
)
for i in "${!specs[@]}"; do
  read -r secs size rate audio src <<<"${specs[$i]}"
  out="$clips/clip$(printf %02d "$i")_${size}_${secs}s$([ "$audio" = 1 ] && echo _audio || echo _mute).mp4"
  [ -s "$out" ] && continue
  a=(); [ "$audio" = 1 ] && a=(-f lavfi -i "sine=frequency=$((300 + i * 20)):sample_rate=48000" -c:a aac -b:a 128k -ac 2)
  ff -f lavfi -i "$src=size=$size:rate=$rate" "${a[@]}" -t "$secs" -map 0:v ${a:+-map 1:a} \
     -c:v libx264 -preset veryfast -crf 20 -pix_fmt yuv420p "$out.tmp.mp4"
  mv "$out.tmp.mp4" "$out"
done
echo "$clips"
