#!/usr/bin/env bash
# Does hashing a tus body (Upload-Checksum) stall the event loop? `GET /healthz` at a fixed rate
# (scripts/api-load.py: open loop, latency from the scheduled send) while 64 MiB PATCHes run back
# to back on a `vidd serve` with file storage — with `Upload-Checksum: sha256 …`, without it, and
# with no upload at all — alternating per round. The difference between the first two is what
# the digest costs the loop (it is updated per received chunk, on the loop thread).
#
#   scripts/services.sh start; swift build -c release
#   scripts/bench-tus-checksum.sh [SIZE_MIB] [ROUNDS] [SECONDS]     (defaults: 64 3 10)
#   VIDD_BIN=.build/debug/vidd scripts/bench-tus-checksum.sh        (another build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mib=${1:-64}; rounds=${2:-3}; seconds=${3:-10}
bin=${VIDD_BIN:-.build/release/vidd}
[ -f .services/env ] || { echo "run scripts/services.sh start first" >&2; exit 1; }
[ -x "$bin" ] || { echo "no $bin: run swift build -c release first (or set VIDD_BIN)" >&2; exit 1; }
set -a; . .services/env; set +a
work=$(mktemp -d /tmp/vidd-bench-tus-checksum.XXXXXX)
db="tuschecksum_$$"
psql="${VIDD_TEST_PG_BIN_DIR:-/usr/lib/postgresql/15/bin}/psql"
"$psql" "$VIDD_TEST_PG_URL" -qc "CREATE DATABASE $db"
VIDD_LISTEN=127.0.0.1:0 VIDD_DATABASE_URL="${VIDD_TEST_PG_URL%/*}/$db" VIDD_REDIS_URL="$VIDD_TEST_REDIS_URL" \
    VIDD_JOB_STREAM="$db:jobs" VIDD_JOB_GROUP="$db:workers" VIDD_LOG_LEVEL=info VIDD_STORAGE="file://$work/storage" \
    "$bin" serve > "$work/vidd.log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; "$psql" "$VIDD_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"; rm -rf "$work"; }
trap cleanup EXIT
until port=$(grep -o 'msg=listening.*port=[0-9]*' "$work/vidd.log" | grep -o '[0-9]*$'); do
    kill -0 "$pid" || { cat "$work/vidd.log"; exit 1; }
    sleep 0.2
done
url="http://127.0.0.1:$port"
head -c $((mib << 20)) /dev/urandom > "$work/f.bin"
digest=$(openssl dgst -sha256 -binary "$work/f.bin" | base64 -w0)

# PATCHes of the file, each to a new upload, until $work/stop exists; one line per PATCH. The
# upload is one byte longer than the body, so it never completes (no video, no job): DELETE ends it.
uploads() {
    while [ ! -f "$work/stop" ]; do
        loc=$(curl -sS -i -X POST -H 'Tus-Resumable: 1.0.0' -H "Upload-Length: $(((mib << 20) + 1))" "$url/uploads" \
              | awk -F': ' 'tolower($1)=="location" {print $2}' | tr -d '\r')
        curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' -X PATCH -H 'Tus-Resumable: 1.0.0' -H 'Upload-Offset: 0' -H 'Expect:' \
             -H 'Content-Type: application/offset+octet-stream' "$@" --data-binary "@$work/f.bin" "$url$loc"
        curl -sS -o /dev/null -X DELETE -H 'Tus-Resumable: 1.0.0' "$url$loc"
    done
}

# One phase: the probe for $seconds while uploads (with the given curl arguments) run, if any.
phase() {
    local name=$1; shift
    rm -f "$work/stop"; : > "$work/patches"
    if [ "$name" != idle ]; then uploads "$@" > "$work/patches" & up=$!; fi
    probe=$(python3 scripts/api-load.py "$url/healthz" --rate 200 --seconds "$seconds" --connections 4 --warmup 1)
    touch "$work/stop"
    if [ "$name" != idle ]; then wait "$up"; fi
    python3 - "$name" "$probe" "$work/patches" "$mib" <<'EOF'
import json, sys
name, probe, patches, mib = sys.argv[1], json.loads(sys.argv[2]), open(sys.argv[3]).read().split("\n"), int(sys.argv[4])
done = [l.split() for l in patches if l.strip()]
ok = [float(t) for s, t in done if s == "204"]
rate = f"{len(ok)} of {len(done)} PATCHes 204, {mib * len(ok) / sum(ok):.0f} MiB/s" if ok else f"{len(done)} PATCHes, none 204"
print(f"{name:>11}: healthz p50 {probe['p50_ms']} ms  p99 {probe['p99_ms']} ms  max {probe['max_ms']} ms"
      f"  ({probe['requests']} probes, {probe['errors']} errors) | {rate}")
EOF
}

echo "vidd ($bin), file storage, ${mib} MiB PATCHes, healthz at 200/s for ${seconds} s a phase, load $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$rounds"); do
    echo "round $i"
    phase sha256 -H "Upload-Checksum: sha256 $digest"
    phase no-checksum
    phase idle
done
