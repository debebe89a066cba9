#!/usr/bin/env bash
# Runs the whole vidd service on this machine (Debian 12; as root, or a user with sudo):
#
#   scripts/run.sh              install what is missing, build vidd (release), start local Redis
#                               (append-only file) and PostgreSQL with persistent data, run `vidd all`
#   scripts/run.sh ARGS...      the same, but run `vidd ARGS...` (e.g. `worker`, `serve`, `migrate`)
#
# Data lives in $VIDD_DATA_DIR (default /var/lib/vidd as root, else ./.data): redis/ (AOF),
# postgres/ (cluster), storage/ (the local object store). Nothing is lost on restart: a second run
# reuses the same data. Your own services win: set VIDD_REDIS_URL / VIDD_DATABASE_URL and the local
# one is not started; set VIDD_STORAGE=s3 (and VIDD_S3_*) to use S3 instead of the local directory.
# Ctrl-C (or SIGTERM) stops vidd gracefully, then the local Redis and PostgreSQL this run started.
# The URL is printed once vidd answers on it (/healthz). VIDD_BINARY=path runs that vidd instead of
# building one (the tests use the debug build).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf '[run] %s\n' "$*" >&2; }
die() { printf '[run] error: %s\n' "$*" >&2; exit 1; }

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi

PG_BIN="${VIDD_PG_BIN:-/usr/lib/postgresql/15/bin}"
if [ "$(id -u)" -eq 0 ]; then DATA="${VIDD_DATA_DIR:-/var/lib/vidd}"; else DATA="${VIDD_DATA_DIR:-$ROOT/.data}"; fi
REDIS_PORT="${VIDD_LOCAL_REDIS_PORT:-6390}"
PG_PORT="${VIDD_LOCAL_PG_PORT:-5440}"
STARTED=()

as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

wait_for() { # SECONDS COMMAND...: true once COMMAND succeeds
    local n=$(($1 * 10)); shift
    while [ "$n" -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; n=$((n - 1)); done
    return 1
}

start_redis() {
    local d="$DATA/redis"
    mkdir -p "$d"
    [ -f "$d/password" ] || { openssl rand -hex 16 >"$d/password"; chmod 600 "$d/password"; }
    local pw; pw="$(cat "$d/password")"
    export VIDD_REDIS_URL="redis://:$pw@127.0.0.1:$REDIS_PORT"
    if redis-cli -p "$REDIS_PORT" -a "$pw" --no-auth-warning ping 2>/dev/null | grep -q PONG; then
        say "redis: already running on 127.0.0.1:$REDIS_PORT"
        return
    fi
    say "redis: starting on 127.0.0.1:$REDIS_PORT (append-only file in $d)"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --protected-mode yes --requirepass "$pw" \
        --appendonly yes --appendfsync everysec --dir "$d" --logfile "$d/redis.log" \
        --pidfile "$d/redis.pid" --daemonize yes >/dev/null
    wait_for 10 sh -c "redis-cli -p $REDIS_PORT -a '$pw' --no-auth-warning ping | grep -q PONG" \
        || { tail -n 20 "$d/redis.log" >&2; die "redis did not start"; }
    STARTED+=(redis)
}

stop_redis() {
    local pw; pw="$(cat "$DATA/redis/password")"
    redis-cli -p "$REDIS_PORT" -a "$pw" --no-auth-warning shutdown >/dev/null 2>&1 || true
}

start_postgres() {
    local d="$DATA/postgres"
    [ -x "$PG_BIN/initdb" ] || die "PostgreSQL 15 not found at $PG_BIN"
    mkdir -p "$d"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$d"
        runuser -u postgres -- test -x "$d" || die "the postgres user cannot reach $d; set VIDD_DATA_DIR elsewhere"
    fi
    [ -f "$DATA/postgres.password" ] || { openssl rand -hex 16 >"$DATA/postgres.password"; chmod 600 "$DATA/postgres.password"; }
    local pw; pw="$(cat "$DATA/postgres.password")"
    export VIDD_DATABASE_URL="postgres://vidd:$pw@127.0.0.1:$PG_PORT/vidd?sslmode=disable"
    if [ ! -f "$d/data/PG_VERSION" ]; then
        say "postgres: creating a cluster in $d/data"
        printf '%s\n' "$pw" >"$d/pwfile"
        if [ "$(id -u)" -eq 0 ]; then chown postgres: "$d/pwfile"; fi
        as_postgres "$PG_BIN/initdb" -D "$d/data" -U vidd --auth=scram-sha-256 --pwfile="$d/pwfile" \
            -E UTF8 --locale=C.UTF-8 --no-instructions >"$d/initdb.log" 2>&1 \
            || { rm -f "$d/pwfile"; cat "$d/initdb.log" >&2; die "initdb failed"; }
        rm -f "$d/pwfile"
        cat >>"$d/data/postgresql.conf" <<EOF

# ---- scripts/run.sh ----
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$d'
EOF
    fi
    if PGPASSWORD="$pw" "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U vidd -d postgres -c 'SELECT 1' >/dev/null 2>&1; then
        say "postgres: already running on 127.0.0.1:$PG_PORT"
    else
        say "postgres: starting on 127.0.0.1:$PG_PORT (data in $d/data)"
        as_postgres "$PG_BIN/pg_ctl" -D "$d/data" -l "$d/server.log" -w -t 60 -s start >/dev/null \
            || { tail -n 20 "$d/server.log" >&2; die "postgres did not start"; }
        STARTED+=(postgres)
    fi
    if ! PGPASSWORD="$pw" "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U vidd -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'vidd'" | grep -q 1; then
        PGPASSWORD="$pw" "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U vidd -d postgres -c 'CREATE DATABASE vidd' >/dev/null
    fi
}

stop_postgres() {
    as_postgres "$PG_BIN/pg_ctl" -D "$DATA/postgres/data" -m fast -w -t 30 -s stop >/dev/null 2>&1 || true
}

cleanup() {
    local s
    for s in "${STARTED[@]}"; do
        say "stopping the local $s"
        "stop_$s"
    done
}

# Only what vidd needs: the S3 test server's virtualenv is the test command's business.
scripts/install-deps.sh --runtime
if [ -n "${VIDD_BINARY:-}" ]; then
    [ -x "$VIDD_BINARY" ] || die "VIDD_BINARY=$VIDD_BINARY is not an executable"
    VIDD="$VIDD_BINARY"
else
    say "building vidd (release)"
    swift build -c release --product vidd
    VIDD="$(swift build -c release --show-bin-path)/vidd"
fi

# The URL of VIDD_LISTEN as a browser on this machine reaches it.
local_url() {
    local host="${1%:*}" port="${1##*:}"
    case "$host" in "" | 0.0.0.0) host=127.0.0.1 ;; "[::]") host="[::1]" ;; esac
    printf 'http://%s:%s/' "$host" "$port"
}

