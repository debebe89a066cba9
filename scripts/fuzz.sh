#!/usr/bin/env bash
# Build and run one libFuzzer target of the Fuzz package: scripts/fuzz.sh NAME [SECONDS] [extra libFuzzer flags]
# e.g. scripts/fuzz.sh RESPFuzz 600. Corpus: Fuzz/corpus/<NAME without "Fuzz">/ (seeds, kept in git),
# new inputs go to a scratch copy under Fuzz/.work so the repository corpus stays small.
# Uses SwiftPM's --sanitize flags: with -Xswiftc -sanitize=fuzzer SwiftPM still links the executable's
# renamed entry point (undefined symbol '<NAME>_main'); --sanitize fuzzer makes it leave main to libFuzzer.
set -euo pipefail
name=${1:?usage: fuzz.sh NAME [SECONDS] [libFuzzer flags...]}
seconds=${2:-600}
shift $(( $# >= 2 ? 2 : 1 ))
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/Fuzz"
swift build -c release --sanitize fuzzer --sanitize address -Xswiftc -parse-as-library --product "$name"
seeds="$root/Fuzz/corpus/${name%Fuzz}"
work="$root/Fuzz/.work/$name"
mkdir -p "$work/corpus" "$work/artifacts"
[ -d "$seeds" ] && cp -n "$seeds"/* "$work/corpus/" 2>/dev/null || true
exec "$root/Fuzz/.build/release/$name" "$work/corpus" -max_total_time="$seconds" -rss_limit_mb=1024 \
  -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$@"
