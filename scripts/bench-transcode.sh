#!/usr/bin/env bash
# Transcode benchmark (not part of the test suite): vidd vs the ffmpeg CLI on a 60 s 1080p30 source.
#   scripts/bench-transcode.sh [RUNS] [bench.py options, e.g. --variants vidd,direct --ssim vidd,direct]
set -euo pipefail
cd "$(dirname "$0")/.."
Fixtures/generate.sh large >/dev/null
swift build -c release --product vidd >/dev/null
python3 Benchmarks/transcode/bench.py .tmp/fixtures/bench_1080p30_60s.mp4 "$(swift build -c release --show-bin-path)/vidd" --runs "${1:-3}" "${@:2}"
