#!/usr/bin/env bash
# Runs the whole test suite against real services. This is what CI runs (.ci/run).
#
#   scripts/test.sh                       everything
#   scripts/test.sh --filter RESPTests    extra arguments go to `swift test`
#
# 1. installs missing dependencies (scripts/install-deps.sh),
# 2. starts throw-away Redis, PostgreSQL and S3 (scripts/services.sh) unless they already run,
#    while it builds the package and its tests,
# 3. runs `swift test` with the services' variables (Swift Testing runs tests in parallel; the
#    timing/memory-sensitive and the media tests in passes of their own),
# 4. stops the services it started, whatever happens (test failure, error, Ctrl-C),
# and exits with the tests' status.
#
# Services you run yourself are used instead when their variables are exported (see README.md).
# With CI set, a test whose service is missing fails instead of being skipped.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf '[test] %s\n' "$*"; }
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f s", b - a }'; }

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi

T0="$EPOCHREALTIME"

# Some tests hold thousands of sockets at once (e.g. 1 000 echo connections, both ends).
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
STARTED_HERE=0
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ "$STARTED_HERE" = 1 ]; then
        scripts/services.sh stop >/dev/null 2>&1 || say "warning: scripts/services.sh stop failed"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "dependencies"
scripts/install-deps.sh
command -v swift >/dev/null 2>&1 || { say "swift not found on PATH"; exit 1; }

mkdir -p .tmp
SERVICES_JOB=""
if scripts/services.sh status >/dev/null 2>&1; then
    say "services: already running, using them (scripts/services.sh stop to end them)"
else
    # They start while the package builds; their messages follow the build's.
    say "services: starting in the background"
    STARTED_HERE=1
    scripts/services.sh start >"$ROOT/.tmp/services-start.log" 2>&1 &
    SERVICES_JOB=$!
fi

say "build (swift build --build-tests)"
T_BUILD="$EPOCHREALTIME"
BUILD_OK=1
swift build --build-tests || BUILD_OK=0
BUILD_TIME="$(elapsed "$T_BUILD")"

if [ -n "$SERVICES_JOB" ]; then
    SERVICES_OK=1
    wait "$SERVICES_JOB" || SERVICES_OK=0
    cat "$ROOT/.tmp/services-start.log"
    if [ "$SERVICES_OK" = 0 ]; then
        say "FAILED: the services did not start (see above)"
        exit 1
    fi
fi
if [ "$BUILD_OK" = 0 ]; then
    say "FAILED: the build failed (nothing was tested)"
    exit 1
fi

set -a
# shellcheck source=/dev/null
. "$ROOT/.services/env"
set +a

say "tests (swift test${*:+ $*})"
LOG="$ROOT/.tmp/test-output.log"
T_TEST="$EPOCHREALTIME"
set +e
if [ "$#" -gt 0 ]; then
  swift test --skip-build "$@" 2>&1 | tee "$LOG"
  STATUS=${PIPESTATUS[0]}
