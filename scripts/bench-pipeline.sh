#!/usr/bin/env bash
# Service benchmarks (not part of the test suite), release build, against the throw-away services
# of scripts/services.sh:
#
#   scripts/bench-pipeline.sh pipeline [ROUNDS]   60 s 1080p30 source: `vidd transcode` alone vs the
#                                                 whole pipeline (upload, queue, probe, transcode with
#                                                 uploads while encoding, rows, progress), alternating
#   scripts/bench-pipeline.sh api [RATE] [SECONDS] GET /videos?limit=20 at a fixed rate (open loop)
#                                                 against `vidd serve` with 1000 videos in the table
#   scripts/bench-pipeline.sh api-loops [RUNS]    the same route under wrk (-t2 -c32, 10 s), two
#                                                 `vidd serve` on the same database alternating:
#                                                 VIDD_HTTP_EVENT_LOOPS=1 and =2 (req/s, p99, CPU/req)
#
# Pipeline: "alone" is `vidd transcode FILE DIR` (same preset, same machine); "pipeline" is
# completed_at - created_at of the video (the API's row creation after the upload finished,
# through the queue, to the row saying completed). Overhead = pipeline / alone - 1, in wall time
# and in CPU time (the daemon's user+system ticks over the same window vs the one-shot process's):
# CPU time is what a shared machine disturbs least.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
mode="${1:-pipeline}"

swift build -c release --product vidd >/dev/null
VIDD="$(swift build -c release --show-bin-path)/vidd"
scripts/services.sh start >/dev/null
set -a; . .services/env; set +a

work="$(mktemp -d)"
db="bench_$(date +%s)"
psql "$VIDD_TEST_PG_URL" -qXc "CREATE DATABASE $db"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    psql "$VIDD_TEST_PG_URL" -qXc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
    rm -rf "$work"
}
trap cleanup EXIT

export VIDD_DATABASE_URL="${VIDD_TEST_PG_URL%/*}/$db"
export VIDD_REDIS_URL="$VIDD_TEST_REDIS_URL"
export VIDD_STORAGE="file://$work/storage"
export VIDD_JOB_STREAM="$db:jobs" VIDD_JOB_GROUP="$db:workers" VIDD_DEAD_LETTER_STREAM="$db:dead"
export VIDD_PROGRESS_KEY_PREFIX="$db:progress:" VIDD_PROGRESS_CHANNEL_PREFIX="$db:progress:" VIDD_PROGRESS_ALL_CHANNEL="$db:progress:all"
export VIDD_X264_PRESET="${VIDD_X264_PRESET:-veryfast}"
export VIDD_LOG_LEVEL=info   # the worker's "outputs recorded" line carries each step's time

start_vidd() { # COMMAND PORT
    VIDD_LISTEN="127.0.0.1:$2" "$VIDD" "$1" 2>>"$work/vidd.log" &
    pids+=($!)
    for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$2/healthz" >/dev/null 2>&1 && return; sleep 0.1; done
    cat "$work/vidd.log" >&2
    exit 1
}

