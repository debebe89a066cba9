#!/usr/bin/env bash
# Builds one libFuzzer target of the Fuzz/ package with AddressSanitizer and runs it.
#
#   scripts/fuzz.sh NAME SECONDS [libFuzzer options...]     e.g. scripts/fuzz.sh RESPFuzz 60
#
# NAME is a product of Fuzz/Package.swift (RESPFuzz, PGWireFuzz, HTTPParserFuzz, HTTPClientFuzz,
# S3XMLFuzz, SigV4Fuzz). The corpus grows in .tmp/fuzz/NAME (gitignored); committed seeds are read
# from Fuzz/Seeds/NAME, Fuzz/Corpus/NAME or Fuzz/corpus/<NAME without "Fuzz">, whichever exist.
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

# SwiftPM links a Swift executable with `main` aliased to `<NAME>_main` (so that tests can link
# executables). With `-Xswiftc -sanitize=fuzzer` it still does, and a -parse-as-library target that
# defines no `<NAME>_main` fails to link; SwiftPM's own `--sanitize fuzzer` leaves `main` to
# libFuzzer, which works whether or not the target also defines `<NAME>_main` itself.
# The sanitizers themselves go in one `-sanitize=fuzzer,address`: given `--sanitize fuzzer
# --sanitize address`, SwiftPM passes two -sanitize= flags in a varying order and the compiler
# keeps only the last, so each module got coverage or AddressSanitizer, never both (found with
# objdump/nm on the objects: sancov sections without __asan_ calls, or the reverse). -Xswiftc
# flags come last, so this one wins.
FLAGS=(-c release --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
cd "$ROOT/Fuzz"
echo "[fuzz] building $NAME (release, fuzzer + address sanitizers)"
swift build "${FLAGS[@]}" --product "$NAME"
BIN="$(swift build "${FLAGS[@]}" --show-bin-path)/$NAME"

CORPUS="$ROOT/.tmp/fuzz/$NAME"
ARTIFACTS="$ROOT/.tmp/fuzz/$NAME-artifacts/"
mkdir -p "$CORPUS" "$ARTIFACTS"
DIRS=("$CORPUS")
# Committed seeds are read, never written (libFuzzer adds new inputs to the first directory only).
for seeds in "$ROOT/Fuzz/Seeds/$NAME" "$ROOT/Fuzz/Corpus/$NAME" "$ROOT/Fuzz/corpus/${NAME%Fuzz}"; do
    if [ -d "$seeds" ]; then DIRS+=("$seeds"); fi
done

echo "[fuzz] running $NAME for ${SECONDS_TO_RUN} s (corpus: $CORPUS)"
exec "$BIN" -max_total_time="$SECONDS_TO_RUN" -rss_limit_mb=2048 -artifact_prefix="$ARTIFACTS" \
    -print_final_stats=1 "$@" "${DIRS[@]}"