# Prints the URL once vidd answers /healthz there; says why not if vidd exits first.
announce_when_serving() {
    local url; url="$(local_url "$VIDD_LISTEN")"
    case "$url" in *:0/) say "vidd: listening on a port the kernel picks (VIDD_LISTEN=$VIDD_LISTEN); see its log"; return ;; esac
    while kill -0 "$child" 2>/dev/null; do
        if curl -fsS -o /dev/null --max-time 1 "${url}healthz" 2>/dev/null; then
            say "vidd: $url"
            return
        fi
        [ "$stopping" = 0 ] || return
        sleep 0.2
    done
    [ "$stopping" = 1 ] || say "error: vidd stopped before serving on VIDD_LISTEN=$VIDD_LISTEN (see its message above; set VIDD_LISTEN to another address if that one is taken)"
}

if [ "$#" -eq 0 ]; then set -- all; fi
case "$1" in
    all | serve | worker | migrate)
        mkdir -p "$DATA"
        trap cleanup EXIT
        [ -n "${VIDD_REDIS_URL:-}" ] || start_redis
        [ -n "${VIDD_DATABASE_URL:-}" ] || start_postgres
        if [ -z "${VIDD_STORAGE:-}" ]; then
            mkdir -p "$DATA/storage"
            export VIDD_STORAGE="file://$DATA/storage"
        fi
        export VIDD_LISTEN="${VIDD_LISTEN:-127.0.0.1:8080}"
        # vidd stays a child so the services above are stopped after it exits; signals reach it
        # through the process group (Ctrl-C) or are forwarded (SIGTERM to this script). A Ctrl-C
        # thus reaches vidd twice at once; vidd counts signals that close together as one.
        stopping=0
        "$VIDD" "$@" &
        child=$!
        trap 'stopping=1; trapped=1; kill -TERM "$child" 2>/dev/null || true' TERM INT
        if [ "$1" != worker ] && [ "$1" != migrate ]; then announce_when_serving; fi
        status=0
        while :; do
            trapped=0
            wait "$child" && status=0 || status=$?
            # A trap cut that wait short (its status is the signal's): wait again for vidd's own
            # exit status (bash keeps it once vidd has exited).
            [ "$trapped" = 1 ] || break
        done
        exit "$status"
        ;;
    *)
        exec "$VIDD" "$@"
        ;;
esac
