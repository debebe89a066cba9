#!/usr/bin/env bash
# Does a dead webhook endpoint slow transcoding? Jobs on a release `vidd all`, alternating: one
# with no endpoint, one with an endpoint that accepts connections and never answers (the
# black-hole mode of scripts/webhook-test-receiver/receiver.py on 127.0.0.2, admitted by
# VIDD_INGEST_ALLOW; each attempt holds its connection for VIDD_WEBHOOK_TIMEOUT_SECONDS=30).
# Prints each pair's upload→completed time (GET /videos/{id} polled every 50 ms), then the medians.
#
#   scripts/services.sh start; swift build -c release
#   scripts/bench-webhooks.sh [ROUNDS] [FIXTURE]      (defaults: 5 Fixtures/landscape_720p.mp4)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
rounds=${1:-5}; fixture=${2:-Fixtures/landscape_720p.mp4}
[ -f .services/env ] || { echo "run scripts/services.sh start first" >&2; exit 1; }
[ -x .build/release/vidd ] || { echo "run swift build -c release first" >&2; exit 1; }
set -a; . .services/env; set +a
work=$(mktemp -d /tmp/vidd-bench-webhooks.XXXXXX)
db="webhookbench_$$"
token="bench-token-0123456789abcdef"
psql="${VIDD_TEST_PG_BIN_DIR:-/usr/lib/postgresql/15/bin}/psql"
"$psql" "$VIDD_TEST_PG_URL" -qc "CREATE DATABASE $db"
touch "$work/secret"
"$root/.venv/bin/python" scripts/webhook-test-receiver/receiver.py --host 127.0.0.2 --black-hole \
    --secret-file "$work/secret" --log "$work/hole.jsonl" > "$work/hole.log" 2>&1 &
hole=$!
env VIDD_LISTEN=127.0.0.1:0 VIDD_DATABASE_URL="${VIDD_TEST_PG_URL%/*}/$db" VIDD_REDIS_URL="$VIDD_TEST_REDIS_URL" \
    VIDD_JOB_STREAM="$db:jobs" VIDD_JOB_GROUP="$db:workers" VIDD_PROGRESS_KEY_PREFIX="$db:progress:" \
    VIDD_PROGRESS_CHANNEL_PREFIX="$db:progress:" VIDD_PROGRESS_ALL_CHANNEL="$db:progress:all" \
    VIDD_STORAGE="file://$work/storage" VIDD_WORK_DIR="$work/work" VIDD_API_TOKENS="$token" \
    VIDD_INGEST_ALLOW=127.0.0.2/32 VIDD_WEBHOOK_TIMEOUT_SECONDS=30 VIDD_LOG_LEVEL=info \
    .build/release/vidd all > "$work/vidd.log" 2>&1 &
pid=$!
cleanup() {
    kill "$pid" "$hole" 2>/dev/null; wait "$pid" "$hole" 2>/dev/null
    "$psql" "$VIDD_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"; rm -rf "$work"
}
trap cleanup EXIT
until port=$(grep -o 'msg=listening.*port=[0-9]*' "$work/vidd.log" | grep -o '[0-9]*$'); do sleep 0.2; done
until hport=$(grep -o 'listening [0-9]*' "$work/hole.log" | grep -o '[0-9]*$'); do sleep 0.2; done
url="http://127.0.0.1:$port"
auth=(-H "Authorization: Bearer $token")
job() {  # prints seconds from the upload to completed
    local t0 id status
    t0=$EPOCHREALTIME
    id=$(curl -sS "${auth[@]}" -H 'Content-Type: video/mp4' --data-binary "@$fixture" "$url/jobs?name=clip.mp4" | sed 's/.*"id":"\([^"]*\)".*/\1/')
    while status=$(curl -sS "${auth[@]}" "$url/videos/$id" | sed 's/.*"status":"\([a-z]*\)".*/\1/'); [ "$status" != completed ]; do
        [ "$status" = failed ] && { echo "job $id failed" >&2; exit 1; }
        sleep 0.05
    done
    awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'
}
job > /dev/null   # warm-up (first connections, page cache)
echo "vidd all (release), $(basename "$fixture"), black hole at 127.0.0.2:$hport, load $(cut -d' ' -f1-3 /proc/loadavg)"
without=(); with=()
for i in $(seq "$rounds"); do
    a=$(job)
    endpoint=$(curl -sS "${auth[@]}" -H 'Content-Type: application/json' -d "{\"url\":\"http://127.0.0.2:$hport/hook\"}" "$url/webhooks" \
               | sed 's/.*"id":"\([^"]*\)".*/\1/')
    b=$(job)
    pending=$("$psql" "${VIDD_TEST_PG_URL%/*}/$db" -Atc "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")
    curl -sS -o /dev/null "${auth[@]}" -X DELETE "$url/webhooks/$endpoint"
    echo "run $i: without an endpoint $a s | with a black-hole endpoint $b s ($pending deliveries still pending)"
    without+=("$a"); with+=("$b")
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "median: without $(median "${without[@]}") s, with a black hole $(median "${with[@]}") s"
