#!/usr/bin/env bash
# Small JSON on keep-alive connections: HTTPBench (vidd's HTTPServer) vs HummingbirdPeer (Hummingbird 2),
# both release builds, same handler, same wrk command, runs alternating between the two so that
# machine noise hits both alike. Prints every run, the medians and the ratios.
#   RUNS=5 DURATION=10s scripts/http-bench.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-5}
duration=${DURATION:-10s}
cd "$root/Benchmarks"
swift build -c release --product HTTPBench >/dev/null
swift build -c release --product HummingbirdPeer >/dev/null
./.build/release/HTTPBench --port 18081 >/dev/null &
ours=$!
./.build/release/HummingbirdPeer 18082 >/dev/null 2>&1 &
peer=$!
trap 'kill $ours $peer 2>/dev/null' EXIT
sleep 2
curl -sf http://127.0.0.1:18081/json >/dev/null && curl -sf http://127.0.0.1:18082/json >/dev/null
wrk -t2 -c64 -d2s http://127.0.0.1:18081/json >/dev/null   # warm-up
wrk -t2 -c64 -d2s http://127.0.0.1:18082/json >/dev/null

to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us/,"",v); print v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v); print v} else {sub(/s/,"",v); print v*1000}}'; }
# CPU time (user+system, clock ticks) the server process used: divided by the requests served it
# gives CPU per request, which the other jobs on a shared machine disturb far less than req/s.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run() {
    local before out after rps p99 total
    before=$(cpu_ticks "$2")
    out=$(wrk -t2 -c64 -d"$duration" --latency "http://127.0.0.1:$1/json")
    after=$(cpu_ticks "$2")
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p99=$(echo "$out" | awk '$1=="99%" {print $2}' | to_ms)
    total=$(echo "$out" | awk '/requests in/ {print $1}')
    echo "$rps $p99 $(echo "scale=2; ($after - $before) * 1000000 / $(getconf CLK_TCK) / $total" | bc)"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
: > /tmp/http-bench-ours; : > /tmp/http-bench-peer
echo "command: wrk -t2 -c64 -d$duration --latency http://127.0.0.1:PORT/json   ($runs runs each, alternating)"
for i in $(seq "$runs"); do
    o=$(run 18081 $ours); p=$(run 18082 $peer)
    echo "$o" >> /tmp/http-bench-ours; echo "$p" >> /tmp/http-bench-peer
    echo "run $i: HTTPServer $o   Hummingbird $p   (req/s, p99 ms, server CPU µs/request)"
done
ours_rps=$(cut -d' ' -f1 /tmp/http-bench-ours | median); peer_rps=$(cut -d' ' -f1 /tmp/http-bench-peer | median)
ours_p99=$(cut -d' ' -f2 /tmp/http-bench-ours | median); peer_p99=$(cut -d' ' -f2 /tmp/http-bench-peer | median)
ours_cpu=$(cut -d' ' -f3 /tmp/http-bench-ours | median); peer_cpu=$(cut -d' ' -f3 /tmp/http-bench-peer | median)
echo "median HTTPServer:  $ours_rps req/s, p99 $ours_p99 ms, $ours_cpu µs CPU/request"
echo "median Hummingbird: $peer_rps req/s, p99 $peer_p99 ms, $peer_cpu µs CPU/request"
echo "ratio req/s: $(echo "scale=2; $ours_rps / $peer_rps" | bc)x   ratio p99 (ours/peer, lower is better): $(echo "scale=2; $ours_p99 / $peer_p99" | bc)   ratio CPU/request (ours/peer): $(echo "scale=2; $ours_cpu / $peer_cpu" | bc)"
echo "RSS after: HTTPServer $(awk '/VmRSS/ {print $2}' /proc/$ours/status) kB, Hummingbird $(awk '/VmRSS/ {print $2}' /proc/$peer/status) kB"
