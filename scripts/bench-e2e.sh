#!/usr/bin/env bash
# End-to-end benchmark (not part of the test suite): the product against the seed's worker design
# on the same batch, machine and services, interleaved. Release build.
#
#   scripts/bench-e2e.sh [ROUNDS] [DESIGNS]          e.g. scripts/bench-e2e.sh 3 vidd,rung,split
#
# - The batch: scripts/bench-batch.sh's (20 clips, 5–60 s, 360p–1080p, landscape and portrait, with
#   and without audio; generated once into .tmp/bench-batch/clips, never committed).
# - vidd: one `vidd all` (API + worker, VIDD_WORKER_CONCURRENCY as set, else its default) on
#   Redis and PostgreSQL from scripts/services.sh and S3 storage; each round uploads the batch
#   (POST /jobs) and waits for every video to be completed (outputs in S3, rows in PostgreSQL).
# - rung / split: the seed's worker design (Benchmarks/e2e/seed_worker.py): the source from S3,
#   ffprobe, the ladder with the ffmpeg CLI (one process per rung / one process with split=N),
#   the outputs to the same S3 with boto3. Same rungs and x264/AAC settings as vidd.
# - S3: Ceph RGW (scripts/rgw-server.sh, a real and much faster S3 server than moto; started on
#   ports of its own and stopped at the end) unless VIDD_E2E_S3=moto (the moto of services.sh).
# Prints per round: videos per hour, CPU-s per video (vidd's process; the seed's worker and its
# ffmpeg/ffprobe children) and the services' CPU per video apart; medians, ratios (also of each
# round's pairs), then per-rung MP4 sizes of every clip and SSIM for a few clips
# (VIDD_E2E_SSIM_CLIPS, indices, default 1,2,4,11; empty for none). VIDD_E2E_CLIPS (indices into
# the batch, e.g. 1,2,4,6,11) runs a smaller batch. Benchmarks/e2e/e2e.py does it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
rounds="${1:-2}"
designs="${2:-vidd,rung,split}"

VIDD_BATCH_ONLY_CLIPS=1 scripts/bench-batch.sh   # the batch's clips, made once
clips=.tmp/bench-batch/clips
swift build -c release --product vidd >/dev/null
VIDD="$(swift build -c release --show-bin-path)/vidd"

rgw_dir=/tmp/vidd-rgw-e2e
if [ "${VIDD_E2E_S3:-rgw}" = rgw ]; then
    RGW_PORT=${RGW_PORT:-17480} RGW_MON_PORT=${RGW_MON_PORT:-13300} scripts/rgw-server.sh start "$rgw_dir" >/dev/null
    set -a; . "$rgw_dir/env"; set +a   # VIDD_TEST_S3_*: services.sh then starts no moto
fi
scripts/services.sh start >/dev/null
set -a; . .services/env; set +a

work="$ROOT/.tmp/bench-e2e"
rm -rf "$work"; mkdir -p "$work"
db="bench_e2e_$(date +%s)"
bucket="bench-e2e-$(date +%s)"
psql "$VIDD_TEST_PG_URL" -qXc "CREATE DATABASE $db"
vidd_pid=
cleanup() {
    [ -n "$vidd_pid" ] && kill -TERM "$vidd_pid" 2>/dev/null && wait "$vidd_pid" 2>/dev/null || true
    psql "$VIDD_TEST_PG_URL" -qXc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
    [ "${VIDD_E2E_S3:-rgw}" = rgw ] && scripts/rgw-server.sh stop "$rgw_dir" >/dev/null 2>&1 || true
}
trap cleanup EXIT

export AWS_ACCESS_KEY_ID="$VIDD_TEST_S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$VIDD_TEST_S3_SECRET_KEY"
export AWS_DEFAULT_REGION="${VIDD_TEST_S3_REGION:-us-east-1}"
python3 -c 'import boto3, sys; boto3.client("s3", endpoint_url=sys.argv[1]).create_bucket(Bucket=sys.argv[2])' \
    "$VIDD_TEST_S3_ENDPOINT" "$bucket"

export VIDD_DATABASE_URL="${VIDD_TEST_PG_URL%/*}/$db"
export VIDD_REDIS_URL="$VIDD_TEST_REDIS_URL"
export VIDD_STORAGE=s3 VIDD_S3_ENDPOINT="$VIDD_TEST_S3_ENDPOINT" VIDD_S3_REGION="$AWS_DEFAULT_REGION"
export VIDD_S3_ACCESS_KEY="$VIDD_TEST_S3_ACCESS_KEY" VIDD_S3_SECRET_KEY="$VIDD_TEST_S3_SECRET_KEY" VIDD_S3_BUCKET="$bucket"
export VIDD_JOB_STREAM="$db:jobs" VIDD_JOB_GROUP="$db:workers" VIDD_DEAD_LETTER_STREAM="$db:dead"
export VIDD_PROGRESS_KEY_PREFIX="$db:progress:" VIDD_PROGRESS_CHANNEL_PREFIX="$db:progress:" VIDD_PROGRESS_ALL_CHANNEL="$db:progress:all"
export VIDD_X264_PRESET="${VIDD_X264_PRESET:-veryfast}" VIDD_WORK_DIR="$work" VIDD_LOG_LEVEL=info
port=18095
VIDD_LISTEN="127.0.0.1:$port" "$VIDD" all 2>>"$work/vidd.log" &
vidd_pid=$!
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$work/vidd.log" >&2; exit 1; }

# The services' processes, their CPU counted apart.
services=()
redis_pid=$(awk '{print $1}' .services/pids/redis 2>/dev/null || true)
[ -n "$redis_pid" ] && services+=(--service "redis=$redis_pid")
pg_pid=$(head -n 1 "$(cat .services/pg_dir 2>/dev/null)/data/postmaster.pid" 2>/dev/null || true)
[ -n "$pg_pid" ] && services+=(--service "postgres=$pg_pid")
if [ "${VIDD_E2E_S3:-rgw}" = rgw ]; then
    services+=(--service "s3-rgw=$(cat "$rgw_dir"/run/*.pid | paste -sd,)")
else
    services+=(--service "s3-moto=$(awk '{print $1}' .services/pids/s3)")
fi

echo "vidd $(git rev-parse --short HEAD), S3: ${VIDD_E2E_S3:-rgw}, x264 preset $VIDD_X264_PRESET, worker concurrency ${VIDD_WORKER_CONCURRENCY:-default}, $(nproc) cores"
python3 Benchmarks/e2e/e2e.py --clips "$clips" --rounds "$rounds" --designs "$designs" \
    --vidd-url "http://127.0.0.1:$port" --vidd-pid "$vidd_pid" --database-url "$VIDD_DATABASE_URL" \
    --endpoint "$VIDD_TEST_S3_ENDPOINT" --bucket "$bucket" --ssim-clips "${VIDD_E2E_SSIM_CLIPS-1,2,4,11}" --only "${VIDD_E2E_CLIPS:-}" \
    --work "$work" "${services[@]}"
