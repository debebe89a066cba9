#!/usr/bin/env bash
# Runs one libFuzzer target of the Fuzz package for SECONDS (default 600).
#   scripts/fuzz.sh HTTPParserFuzz 600
# Seeds, if any, come from Fuzz/Seeds/NAME; the growing corpus and crash files stay under
# Fuzz/.build/fuzz/NAME (never committed). Exit status is libFuzzer's: non-zero on a crash.
set -euo pipefail
name=${1:?usage: scripts/fuzz.sh NAME [SECONDS]}
seconds=${2:-600}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/Fuzz"
swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library --product "$name"
work="$root/Fuzz/.build/fuzz/$name"
mkdir -p "$work/corpus" "$work/crashes"
seeds=()
[ -d "$root/Fuzz/Seeds/$name" ] && seeds=("$root/Fuzz/Seeds/$name")
exec "$root/Fuzz/.build/release/$name" "$work/corpus" "${seeds[@]}" \
    -max_total_time="$seconds" -artifact_prefix="$work/crashes/" -print_final_stats=1
