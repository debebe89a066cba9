#!/usr/bin/env bash
# Time to first play (not part of the test suite), release build, against the throw-away services
# of scripts/services.sh, file storage:
#
#   scripts/bench-playable.sh [ROUNDS]     60 s 1080p30 source (Fixtures/generate.sh large), alternating:
#
# (1) the one-shot ffmpeg ladder (Benchmarks/transcode/bench.py's variant b: one ffmpeg, split
#     filter, every rung's MP4 and HLS): playable only when it is done, so its time to first play
#     is its run time;
# (2) vidd: the source uploaded to `vidd all`; from the end of the upload (the 202 arriving) to the
#     first progress event saying `playable` (its master playlist and first segments stored), and
#     to `completed`, as the SSE feed delivers them; the rows' playable_at and completed_at minus
#     created_at (the upload is in) say the same from the server's side.
# Medians over the rounds. Both encode with bench.py's x264 settings (veryfast, the same rate
# control, keyframes and audio); VIDD_BENCH_SOURCE=FILE for another source.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
rounds="${1:-3}"

swift build -c release --product vidd >/dev/null
VIDD="$(swift build -c release --show-bin-path)/vidd"
src="${VIDD_BENCH_SOURCE:-.tmp/fixtures/bench_1080p30_60s.mp4}"
[ -n "${VIDD_BENCH_SOURCE:-}" ] || Fixtures/generate.sh large >/dev/null
scripts/services.sh start >/dev/null
set -a; . .services/env; set +a

work="$(mktemp -d)"
db="benchplay_$(date +%s)"
psql "$VIDD_TEST_PG_URL" -qXc "CREATE DATABASE $db"
pid=""
cleanup() {
    [ -z "$pid" ] || { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
    psql "$VIDD_TEST_PG_URL" -qXc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
    rm -rf "$work"
}
trap cleanup EXIT

export VIDD_DATABASE_URL="${VIDD_TEST_PG_URL%/*}/$db"
export VIDD_REDIS_URL="$VIDD_TEST_REDIS_URL"
export VIDD_STORAGE="file://$work/storage"
export VIDD_WORK_DIR="$work/jobs"
export VIDD_JOB_STREAM="$db:jobs" VIDD_JOB_GROUP="$db:workers" VIDD_DEAD_LETTER_STREAM="$db:dead"
export VIDD_PROGRESS_KEY_PREFIX="$db:progress:" VIDD_PROGRESS_CHANNEL_PREFIX="$db:progress:" VIDD_PROGRESS_ALL_CHANNEL="$db:progress:all"
export VIDD_X264_PRESET=veryfast   # bench.py's preset for the ffmpeg ladder
export VIDD_LISTEN=127.0.0.1:18092
"$VIDD" all 2>>"$work/vidd.log" &
pid=$!
for _ in $(seq 1 200); do curl -sf http://127.0.0.1:18092/healthz >/dev/null 2>&1 && break; sleep 0.1; done

python3 - "$src" "$rounds" "$work" "$VIDD_DATABASE_URL" <<'EOF'
import http.client, json, os, statistics, subprocess, sys, threading, time
sys.path.insert(0, "Benchmarks/transcode")
import bench  # the one-shot ffmpeg ladder, exactly as the transcode benchmark runs it

src, rounds, work, dburl = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
HOST, PORT = "127.0.0.1", 18092

def vidd_round():
    """Upload; follow /progress (opened before the upload) until the video completes."""
    feed = http.client.HTTPConnection(HOST, PORT, timeout=600)
    feed.request("GET", "/progress")
    stream = feed.getresponse()
    assert stream.status == 200, stream.status
    result = {}
    def upload():
        c = http.client.HTTPConnection(HOST, PORT, timeout=600)
        with open(src, "rb") as f:
            c.request("POST", "/jobs?name=bench.mp4", body=f, headers={"Content-Type": "video/mp4", "Content-Length": str(os.path.getsize(src))})
            r = c.getresponse()
            body = json.loads(r.read())
        result["uploaded"] = time.monotonic()
        result["id"] = body.get("id") or body["video"]["id"]
    t = threading.Thread(target=upload)
    t.start()
    events = []
    while True:
        line = stream.readline()
        if not line:
            raise SystemExit("the progress feed ended")
        if not line.startswith(b"data:"):
            continue
        now = time.monotonic()
        e = json.loads(line[5:])
        events.append((now, e))
        if "id" in result and e["video_id"] == result["id"] and e["status"] in ("completed", "failed"):
            break
    t.join()
    feed.close()
    mine = [(at, e) for at, e in events if e["video_id"] == result["id"]]
    if mine[-1][1]["status"] != "completed":
        raise SystemExit(f"the video failed: {mine[-1][1]}")
    playable = next(at for at, e in mine if e.get("playable"))
    completed = mine[-1][0]
    query = subprocess.run(["psql", dburl, "-tAXc",
        "SELECT extract(epoch FROM playable_at - created_at), extract(epoch FROM completed_at - created_at) "
        f"FROM videos WHERE id = '{result['id']}'"], capture_output=True, text=True)
    row = query.stdout.strip().split("|")
    if query.returncode != 0 or len(row) != 2 or not all(row):
        raise SystemExit(f"the video's row: {query.stdout!r} {query.stderr!r}")
    return playable - result["uploaded"], completed - result["uploaded"], float(row[0]), float(row[1])

def load():
    return open("/proc/loadavg").read().split()[0]

ff, vp, vc, sp, sc = [], [], [], [], []
for r in range(1, rounds + 1):
    wall, cpu, _ = bench.run_b(src, os.path.join(work, "ffmpeg"))
    ff.append(wall)
    print(f"round {r}: ffmpeg one-shot ladder: first play = completed = {wall:.2f} s ({cpu:.1f} CPU-s) | load {load()}", flush=True)
    p, c, rp, rc = vidd_round()
    vp.append(p); vc.append(c); sp.append(rp); sc.append(rc)
    print(f"round {r}: vidd: first play {p:.2f} s, completed {c:.2f} s after the upload "
          f"(rows: playable_at {rp:.2f} s, completed_at {rc:.2f} s after created_at) | load {load()}", flush=True)
m = statistics.median
print(f"median: ffmpeg one-shot ladder first play = completed {m(ff):.2f} s; "
      f"vidd first play {m(vp):.2f} s ({m(ff) / m(vp):.1f}x sooner), completed {m(vc):.2f} s; "
      f"rows: playable {m(sp):.2f} s, completed {m(sc):.2f} s")
EOF