case "$mode" in
pipeline)
    rounds="${2:-2}"
    src="${VIDD_BENCH_SOURCE:-.tmp/fixtures/bench_1080p30_60s.mp4}"   # another source: VIDD_BENCH_SOURCE=FILE
    [ -n "${VIDD_BENCH_SOURCE:-}" ] || Fixtures/generate.sh large >/dev/null
    start_vidd all 18090
    alone=() pipe=() alone_cpu=() pipe_cpu=() inrun=() svc=()
    vidd_pid="${pids[0]}"
    ticks() { awk '{print $14 + $15}' "/proc/$vidd_pid/stat"; }
    # "TID ticks" of the daemon's own threads: every thread but the transcoder's (vidd-transcode,
    # vidd-<rung> and the libav/x264 threads they start, which inherit those names).
    service_threads() {
        for t in /proc/"$vidd_pid"/task/*; do
            n=$(cat "$t/comm" 2>/dev/null) || continue
            case "$n" in vidd-transcode|vidd-[0-9]*p) continue ;; esac
            echo "${t##*/} $(awk '{print $14 + $15}' "$t/stat" 2>/dev/null)"
        done | sort
    }
    hz=$(getconf CLK_TCK)
    for r in $(seq 1 "$rounds"); do
        rm -rf "$work/out"
        TIMEFORMAT='%R %U %S'
        read -r a au as < <({ time "$VIDD" transcode "$src" "$work/out" --preset "$VIDD_X264_PRESET" >/dev/null 2>&1; } 2>&1)
        ac=$(echo "$au + $as" | bc)
        alone+=("$a") alone_cpu+=("$ac")
        id=$(curl -sf -H 'Content-Type: video/mp4' --data-binary "@$src" "http://127.0.0.1:18090/jobs?name=bench.mp4" \
            | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("id") or d["video"]["id"])')
        # CPU of the daemon from the moment the upload is in (the job starts) until completed.
        t0=$(ticks)
        service_threads >"$work/svc0"
        # Poll cheaply and rarely: the figure comes from the row's timestamps, and a psql (SCRAM
        # login, a new backend) five times a second took CPU the transcode needed (+13 % wall).
        while :; do
            s=$(curl -sf "http://127.0.0.1:18090/videos/$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
            [ "$s" = completed ] && break
            [ "$s" = failed ] && { echo "pipeline run failed" >&2; exit 1; }
            sleep 2
        done
        pc=$(echo "scale=2; ($(ticks) - $t0) / $hz" | bc)
        service_threads >"$work/svc1"
        # CPU of the service's threads over the job (threads alive at both ends; the short-lived
        # probe and download threads are missed — tens of milliseconds).
        sc=$(join "$work/svc0" "$work/svc1" | awk -v hz="$hz" '{d += $3 - $2} END {printf "%.2f", d / hz}')
        p=$(psql "$VIDD_DATABASE_URL" -tAXc "SELECT extract(epoch FROM completed_at - created_at) FROM videos WHERE id = '$id'")
        pipe+=("$p") pipe_cpu+=("$pc")
        printf 'round %d: transcode alone %.2f s wall, %.2f CPU-s | pipeline %.2f s wall (%+.2f%%), %.2f CPU-s (%+.2f%%) | load %s\n' \
            "$r" "$a" "$ac" "$p" "$(echo "($p / $a - 1) * 100" | bc -l)" "$pc" "$(echo "($pc / $ac - 1) * 100" | bc -l)" "$(cut -d' ' -f1 /proc/loadavg)"
        # Within the same run, immune to the machine's speed changing between runs: the worker's
        # own step times. Overhead = everything but the transcode step (which includes the uploads
        # made while encoding) over the transcode step.
        line=$(grep 'msg="outputs recorded"' "$work/vidd.log" | grep "$id" | tail -1)
        field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$line"; }
        t=$(echo "scale=3; $(field transcode_ms) / 1000" | bc)
        o=$(echo "scale=3; $p - $t" | bc)
        inrun+=("$(echo "scale=4; $o / $t * 100" | bc)")
        svc+=("$(echo "scale=4; $sc / $pc * 100" | bc)")
        printf '         service threads (API, worker, queue, uploads, progress): %.2f CPU-s = %.2f%% of the daemon CPU over the job\n' "$sc" "${svc[-1]}"
        printf '         in the pipeline: queue+start %.2f s, fetch %s ms, probe %s ms, transcode %.2f s (%s CPU-s), upload tail %s ms, rows+completion %s ms => overhead %.2f s = %+.2f%% of its transcode\n' \
            "$(echo "$p - $(field job_ms) / 1000" | bc -l)" "$(field fetch_ms)" "$(field probe_ms)" "$t" "$(field transcode_cpu_s)" \
            "$(field upload_tail_ms)" "$(field finalize_ms)" "$o" "${inrun[-1]}"
    done
    python3 - "${alone[*]}" "${pipe[*]}" "${alone_cpu[*]}" "${pipe_cpu[*]}" "${inrun[*]}" "${svc[*]}" <<'EOF'
import statistics, sys
a, p, ac, pc, ir, sv = ([float(x) for x in arg.split()] for arg in sys.argv[1:7])
ma, mp, mac, mpc = (statistics.median(v) for v in (a, p, ac, pc))
print(f"median wall: transcode alone {ma:.2f} s, pipeline {mp:.2f} s, overhead {100 * (mp / ma - 1):+.2f}%")
print(f"median of the per-round wall ratios (each pair ran back to back): {100 * (statistics.median(y / x for x, y in zip(a, p)) - 1):+.2f}%")
print(f"median CPU:  transcode alone {mac:.2f} s, pipeline {mpc:.2f} s, overhead {100 * (mpc / mac - 1):+.2f}%")
print(f"median in-run overhead (pipeline minus its own transcode step): {statistics.median(ir):+.2f}%  (rounds: {', '.join(f'{x:+.2f}%' for x in ir)})")
print(f"median CPU of the service's own threads during the job: {statistics.median(sv):.2f}% of the daemon's  (rounds: {', '.join(f'{x:.2f}%' for x in sv)})")
EOF
    ;;
api)
    rate="${2:-500}" seconds="${3:-20}"
    start_vidd serve 18091
    # 1000 videos, as a busy instance would list them.
    psql "$VIDD_DATABASE_URL" -qXc "INSERT INTO videos (id, title, status, source_key, original_name, created_at)
        SELECT gen_random_uuid(), 'video ' || g, (ARRAY['queued','processing','completed','failed'])[1 + g % 4],
               'source/x/' || g || '.mp4', g || '.mp4', now() - g * interval '1 minute' FROM generate_series(1, 1000) g"
    curl -sf "http://127.0.0.1:18091/videos?limit=20" >/dev/null
    python3 scripts/api-load.py "http://127.0.0.1:18091/videos?limit=20" --rate "$rate" --seconds "$seconds"
    ;;
