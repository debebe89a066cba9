#!/usr/bin/env bash
# A 1 GiB chunked upload with curl through HTTPServer's streaming body (HTTPBench PUT /upload, which
# hashes the body as it arrives). Prints the server's resident memory before, its peak (VmHWM), and
# the answer; the body must never be held in memory, so the peak stays far below 1 GiB.
#   scripts/http-upload-1g.sh [SIZE]        (SIZE as for head -c, default 1G)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
size=${1:-1G}
bin="$root/Benchmarks/.build/release/HTTPBench"
[ -x "$bin" ] || (cd "$root/Benchmarks" && swift build -c release --product HTTPBench)
port=${PORT:-18181}
"$bin" --port "$port" >/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/stats" >/dev/null && break; sleep 0.1; done
rss_kb() { awk "/^$1:/ {print \$2}" "/proc/$pid/status"; }
echo "server RSS before: $(rss_kb VmRSS) kB"
start=$(date +%s.%N)
answer=$(head -c "$size" /dev/zero | curl -sS -T - -H 'Transfer-Encoding: chunked' "http://127.0.0.1:$port/upload")
end=$(date +%s.%N)
expected=$(head -c "$size" /dev/zero | sha256sum | cut -d' ' -f1)
echo "server answered: $answer"
echo "expected sha256: $expected"
echo "server RSS after: $(rss_kb VmRSS) kB, peak during the run (VmHWM): $(rss_kb VmHWM) kB"
echo "elapsed: $(echo "$end - $start" | bc) s"
[ "${answer#* }" = "$expected" ] && echo "OK" || { echo "MISMATCH"; exit 1; }
