#!/usr/bin/env bash
# Runs vidd probe and vidd transcode (one small rung) on every fixture under valgrind memcheck and
# summarises errors and leaks per run. Uses the debug build. Slow (minutes): not part of the suite.
set -uo pipefail
cd "$(dirname "$0")/.."
swift build --product vidd >/dev/null
bin="$(swift build --show-bin-path)/vidd"
out="${1:-.tmp/valgrind}"; mkdir -p "$out"
for f in Fixtures/*.mp4 Fixtures/*.m4a Fixtures/*.webm; do
  n=$(basename "$f")
  for mode in probe transcode; do
    args=("$mode" "$f"); [[ $mode == transcode ]] && args+=(-o "$out/o-$n" --rungs 144)
    valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite \
      --track-origins=no --num-callers=30 --log-file="$out/$n.$mode.log" "$bin" "${args[@]}" >/dev/null 2>&1
    errs=$(grep -o "ERROR SUMMARY: [0-9]*" "$out/$n.$mode.log" | awk '{print $3}')
    def=$(grep "definitely lost:" "$out/$n.$mode.log" | awk '{print $4" "$5}')
    ind=$(grep "indirectly lost:" "$out/$n.$mode.log" | awk '{print $4" "$5}')
    printf '%-22s %-9s errors=%s definitely_lost=%s indirectly_lost=%s\n' "$n" "$mode" "${errs:-?}" "${def:-0 bytes}" "${ind:-0 bytes}"
  done
done
