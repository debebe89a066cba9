#!/bin/bash
# PGWire vs postgres-nio (Benchmarks/Sources/PGBench) and libpq's pgbench -S, side by side.
# Usage: scripts/pg-bench.sh 'postgres://user:pw@127.0.0.1:port/db?sslmode=disable' [rounds=3] [pairs=20]
# Creates the pgbench tables (pgbench -i -s 1: 100 000 accounts) in that database.
#
# 1. `rounds` runs of PGBench: PGWire and postgres-nio interleaved in one process (round trips
#    and the 100 000-row fetch).
# 2. `pairs` paired runs of the same prepared point query: `pgbench -S -M prepared -t N` and
#    PGWire alone for N queries, back to back, the order alternating. Each run takes well under a
#    second, so a pair sees the same machine; the figure is the median of the per-pair ratios.
set -euo pipefail
URL=${1:?postgres URL}; ROUNDS=${2:-3}; PAIRS=${3:-20}; N=10000
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PGBENCH=$(command -v pgbench || echo /usr/lib/postgresql/15/bin/pgbench)
BENCH="$ROOT/Benchmarks/.build/release/PGBench"
"$PGBENCH" -i -s 1 -q "$URL" >/dev/null 2>&1
(cd "$ROOT/Benchmarks" && swift build -c release --product PGBench >/dev/null)
for i in $(seq "$ROUNDS"); do
  echo "== round $i"
  "$BENCH" "$URL" 20000 3
done
[ "$PAIRS" -gt 0 ] || exit 0
libpq() { "$PGBENCH" -S -M prepared -c 1 -j 1 -t "$N" "$URL" 2>/dev/null | awk '/^tps/ {printf "%d", $3}'; }
pgwire() { PGBENCH_PGWIRE_ONLY=1 "$BENCH" "$URL" "$N" 1 | awk '{print $3}'; }
echo "== $PAIRS pairs of $N prepared point queries (pgbench -S -t $N vs PGWire alone)"
printf '%-5s %12s %12s %8s\n' pair pgbench PGWire ratio
ratios=(); a=(); b=()
for i in $(seq "$PAIRS"); do
  if (( i % 2 )); then p=$(libpq); w=$(pgwire); else w=$(pgwire); p=$(libpq); fi
  r=$(awk -v w="$w" -v p="$p" 'BEGIN {printf "%.3f", w / p}')
  printf '%-5s %12s %12s %8s\n' "$i" "$p" "$w" "$r"
  ratios+=("$r"); a+=("$p"); b+=("$w")
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
mp=$(median "${a[@]}"); mw=$(median "${b[@]}"); mr=$(median "${ratios[@]}")
lo=$(printf '%s\n' "${ratios[@]}" | sort -g | head -1); hi=$(printf '%s\n' "${ratios[@]}" | sort -g | tail -1)
echo "median pgbench $mp tps, PGWire $mw q/s"
echo "PGWire / pgbench: median of pair ratios $mr, ratio of medians $(awk -v w="$mw" -v p="$mp" 'BEGIN {printf "%.3f", w / p}'), range $lo-$hi"