api-loops)
    runs="${2:-5}"
    VIDD_HTTP_EVENT_LOOPS=1 start_vidd serve 18092
    one="${pids[-1]}"
    VIDD_HTTP_EVENT_LOOPS=2 start_vidd serve 18093
    two="${pids[-1]}"
    psql "$VIDD_DATABASE_URL" -qXc "INSERT INTO videos (id, title, status, source_key, original_name, created_at)
        SELECT gen_random_uuid(), 'video ' || g, (ARRAY['queued','processing','completed','failed'])[1 + g % 4],
               'source/x/' || g || '.mp4', g || '.mp4', now() - g * interval '1 minute' FROM generate_series(1, 1000) g"
    for port in 18092 18093; do wrk -t2 -c32 -d2s "http://127.0.0.1:$port/videos?limit=20" >/dev/null; done  # warm-up
    ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
    echo "command: wrk -t2 -c32 -d10s --latency http://127.0.0.1:PORT/videos?limit=20 ($runs runs each, alternating loops=1, loops=2; $(nproc) cores)"
    for i in $(seq "$runs"); do
        for pair in "1 18092 $one" "2 18093 $two"; do
            set -- $pair
            load=$(cut -d' ' -f1 /proc/loadavg)
            before=$(ticks "$3")
            out=$(wrk -t2 -c32 -d10s --latency "http://127.0.0.1:$2/videos?limit=20")
            after=$(ticks "$3")
            total=$(awk '/requests in/ {print $1}' <<<"$out")
            printf 'run %s loops=%s: %s req/s, p99 %s, %s µs vidd CPU/request, load %s%s\n' "$i" "$1" \
                "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")" \
                "$(echo "scale=1; ($after - $before) * 1000000 / $(getconf CLK_TCK) / $total" | bc)" "$load" \
                "$(awk '/Non-2xx|Socket errors/' <<<"$out" | tr -s ' ' | sed 's/^/ [/; s/$/]/')"
        done
    done
    ;;
*)
    echo "usage: $0 pipeline [ROUNDS] | api [RATE] [SECONDS] | api-loops [RUNS]" >&2
    exit 64
    ;;
esac
