#!/bin/bash
# Builds a libFuzzer target of the Fuzz package and runs it for SECONDS.
# Usage: scripts/fuzz.sh NAME SECONDS [extra libFuzzer args]   e.g. scripts/fuzz.sh PGWireFuzz 600
# The corpus grows in .tmp/fuzz/NAME (gitignored); crashes land in .tmp/fuzz/NAME-artifacts.
set -euo pipefail
NAME=${1:?target name, e.g. PGWireFuzz}; SECONDS_TO_RUN=${2:-600}; shift 2 || true
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT/Fuzz"
swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library --product "$NAME"
CORPUS="$ROOT/.tmp/fuzz/$NAME"; ARTIFACTS="$ROOT/.tmp/fuzz/$NAME-artifacts"
mkdir -p "$CORPUS" "$ARTIFACTS"
SEEDS="$ROOT/Fuzz/Seeds/$NAME"
[ -d "$SEEDS" ] && cp -n "$SEEDS"/* "$CORPUS"/ 2>/dev/null || true
exec "$ROOT/Fuzz/.build/release/$NAME" -max_total_time="$SECONDS_TO_RUN" -artifact_prefix="$ARTIFACTS/" "$@" "$CORPUS"
