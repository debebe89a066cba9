#!/usr/bin/env bash
# A tus upload (one PATCH) against POST /jobs (a raw upload) of the same file, alternating, on a
# release `vidd serve` with the throw-away services of scripts/services.sh (PostgreSQL over TLS).
# Prints each pair's times and vidd's RSS before each pair and its peak (sampled every 50 ms).
#
#   scripts/services.sh start; swift build -c release
#   scripts/bench-tus.sh [file|s3] [SIZE_MIB] [ROUNDS]      (defaults: file 200 3)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
backend=${1:-file}; mib=${2:-200}; rounds=${3:-3}
[ -f .services/env ] || { echo "run scripts/services.sh start first" >&2; exit 1; }
[ -x .build/release/vidd ] || { echo "run swift build -c release first" >&2; exit 1; }
set -a; . .services/env; set +a
work=$(mktemp -d /tmp/vidd-bench-tus.XXXXXX)
db="tusbench_$$"
psql="${VIDD_TEST_PG_BIN_DIR:-/usr/lib/postgresql/15/bin}/psql"
"$psql" "$VIDD_TEST_PG_URL" -qc "CREATE DATABASE $db"
env=(VIDD_LISTEN=127.0.0.1:0 VIDD_DATABASE_URL="${VIDD_TEST_PG_URL%/*}/$db" VIDD_REDIS_URL="$VIDD_TEST_REDIS_URL"
     VIDD_JOB_STREAM="$db:jobs" VIDD_JOB_GROUP="$db:workers" VIDD_LOG_LEVEL=info)
if [ "$backend" = s3 ]; then
    "$root/.venv/bin/python" -c "import boto3,os; boto3.client('s3', endpoint_url=os.environ['VIDD_TEST_S3_ENDPOINT'], aws_access_key_id=os.environ['VIDD_TEST_S3_ACCESS_KEY'], aws_secret_access_key=os.environ['VIDD_TEST_S3_SECRET_KEY'], region_name='us-east-1').create_bucket(Bucket='${db//_/-}')"
    env+=(VIDD_STORAGE=s3 VIDD_S3_ENDPOINT="$VIDD_TEST_S3_ENDPOINT" VIDD_S3_ACCESS_KEY="$VIDD_TEST_S3_ACCESS_KEY"
          VIDD_S3_SECRET_KEY="$VIDD_TEST_S3_SECRET_KEY" VIDD_S3_BUCKET="${db//_/-}")
else
    env+=(VIDD_STORAGE="file://$work/storage")
fi
env "${env[@]}" .build/release/vidd serve > "$work/vidd.log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; "$psql" "$VIDD_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"; rm -rf "$work"; }
trap cleanup EXIT
until port=$(grep -o 'msg=listening.*port=[0-9]*' "$work/vidd.log" | grep -o '[0-9]*$'); do sleep 0.2; done
url="http://127.0.0.1:$port"
head -c $((mib << 20)) /dev/urandom > "$work/f.bin"
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }
echo "vidd serve, $backend storage, $mib MiB, load $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$rounds"); do
    base=$(rss); rm -f "$work/stop"
    ( p=0; while [ ! -f "$work/stop" ]; do r=$(rss); [ "$r" -gt "$p" ] && p=$r; sleep 0.05; done; echo "$p" > "$work/peak" ) &
    sampler=$!
    loc=$(curl -sS -i -X POST -H 'Tus-Resumable: 1.0.0' -H "Upload-Length: $((mib << 20))" -H 'Upload-Metadata: filename ZmlsZS5iaW4=' \
          "$url/uploads" | awk -F': ' 'tolower($1)=="location" {print $2}' | tr -d '\r')
    t0=$EPOCHREALTIME
    s1=$(curl -sS -o /dev/null -w '%{http_code}' -X PATCH -H 'Tus-Resumable: 1.0.0' -H 'Upload-Offset: 0' -H 'Expect:' \
         -H 'Content-Type: application/offset+octet-stream' --data-binary "@$work/f.bin" "$url$loc")
    t1=$EPOCHREALTIME
    s2=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: video/mp4' -H 'Expect:' --data-binary "@$work/f.bin" "$url/jobs?name=f.bin")
    t2=$EPOCHREALTIME
    touch "$work/stop"; wait "$sampler"
    awk -v a="$t0" -v b="$t1" -v c="$t2" -v s1="$s1" -v s2="$s2" -v base="$base" -v peak="$(cat "$work/peak")" -v i="$i" -v m="$mib" \
        'BEGIN { printf "run %d: tus PATCH %s %.2f s (%.0f MiB/s) | POST /jobs %s %.2f s (%.0f MiB/s) | RSS %d MiB, peak %d MiB\n",
                 i, s1, b - a, m / (b - a), s2, c - b, m / (c - b), base / 1024, peak / 1024 }'
done
