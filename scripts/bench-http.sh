#!/usr/bin/env bash
# Small JSON on keep-alive connections (not part of the test suite): vidd's HTTPServer (HTTPBench)
# with one event loop (`vidd`) and with one per core (`vidd2`: `--loops $(nproc)`) against raw
# swift-nio (NIOPeer: NIOHTTP1 pipeline, no framework) with System.coreCount event loops (`nio`)
# and with one (`nio1`), and optionally Hummingbird 2 — same route, same JSON
# (encoded per request with JSONEncoder), same wrk load. Release builds. Runs alternate between
# the servers (A B C A B C …) so the machine's noise hits all alike; medians, ratios, and the load
# average beside every run.
#   RUNS=5 DURATION=10s SERVERS="vidd vidd2 nio nio1 hummingbird" scripts/bench-http.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-5}
duration=${DURATION:-10s}
servers=${SERVERS:-vidd2 nio vidd nio1}
cd "$root/Benchmarks"
swift build -c release --product HTTPBench >/dev/null
swift build -c release --product NIOPeer >/dev/null
case " $servers " in *" hummingbird "*) swift build -c release --product HummingbirdPeer >/dev/null ;; esac
rows=$(mktemp)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -f "$rows"' EXIT
declare -A port pid
p=18181
for s in $servers; do
    port[$s]=$p
    case "$s" in
    vidd) ./.build/release/HTTPBench --port "$p" >/dev/null & ;;
    vidd2) ./.build/release/HTTPBench --port "$p" --loops "$(nproc)" >/dev/null & ;;
    nio) ./.build/release/NIOPeer --port "$p" >/dev/null & ;;
    nio1) ./.build/release/NIOPeer --port "$p" --threads 1 >/dev/null & ;;
    hummingbird) ./.build/release/HummingbirdPeer "$p" >/dev/null 2>&1 & ;;
    *) echo "unknown server $s" >&2; exit 64 ;;
    esac
    pid[$s]=$!
    pids+=($!)
    p=$((p + 1))
done
sleep 2
for s in $servers; do
    curl -sf "http://127.0.0.1:${port[$s]}/json" >/dev/null || { echo "$s does not answer" >&2; exit 1; }
    wrk -t2 -c64 -d2s "http://127.0.0.1:${port[$s]}/json" >/dev/null   # warm-up
done

to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us/,"",v); print v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v); print v} else {sub(/s/,"",v); print v*1000}}'; }
# The server's CPU (utime+stime of its process, clock ticks) per request served: the figure a
# shared machine disturbs least.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
echo "command: wrk -t2 -c64 -d$duration --latency http://127.0.0.1:PORT/json   ($runs runs each, alternating: $servers; $(nproc) cores)"
for i in $(seq "$runs"); do
    line="run $i:"
    for s in $servers; do
        load=$(cut -d' ' -f1 /proc/loadavg)
        before=$(cpu_ticks "${pid[$s]}")
        out=$(wrk -t2 -c64 -d"$duration" --latency "http://127.0.0.1:${port[$s]}/json")
        after=$(cpu_ticks "${pid[$s]}")
        rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
        p99=$(awk '$1=="99%" {print $2}' <<<"$out" | to_ms)
        total=$(awk '/requests in/ {print $1}' <<<"$out")
        errors=$(awk '/Non-2xx|Socket errors/' <<<"$out" | tr -s ' ' | paste -sd' ')
        cpu=$(echo "scale=2; ($after - $before) * 1000000 / $(getconf CLK_TCK) / $total" | bc)
        echo "$s $rps $p99 $cpu $load" >>"$rows"
        line+="  $s $rps req/s p99 $p99 ms ${cpu} µs/req (load $load)${errors:+ [$errors]}"
    done
    echo "$line"
done
echo "RSS after: $(for s in $servers; do printf '%s %s kB  ' "$s" "$(awk '/VmRSS/ {print $2}' /proc/${pid[$s]}/status)"; done)"
python3 - "$rows" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
by = {}
for s, *v in rows:
    by.setdefault(s, []).append([float(x) for x in v])
med = {s: [statistics.median(c) for c in zip(*vs)] for s, vs in by.items()}
for s, m in med.items():
    print(f"median {s:11s}: {m[0]:9.0f} req/s, p99 {m[1]:6.2f} ms, {m[2]:6.2f} µs CPU/request (load {m[3]:.1f}, {len(by[s])} runs)")
for ours in ("vidd", "vidd2"):
    if ours not in med:
        continue
    for s in med:
        if not s.startswith("vidd"):
            v, p = med[ours], med[s]
            print(f"{ours} / {s}: req/s {v[0] / p[0]:.2f}×, p99 {v[1] / p[1]:.2f}× (lower is better), CPU/request {v[2] / p[2]:.2f}×")
EOF
