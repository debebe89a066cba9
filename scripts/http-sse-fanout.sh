#!/usr/bin/env bash
# SSE fan-out: HTTPBench broadcasts 100 events/s (each stamped with its send time) to every client
# of GET /fanout; a second HTTPBench process opens N client connections and measures delivery
# latency. Prints the server's RSS with the clients connected, and the latency percentiles.
#   scripts/http-sse-fanout.sh [CLIENTS] [SECONDS]      (default 10000 20)
# SERVER_BIN=path runs another build of HTTPBench as the server (e.g. an older commit's) against
# this build's client.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
clients=${1:-10000}
seconds=${2:-20}
bin="$root/Benchmarks/.build/release/HTTPBench"
[ -x "$bin" ] || (cd "$root/Benchmarks" && swift build -c release --product HTTPBench)
ulimit -n "$(ulimit -Hn)"
port=${PORT:-18184}
server_bin=${SERVER_BIN:-$bin}
log=$(mktemp)
"$server_bin" --port "$port" >"$log" &
server=$!
trap 'kill $server 2>/dev/null; rm -f "$log"' EXIT
sleep 1
echo "server RSS idle: $(awk '/VmRSS/ {print $2}' /proc/$server/status) kB"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
before=$(cpu_ticks $server)
"$bin" --fanout-client "$clients" --port "$port" --seconds "$seconds" &
client=$!
sleep $((seconds * 3 / 4))
echo "server RSS with $clients clients: $(awk '/VmRSS/ {print $2}' /proc/$server/status) kB, peak $(awk '/VmHWM/ {print $2}' /proc/$server/status) kB"
wait $client
echo "server CPU during the run: $(echo "scale=2; ($(cpu_ticks $server) - $before) / $(getconf CLK_TCK)" | bc) s of ${seconds} s"
echo "server log: $(grep -c 'fanout: SSE subscriber' "$log") subscribers dropped for falling behind"
