#!/usr/bin/env bash
# The fault suite (Tests/VideoServiceTests/Faults) in its long form: workers SIGKILLed 24 times
# over 40 jobs, Redis crashed and PostgreSQL stopped for 15 s mid-batch (then 10 restarts), S3
# failing 30 % of requests and every request for 10 s, poison media, SIGTERM mid-job, 64
# simultaneous posts of one video_id, stalled and oversized uploads. scripts/test.sh runs the
# same scenarios small.
#
#   scripts/fault-suite.sh            the long form; figures in .tmp/fault-suite/
#   scripts/fault-suite.sh --short    the short form (what scripts/test.sh runs)
#
# Like scripts/test.sh it starts throw-away services unless they already run (and stops only
# what it started), builds, runs the suite, and exits with its status. Each scenario prints its
# figures as a JSON line (`[fault-suite] {…}`); they are gathered in .tmp/fault-suite/report.jsonl
# and rendered as the Markdown table docs/reliability.md shows (.tmp/fault-suite/figures.md).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say() { printf '[fault-suite] %s\n' "$*"; }

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi

SCALE=long
case "${1:-}" in
    --short) SCALE=short ;;
    "") ;;
    *) echo "usage: scripts/fault-suite.sh [--short]" >&2; exit 2 ;;
esac

ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
STARTED_HERE=0
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ "$STARTED_HERE" = 1 ]; then scripts/services.sh stop >/dev/null 2>&1 || say "warning: scripts/services.sh stop failed"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

scripts/install-deps.sh
OUT="$ROOT/.tmp/fault-suite"
mkdir -p "$OUT"
if ! scripts/services.sh status >/dev/null 2>&1; then
    STARTED_HERE=1
    scripts/services.sh start
fi
say "build (swift build --build-tests)"
swift build --build-tests

set -a
# shellcheck source=/dev/null
. "$ROOT/.services/env"
set +a
export CI="${CI:-1}"  # a missing service fails the suite instead of skipping a scenario
export VIDD_FAULT_SCALE="$SCALE"
export VIDD_FAULT_REPORT="$OUT/report.jsonl"
: > "$VIDD_FAULT_REPORT"

T0="$EPOCHREALTIME"
say "the $SCALE form (swift test --filter FaultSuite)"
set +e
swift test --skip-build --filter FaultSuite 2>&1 | tee "$OUT/test-output.log"
STATUS=${PIPESTATUS[0]}
set -e

python3 - "$VIDD_FAULT_REPORT" "$SCALE" "$(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')" \
    >"$OUT/figures.md" <<'EOF'
import json, sys
path, scale, seconds = sys.argv[1], sys.argv[2], sys.argv[3]
rows = [json.loads(line) for line in open(path) if line.strip()]
print(f"`scripts/fault-suite.sh{' --short' if scale == 'short' else ''}` ({scale} form), {seconds} s in all:\n")
print("| Scenario | Submitted | Accepted | Refused | Completed | Failed | Lost | Duplicated | Kills | Crashes | Outage s | Job retries | S3 faults / retried | API during outage: requests, slowest s, late | s |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
totals = dict.fromkeys(["submitted", "accepted", "refused", "completed", "failed", "lost", "duplicated", "kills", "crashes", "jobRetries", "s3Faults", "s3RetriesSeen"], 0)
for r in rows:
    for k in totals: totals[k] += r[k]
    s3 = f"{r['s3Faults']} / {r['s3RetriesSeen']}" if r["s3Faults"] else "–"
    api = f"{r['outageRequests']}, {r['outageSlowestSeconds']:.1f}, {r['outageUnanswered']}" if r["outageRequests"] else "–"
    outage = f"{r['outageSeconds']:.1f}" if r["outageSeconds"] else "–"
    print(f"| {r['scenario']} | {r['submitted']} | {r['accepted']} | {r['refused']} | {r['completed']} | {r['failed']} | "
          f"{r['lost']} | {r['duplicated']} | {r['kills']} | {r['crashes']} | {outage} | {r['jobRetries']} | {s3} | {api} | {r['seconds']:.0f} |")
t = totals
print(f"| **all** | {t['submitted']} | {t['accepted']} | {t['refused']} | {t['completed']} | {t['failed']} | {t['lost']} | "
      f"{t['duplicated']} | {t['kills']} | {t['crashes']} | | {t['jobRetries']} | {t['s3Faults']} / {t['s3RetriesSeen']} | | |")
print()
for r in rows:
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(r["outageStatuses"].items()))
    notes = r["notes"] + ([f"answers during the outage — {statuses}"] if statuses else [])
    if notes:
        print(f"- {r['scenario']}: " + "; ".join(notes))
EOF
cat "$OUT/figures.md"
if [ "$STATUS" -eq 0 ]; then say "PASSED"; else say "FAILED (swift test exit status $STATUS; output in $OUT/test-output.log)"; fi
exit "$STATUS"
