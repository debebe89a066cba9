#!/usr/bin/env bash
# SSE fan-out measured as cost (not part of the test suite): what the server spends per delivered
# event, vidd's HTTPServer (HTTPBench, one reactor thread) against the same fan-out written on raw
# swift-nio (NIOPeer), under the same generator (HTTPBench --fanout-client, see
# scripts/http-sse-fanout.sh): 100 events/s to every client, each stamped with the time it was due.
#
#   scripts/bench-sse-cost.sh [ROUNDS] [CLIENT COUNTS]       e.g. scripts/bench-sse-cost.sh 3 "1000 10000"
#   SERVERS="vidd nio nio1" RUN_SECONDS=12 scripts/bench-sse-cost.sh
#
# Servers: vidd (HTTPBench), nio (NIOPeer, System.coreCount event loops), nio1 (NIOPeer, one
# loop, like vidd's single reactor). Each run starts its server afresh; runs alternate between the
# servers within a round. Per run: the server's CPU (utime+stime of its process only, from
# /proc/PID/stat, read by the client when it starts counting and when it stops) per delivered
# event and per client-second, its RSS per client ((RSS with the clients − RSS idle) / clients),
# delivery latency p50/p99, events delivered per second, and the load average.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-3}
counts=${2:-1000 10000}
servers=${SERVERS:-vidd nio nio1}
seconds=${RUN_SECONDS:-12}
cd "$root/Benchmarks"
swift build -c release --product HTTPBench >/dev/null
swift build -c release --product NIOPeer >/dev/null
bin=.build/release
ulimit -n "$(ulimit -Hn)"
port=${PORT:-18185}
rows=$(mktemp)
server=
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -f "$rows"' EXIT

start_server() { # NAME
    case "$1" in
    vidd) "$bin/HTTPBench" --port "$port" >/dev/null & ;;
    nio) "$bin/NIOPeer" --port "$port" >/dev/null & ;;
    nio1) "$bin/NIOPeer" --port "$port" --threads 1 >/dev/null & ;;
    *) echo "unknown server $1" >&2; exit 64 ;;
    esac
    server=$!
    for _ in $(seq 1 100); do curl -s -o /dev/null -m 0.2 "http://127.0.0.1:$port/json" && return; sleep 0.05; done
    echo "server $1 did not start" >&2; exit 1
}
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

echo "generator: HTTPBench --fanout-client N (one thread), ${seconds} s per run, counted from the first quarter on; servers: $servers; $(nproc) cores"
for r in $(seq "$rounds"); do
    for n in $counts; do
        for s in $servers; do
            start_server "$s"
            sleep 0.5
            idle=$(rss_kb "$server")
            load=$(cut -d' ' -f1 /proc/loadavg)
            out=$(mktemp)
            # A run that cannot finish (connects that never complete) fails instead of hanging.
            timeout $((seconds * 5)) "$bin/HTTPBench" --fanout-client "$n" --port "$port" --seconds "$seconds" --server-pid "$server" >"$out" &
            client=$!
            sleep $((seconds * 3 / 4))
            with=$(rss_kb "$server")
            wait $client || { cat "$out" >&2; echo "round $r $n clients $s: the generator did not finish" >&2; exit 1; }
            kill "$server"; wait "$server" 2>/dev/null || true; server=
            cost=$(grep '^server cost:' "$out" || true)
            [ -n "$cost" ] || { cat "$out" >&2; echo "no cost line" >&2; exit 1; }
            us_event=$(sed 's/.*us\/event \([0-9.e+-]*\).*/\1/' <<<"$cost")
            us_cs=$(sed 's/.*us\/client-second \([0-9.e+-]*\).*/\1/' <<<"$cost")
            events=$(sed 's/.*events \([0-9]*\).*/\1/' <<<"$cost")
            secs=$(sed 's/.*seconds \([0-9.]*\).*/\1/' <<<"$cost")
            p50=$(sed -n 's/.*p50 \([0-9.-]*\) ms.*/\1/p' "$out")
            p99=$(sed -n 's/.*p99 \([0-9.-]*\) ms.*/\1/p' "$out")
            gaps=$(sed -n 's/.*missed (id gaps) \([0-9]*\).*/\1/p' "$out")
            starved=$(sed -n 's/.*clients that received nothing \([0-9]*\).*/\1/p' "$out")
            per_client=$(echo "scale=2; ($with - $idle) / $n" | bc)
            rate=$(echo "$events / $secs" | bc)
            printf 'round %s %5s clients %-4s: %6.3f µs CPU/event, %7.1f µs CPU/client-s, RSS %s→%s kB (%s kB/client), %s events/s, p50 %s ms, p99 %s ms, gaps %s, starved %s, load %s\n' \
                "$r" "$n" "$s" "$us_event" "$us_cs" "$idle" "$with" "$per_client" "$rate" "$p50" "$p99" "$gaps" "$starved" "$load"
            echo "$s $n $us_event $us_cs $per_client $p50 $p99 $rate $load" >>"$rows"
            rm -f "$out"
        done
    done
done
python3 - "$rows" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
by = {}
for s, n, *v in rows:
    by.setdefault((int(n), s), []).append([float(x) for x in v])
names = ["µs CPU/event", "µs CPU/client-s", "kB RSS/client", "p50 ms", "p99 ms", "events/s", "load"]
print()
med = {}
for (n, s), vs in sorted(by.items()):
    med[(n, s)] = [statistics.median(col) for col in zip(*vs)]
    m = med[(n, s)]
    print(f"median {n:5d} clients {s:4s}: {m[0]:.3f} µs CPU/event, {m[1]:.1f} µs CPU/client-s, {m[2]:.2f} kB RSS/client, "
          f"p50 {m[3]:.1f} ms, p99 {m[4]:.1f} ms, {m[5]:.0f} events/s (load {m[6]:.1f}; {len(vs)} runs)")
for n in sorted({n for n, _ in by}):
    for peer in ("nio", "nio1"):
        if (n, "vidd") in med and (n, peer) in med:
            v, p = med[(n, "vidd")], med[(n, peer)]
            print(f"{n} clients, vidd / {peer}: CPU per event {v[0] / p[0]:.2f}×, RSS per client {v[2] / p[2]:.2f}×, p99 {v[4] / p[4]:.2f}×")
EOF
