#!/usr/bin/env bash
# Runs vidd probe and vidd transcode (one small rung) on every fixture under valgrind memcheck and
# summarises errors and leaks per run. Uses the debug build. Slow (minutes per run): not part of the suite.
#   scripts/valgrind-fixtures.sh [OUTDIR] [MODE:FIXTURE ...]   e.g. transcode:landscape_720p.mp4 probe:truncated.mp4
set -uo pipefail
cd "$(dirname "$0")/.."
swift build --product vidd >/dev/null
bin="$(swift build --show-bin-path)/vidd"
out="${1:-.tmp/valgrind}"; mkdir -p "$out"
shift || true
runs=("$@")
if [[ ${#runs[@]} -eq 0 ]]; then
  for f in Fixtures/*.mp4 Fixtures/*.m4a Fixtures/*.webm; do runs+=("probe:$(basename "$f")" "transcode:$(basename "$f")"); done
fi
for run in "${runs[@]}"; do
  mode="${run%%:*}"; n="${run#*:}"; f="Fixtures/$n"
  {
    args=("$mode" "$f"); [[ $mode == transcode ]] && args+=(-o "$out/o-$n" --rungs 144)
    valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite \
      --track-origins=no --num-callers=30 --log-file="$out/$n.$mode.log" "$bin" "${args[@]}" >/dev/null 2>&1
    errs=$(grep -o "ERROR SUMMARY: [0-9]*" "$out/$n.$mode.log" | awk '{print $3}')
    def=$(grep "definitely lost:" "$out/$n.$mode.log" | awk '{print $4" "$5}')
    ind=$(grep "indirectly lost:" "$out/$n.$mode.log" | awk '{print $4" "$5}')
    printf '%-22s %-9s errors=%s definitely_lost=%s indirectly_lost=%s\n' "$n" "$mode" "${errs:-?}" "${def:-0 bytes}" "${ind:-0 bytes}"
  }
done
