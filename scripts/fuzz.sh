#!/usr/bin/env bash
# Builds one libFuzzer target of the Fuzz/ package with AddressSanitizer and runs it.
#
#   scripts/fuzz.sh NAME SECONDS [libFuzzer options...]     e.g. scripts/fuzz.sh RESPFuzz 60
#
# NAME is a product of Fuzz/Package.swift (RESPFuzz, PGWireFuzz, HTTPParserFuzz). The corpus grows
# in .tmp/fuzz/NAME (gitignored); Fuzz/Corpus/NAME, when it exists, adds committed seed inputs.
# Crashing inputs are written to .tmp/fuzz/NAME-artifacts/; the exit status is libFuzzer's
# (0 when nothing was found in SECONDS).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [ "$#" -lt 2 ] || ! [[ "$2" =~ ^[0-9]+$ ]]; then
    echo "usage: scripts/fuzz.sh NAME SECONDS [libFuzzer options...]" >&2
    exit 2
fi
NAME="$1"
SECONDS_TO_RUN="$2"
shift 2

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi

# SwiftPM links every Swift executable with `--defsym main=<NAME>_main` (so that tests can link
# executables), but a libFuzzer target built with -parse-as-library has no such function and the
# link fails. This one-line C entry point provides <NAME>_main by handing over to libFuzzer's
# driver, exactly what libFuzzer's own main() does.
SHIM_DIR="$ROOT/.tmp/fuzz/entry"
mkdir -p "$SHIM_DIR"
cat >"$SHIM_DIR/$NAME.c" <<C
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *, size_t));
int ${NAME}_main(int argc, char **argv) { return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput); }
C
CLANG="$(dirname "$(command -v swift)")/clang"
[ -x "$CLANG" ] || CLANG=clang
"$CLANG" -O1 -c "$SHIM_DIR/$NAME.c" -o "$SHIM_DIR/$NAME.o"

FLAGS=(-c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xlinker "$SHIM_DIR/$NAME.o")
cd "$ROOT/Fuzz"
echo "[fuzz] building $NAME (release, -sanitize=fuzzer,address)"
swift build "${FLAGS[@]}" --product "$NAME"
BIN="$(swift build "${FLAGS[@]}" --show-bin-path)/$NAME"

CORPUS="$ROOT/.tmp/fuzz/$NAME"
ARTIFACTS="$ROOT/.tmp/fuzz/$NAME-artifacts/"
mkdir -p "$CORPUS" "$ARTIFACTS"
DIRS=("$CORPUS")
if [ -d "$ROOT/Fuzz/Corpus/$NAME" ]; then DIRS+=("$ROOT/Fuzz/Corpus/$NAME"); fi

echo "[fuzz] running $NAME for ${SECONDS_TO_RUN} s (corpus: $CORPUS)"
exec "$BIN" -max_total_time="$SECONDS_TO_RUN" -rss_limit_mb=2048 -artifact_prefix="$ARTIFACTS" \
    -print_final_stats=1 "$@" "${DIRS[@]}"
