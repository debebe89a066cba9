#!/usr/bin/env bash
# Runs vidd on this machine (Debian 12, as root or with sudo):
#
#   scripts/run.sh              install what is missing, build a release vidd, run it
#   scripts/run.sh ARGS...      the same, passing ARGS to vidd
#
# vidd has only its `version` command so far, so by default this builds it and prints the version.
# When the service exists this script also starts the local Redis (append-only file) and
# PostgreSQL it needs, with their data under .data/, and runs `vidd all`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf '[run] %s\n' "$*"; }

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi

install_dependencies() {
    scripts/install-deps.sh
}

build_release() {
    say "building vidd (release)"
    swift build -c release --product vidd
    VIDD="$(swift build -c release --show-bin-path)/vidd"
}

install_dependencies
build_release
if [ "$#" -eq 0 ]; then set -- version; fi
exec "$VIDD" "$@"
