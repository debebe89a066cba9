#!/usr/bin/env bash
# Installs what vidd needs to build and test on Debian 12, and nothing that is already there.
#
#   scripts/install-deps.sh             everything (what scripts/test.sh needs)
#   scripts/install-deps.sh --runtime   only what vidd needs to build and run (scripts/run.sh):
#                                       no virtualenv with the S3 test server
#
# - Debian packages: libav* headers (FFmpeg), OpenSSL headers, pkg-config, ffmpeg (fixtures),
#   redis-server, PostgreSQL 15, python3-venv, openssl, curl, python3-yaml (the Kubernetes
#   manifests test parses them with it), and chromium with a font for the web app's browser tests.
#   `apt-get update` runs only when something is missing. Root runs apt directly; other users go
#   through sudo.
# - A Python virtualenv owned by the project (.venv/, gitignored) with the pinned S3 test server
#   (moto) from scripts/s3-test-server/requirements.txt, the pinned tus client the tus tests drive
#   (tuspy) from scripts/tus-test-client/requirements.txt, and the browser tests' Playwright and
#   pytest from Tests/Browser/requirements.txt; rebuilt only when the pins change. Playwright
#   drives Debian's /usr/bin/chromium: no browser is ever downloaded (no `playwright install`).
# - Swift is not installed here: it must be on PATH (e.g. /opt/swift/usr/bin).
#
# Safe to run any number of times; quiet when there is nothing to do.
set -euo pipefail

RUNTIME_ONLY=0
case "${1:-}" in
    "") ;;
    --runtime) RUNTIME_ONLY=1 ;;
    *) printf '[install-deps] error: unknown argument %s (only --runtime)\n' "$1" >&2; exit 64 ;;
esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VIDD_VENV:-$ROOT/.venv}"
REQUIREMENT_FILES=("$ROOT/scripts/s3-test-server/requirements.txt" "$ROOT/scripts/tus-test-client/requirements.txt"
                   "$ROOT/scripts/webhook-test-receiver/requirements.txt" "$ROOT/Tests/Browser/requirements.txt")

say() { printf '[install-deps] %s\n' "$*"; }
die() { printf '[install-deps] error: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else die "need root (or sudo) to run: $*"
    fi
}

# ---- Debian packages --------------------------------------------------------------------------
packages=(
    libavformat-dev libavcodec-dev libswscale-dev libavutil-dev libswresample-dev libavfilter-dev
    libssl-dev zlib1g-dev pkg-config ffmpeg
    redis-server
    python3-venv openssl curl ca-certificates
)
# For the tests only: the Kubernetes manifests test (PyYAML) and the browser tests.
if [ "$RUNTIME_ONLY" = 0 ]; then
    packages+=(python3-yaml chromium fonts-dejavu-core)
fi

# PostgreSQL 15 (the tests use its binaries under /usr/lib/postgresql/15/bin).
if [ ! -x /usr/lib/postgresql/15/bin/postgres ]; then
    packages+=(postgresql-15)
fi

installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = "installed" ]; }

command -v dpkg-query >/dev/null 2>&1 || die "this script supports Debian (dpkg/apt) only"

missing=()
for p in "${packages[@]}"; do
    installed "$p" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq >/dev/null
    # In containers without an init system the packages' post-install scripts may fail to start the
    # distribution's own redis/postgres services; that does not matter (the tests start their own
    # instances), so a failed apt-get counts only if a package is really not installed afterwards.
    if ! as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/vidd-apt.log 2>&1; then
        still=()
        for p in "${missing[@]}"; do installed "$p" || still+=("$p"); done
        if [ "${#still[@]}" -gt 0 ]; then
            tail -n 30 /tmp/vidd-apt.log >&2
            die "apt-get install failed for: ${still[*]} (log: /tmp/vidd-apt.log)"
        fi
    fi
    say "Debian packages installed"
fi

# ---- Swift ------------------------------------------------------------------------------------
if ! command -v swift >/dev/null 2>&1; then
    if [ -x /opt/swift/usr/bin/swift ]; then
        say "note: swift is at /opt/swift/usr/bin but not on PATH; the scripts add it"
    else
        die "Swift 6 toolchain not found: install it (swift.org) and put its usr/bin on PATH"
    fi
fi

# ---- Python virtualenv with the S3 test server ------------------------------------------------
[ "$RUNTIME_ONLY" = 0 ] || exit 0

# Debian's own python3 is the one python3-venv belongs to; fall back to whatever python3 is on PATH.
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON="$(command -v python3 || true)"
[ -n "$PYTHON" ] || die "python3 not found"

stamp="$VENV/.vidd-requirements"
wanted="$(cat "${REQUIREMENT_FILES[@]}")"
if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] \
    && "$VENV/bin/python" -c 'import importlib.util as u, sys; sys.exit(not all(u.find_spec(m) for m in ("moto", "boto3", "flask", "tusclient", "playwright", "pytest", "standardwebhooks")))' \
        >/dev/null 2>&1; then
    : # up to date
else
    say "building Python virtualenv $VENV with $(grep -hE '^[a-z]' "${REQUIREMENT_FILES[@]}" | tr '\n' ' ')"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV" || die "python3 -m venv failed (is python3-venv installed?)"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${REQUIREMENT_FILES[@]/#/--requirement=}" \
        || die "pip install failed (network access to PyPI is needed once)"
    printf '%s' "$wanted" > "$stamp"
    say "virtualenv ready: moto $("$VENV/bin/python" -c 'import moto; print(moto.__version__)')"
fi