else
  # Nine passes.
  # 1. The network and codec tests, in parallel, in two halves (the protocol clients, then S3Lite
  #    and the service's unit and API tests): all ~420 at once on two cores made a different
  #    short-deadline test miss in most fresh-clone runs (a TLS handshake, a pool wait, a cancel).
  # 1b. The HTTP server's tests (many real clients with timeouts measured in hundreds of ms),
  #     apart from pass 1, which starves them of CPU on two cores.
  # 2. Tests that measure this process's memory or race a real clock against a server: beside
  #    the others their RSS figures include other tests' buffers and their deadlines time spent
  #    waiting for a cooperative thread, so they run on their own. The 1 000 × 1 MiB echo test runs
  #    in the last pass: in a debug build it keeps the shared event loop busy for ~15 s (beside pass 1
  #    PostgreSQL startups overran their 10 s connect timeout) and its buffers swamp RSS checks.
  # 2b. The reactor test that hogs the event loop's thread on purpose (beside pass 1 it made a
  #     200 ms pool-timeout test fail), alone.
  # 3. The transcoder's tests, which keep both cores encoding and allocate hundreds of MB of frames.
  # 4. The two transcoder tests that count this process's transcoder threads, alone.
  # 5. The service's worker and end-to-end tests: they transcode (in this process or in vidd
  #    daemons it starts, also through scripts/run.sh) and kill or stop workers mid-job, so they
  #    get the machine to themselves.
  # 6. Failovers: Redis primaries killed under three sentinels, PostgreSQL primaries crashed and
  #    their standbys promoted (servers of the tests' own), the last two with a real vidd
  #    transcoding a batch; sentinels judge a primary down after 1 s of silence, so these run
  #    after the others instead of beside CPU-heavy passes.
  # 7. The web app's browser tests (Tests/Browser: pytest + Playwright driving Debian's chromium,
  #    against vidd daemons that transcode), alone for the same reason.
  # 8. The fault suite's short form (Tests/VideoServiceTests/Faults; the long form is
  #    scripts/fault-suite.sh): workers killed, Redis and PostgreSQL restarted, S3 failing, with
  #    answer-time limits on the API, so after the service pass rather than beside it.
  ALONE='chunkedUploadIsStreamedWithoutBuffering|gracefulShutdownCompletesInFlightRequests|queryTimeoutCancelsOnTheServer|cancelRacingTheQueryStartStillCancels|repeatedContinuationTokenStops|poolWaitersTimeOutAndAreServedInOrder'
  MEDIA_ALONE='cancellationStopsPromptlyAndLeavesNoThreadsOrFiles|completedTranscodeLeavesNoThreadsOrFiles|thousandConnectionsEchoOneMiBEach'
  SERVICE='EndToEndTests|WorkerTests|HeartbeatTests|RemoteSourceTests|WorkerHygieneTests|RunScriptTests'  # includes TusEndToEndTests (vidd + tuspy, 200 MiB)
  FAILOVER='FailoverTests|MultiHostTests'
  BROWSER='BrowserTests'
  FAULTS='FaultSuite'
  # Holds the one event-loop thread for ~0.7 s on purpose: every other loop-based test would stall.
  LOOP_HOG='dataThatArrivedWhileTheLoopWasBusyBeatsAnExpiredTimeout'
  run_pass() {  # run_pass TITLE ARGS...
    local title="$1"; shift
    say "$title (swift test $*)"
    swift test --skip-build "$@" 2>&1 | tee -a "$LOG"
    local rc=${PIPESTATUS[0]}
    if [ "$STATUS" -eq 0 ]; then STATUS=$rc; fi
  }
  : > "$LOG"
  STATUS=0
  CLIENTS='ReactorTests|RESPTests|PGWireTests'
  run_pass "network and codec tests: reactor, RESP, PGWire" --filter "$CLIENTS" --skip "$ALONE|$MEDIA_ALONE|$SERVICE|$LOOP_HOG|$FAILOVER|$BROWSER|$FAULTS"
  run_pass "network and codec tests: the others" --skip "$CLIENTS|TranscodeTests|HTTPServerTests|$ALONE|$MEDIA_ALONE|$SERVICE|$LOOP_HOG|$FAILOVER|$BROWSER|$FAULTS"
  run_pass "HTTP server tests" --filter HTTPServerTests --skip "$ALONE"
  run_pass "timing- and memory-sensitive tests, alone" --filter "$ALONE"
  run_pass "the test that blocks the event loop's thread, alone" --filter "$LOOP_HOG"
  run_pass "media tests" --filter TranscodeTests --skip "$MEDIA_ALONE"
  run_pass "thread-count tests and the 1000-connection echo, alone" --filter "$MEDIA_ALONE"
  run_pass "service: worker and end-to-end tests" --filter "$SERVICE"
  run_pass "service: the fault suite, short form" --filter "$FAULTS"
  run_pass "failovers: Sentinel, a promoted standby, and vidd through both" --filter "$FAILOVER"
  run_pass "web app in Debian's chromium (Tests/Browser)" --filter "$BROWSER"
fi
set -e
TEST_TIME="$(elapsed "$T_TEST")"

echo
say "================================ summary ================================"
# Swift Testing's and XCTest's own totals, as printed above.
# (XCTest's "Executed 0 tests" lines are left out: the suite is written with Swift Testing.)
grep -E 'Test run with [0-9]+ tests?|Executed [1-9][0-9]* tests?' "$LOG" | tail -n 20 | sed 's/^/[test]   /' || true
SKIPPED="$(grep -c '\*\*\* SKIPPED' "$LOG" || true)"
if [ "$SKIPPED" != 0 ]; then say "  $SKIPPED test(s) skipped for a missing service (see '*** SKIPPED' above)"; fi
say "  build $BUILD_TIME, tests $TEST_TIME, total $(elapsed "$T0"); full output in .tmp/test-output.log"
if [ "$STATUS" -eq 0 ]; then say "PASSED"; else say "FAILED (swift test exit status $STATUS)"; fi
exit "$STATUS"
