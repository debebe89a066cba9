#!/bin/bash
# PGWire vs postgres-nio (Benchmarks/Sources/PGBench) and libpq's pgbench -S, side by side.
# Usage: scripts/pg-bench.sh 'postgres://user:pw@127.0.0.1:port/db' [rounds=3]
# Creates the pgbench tables (pgbench -i -s 1: 100 000 accounts) in that database.
set -euo pipefail
URL=${1:?postgres URL}; ROUNDS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PGBENCH=$(command -v pgbench || echo /usr/lib/postgresql/15/bin/pgbench)
"$PGBENCH" -i -s 1 -q "$URL" >/dev/null 2>&1
(cd "$ROOT/Benchmarks" && swift build -c release --product PGBench >/dev/null)
for i in $(seq "$ROUNDS"); do
  echo "== round $i"
  "$PGBENCH" -S -M prepared -c 1 -j 1 -T 10 "$URL" 2>/dev/null | grep -E "^tps" | sed 's/^/pgbench -S (libpq): /'
  "$ROOT/Benchmarks/.build/release/PGBench" "$URL" 20000 3
done
