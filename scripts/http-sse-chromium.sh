#!/usr/bin/env bash
# EventSource in headless Chromium against HTTPBench's /events: the server sends 3 events per
# connection then ends the response; the browser must reconnect on its own and send Last-Event-ID,
# and the server must continue from there. Prints what the page saw and what the server saw.
#   apt-get install -y chromium; scripts/http-sse-chromium.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/Benchmarks/.build/release/HTTPBench"
[ -x "$bin" ] || (cd "$root/Benchmarks" && swift build -c release --product HTTPBench)
www=$(mktemp -d)
cat > "$www/sse.html" <<'HTML'
<!doctype html><title>sse</title><pre id="log"></pre>
<script>
const log = document.getElementById('log');
const es = new EventSource('/events');
let n = 0;
es.addEventListener('tick', e => {
  log.textContent += `tick lastEventId=${e.lastEventId} data=${e.data}\n`;
  if (++n >= 7) { es.close(); log.textContent += 'DONE\n'; }
});
es.onerror = () => { log.textContent += `stream ended, readyState=${es.readyState} (reconnecting)\n`; };
</script>
HTML
port=${PORT:-18183}
"$bin" --port "$port" --root "$www" > "$www/server.log" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$www"' EXIT
sleep 1
echo "--- page (document after the run) ---"
timeout 60 chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=15000 \
    --dump-dom "http://127.0.0.1:$port/static/sse.html" 2>/dev/null | sed -n '/<pre/,/<\/pre>/p'
echo "--- server ---"
cat "$www/server.log"
