#!/usr/bin/env bash
# Throw-away Redis, PostgreSQL and S3 (moto, verifying SigV4) for the tests, without Docker.
#
#   scripts/services.sh start    start them on free loopback ports; write .services/env
#   scripts/services.sh env      print .services/env (`eval "$(scripts/services.sh env)"`)
#   scripts/services.sh status   what runs where; exit 0 when everything started is alive
#   scripts/services.sh stop     stop what `start` started and delete its files
#
# Everything lives in .services/ (gitignored): a test CA with a server certificate for
# localhost/127.0.0.1/::1 and a client certificate, redis-server (password, plus a TLS port),
# PostgreSQL 15 (SCRAM, TLS, one role per authentication method; see scripts/pg-test-roles.sql)
# and moto's S3 via scripts/s3-test-server/. Nothing is persisted: `stop` deletes it all.
#
# Services you already run (e.g. docker-compose) win: when VIDD_TEST_REDIS_URL, VIDD_TEST_PG_URL or
# VIDD_TEST_S3_ENDPOINT is already exported, that service is not started and your variables are
# left alone (.services/env only exports what this script started). Likewise when
# VIDD_TEST_CA_FILE, VIDD_TEST_SERVER_CERT and VIDD_TEST_SERVER_KEY are exported, the servers
# started here use that certificate instead of a generated one.
#
# `start` is idempotent (a second call sees the running set and does nothing); `stop` only ever
# signals processes whose pid it recorded, after checking the pid still runs the program it started.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SVC="${VIDD_SERVICES_DIR:-$ROOT/.services}"
ENV_FILE="$SVC/env"
PG_BIN="${VIDD_PG_BIN:-/usr/lib/postgresql/15/bin}"
VENV="${VIDD_VENV:-$ROOT/.venv}"
S3_SERVER_DIR="$ROOT/scripts/s3-test-server"

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] error: %s\n' "$*" >&2; exit 1; }

python_cmd() {
    if [ -x /usr/bin/python3 ]; then echo /usr/bin/python3; else command -v python3; fi
}

# Distinct ports the kernel reports free right now. All sockets stay bound until every port is
# chosen, so one call never returns the same port twice.
free_ports() {
    "$(python_cmd)" - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

ipv6_loopback() {
    "$(python_cmd)" -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null
}

random_hex() { openssl rand -hex "$1"; }

# Ports are free when chosen but another program may bind one before our server does: a server
# that failed for that reason is retried on fresh ports.
port_taken() { grep -qi 'address already in use' "$1" 2>/dev/null; }

# ---- pid bookkeeping --------------------------------------------------------------------------
# pids/NAME holds "PID PATTERN": PATTERN must appear in /proc/PID/cmdline for the pid to be ours.

record_pid() { mkdir -p "$SVC/pids"; printf '%s %s\n' "$2" "$3" >"$SVC/pids/$1"; }

owned_pid() { # prints the pid of service NAME if it still runs what we started
    local file="$SVC/pids/$1" pid pattern
    [ -f "$file" ] || return 1
    read -r pid pattern <"$file"
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$pattern" || return 1
    echo "$pid"
}

wait_exit() { # PID SECONDS: true once the process is gone
    local i
    for i in $(seq 1 $(($2 * 20))); do
        [ -d "/proc/$1" ] || return 0
        sleep 0.05
    done
    [ ! -d "/proc/$1" ]
}

stop_pid() { # NAME: TERM, then KILL after 5 s
    local pid
    pid="$(owned_pid "$1")" || { rm -f "$SVC/pids/$1"; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_exit "$pid" 5; then
        log "$1 (pid $pid) ignored SIGTERM; killing it"
        kill -KILL "$pid" 2>/dev/null || true
        wait_exit "$pid" 2 || true
    fi
    rm -f "$SVC/pids/$1"
}

stop_redis() {
    local pid
    # SIGTERM makes redis wait for its next cron tick, seconds when idle; SHUTDOWN is immediate.
    if pid="$(owned_pid redis)" && [ -f "$SVC/redis/auth" ]; then
        local port pw
        read -r port pw <"$SVC/redis/auth"
        timeout 5 redis-cli -h 127.0.0.1 -p "$port" -a "$pw" --no-auth-warning shutdown nosave >/dev/null 2>&1 || true
        wait_exit "$pid" 2 || true
    fi
    stop_pid redis
}

as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

started_list() { cat "$SVC/started" 2>/dev/null || true; }

pg_dir() { cat "$SVC/pg_dir" 2>/dev/null || true; }

pg_running() {
    local dir; dir="$(pg_dir)"
    [ -n "$dir" ] && [ -f "$dir/data/postmaster.pid" ] || return 1
    local pid; pid="$(head -n 1 "$dir/data/postmaster.pid")"
    [ -n "$pid" ] && [ -d "/proc/$pid" ]
}

service_alive() {
    case "$1" in
        redis) owned_pid redis >/dev/null ;;
        postgres) pg_running ;;
        s3) owned_pid s3 >/dev/null ;;
        tls) [ -f "$SVC/tls/ca.crt" ] ;;
    esac
}

all_alive() { # everything `start` recorded is still there
    [ -f "$ENV_FILE" ] || return 1
    local s
    for s in $(started_list); do service_alive "$s" || return 1; done
}

# True when process PID has a listening TCP socket on PORT. Readiness probes ask this first so that
# they never talk to (or wait on) another program that took the port before our server bound it.
listens() {
    local pid="$1" hex inode
    hex="$(printf '%04X' "$2")"
    for inode in $(awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { print $10 }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null); do
        if find "/proc/$pid/fd" -maxdepth 1 -lname "socket:\[$inode\]" 2>/dev/null | grep -q .; then
            return 0
        fi
    done
    return 1
}

# ---- certificates -----------------------------------------------------------------------------
make_certs() {
    local d="$SVC/tls"
    mkdir -p "$d"
    cat >"$d/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = vidd test CA
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
EOF
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    openssl req -x509 -new "${ec[@]}" -keyout "$d/ca.key" -out "$d/ca.crt" -days 30 \
        -config "$d/openssl.cnf" -extensions ca 2>/dev/null
    local name cn
    for name in server client; do
        # The client certificate's CN is a PostgreSQL role name, for certificate-auth tests.
        if [ "$name" = server ]; then cn=localhost; else cn=app; fi
        openssl req -new "${ec[@]}" -keyout "$d/$name.key" -out "$d/$name.csr" -subj "/CN=$cn" 2>/dev/null
        openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
            -set_serial "0x$(random_hex 8)" -days 30 -out "$d/$name.crt" \
            -extfile "$d/openssl.cnf" -extensions "$name" 2>/dev/null
        rm -f "$d/$name.csr"
    done
    chmod 600 "$d"/*.key
    chmod 644 "$d"/*.crt
}

# ---- Redis ------------------------------------------------------------------------------------
start_redis() { # PORT TLS_PORT PASSWORD
    local d="$SVC/redis" port="$1" tls_port="$2" pw="$3"
    mkdir -p "$d"
    (umask 077 && echo "$port $pw" >"$d/auth") # for stop_redis
    local bind=(127.0.0.1)
    ipv6_loopback && bind+=("-::1") # "-": skip the address if it cannot be bound
    setsid redis-server --port "$port" --bind "${bind[@]}" --protected-mode yes \
        --save '' --appendonly no --requirepass "$pw" \
        --dir "$d" --logfile "$d/redis.log" --pidfile "$d/redis.pid" --daemonize no \
        --tls-port "$tls_port" --tls-cert-file "$CERT" --tls-key-file "$KEY" \
        --tls-ca-cert-file "$CA" --tls-auth-clients optional \
        </dev/null >>"$d/redis.log" 2>&1 9>&- &
    local pid=$!
    record_pid redis "$pid" redis-server
    local i
    for i in $(seq 1 400); do
        if listens "$pid" "$port" \
            && timeout 5 redis-cli -h 127.0.0.1 -p "$port" -a "$pw" --no-auth-warning ping 2>/dev/null | grep -q PONG; then
            return 0
        fi
        [ -d "/proc/$pid" ] || break
        sleep 0.025
    done
    tail -n 20 "$d/redis.log" >&2
    return 1
}

# ---- PostgreSQL -------------------------------------------------------------------------------
# The data and socket directory must be reachable by the `postgres` user when we are root, and the
# socket path must fit in sockaddr_un (108 bytes): otherwise it goes to a fresh directory in /tmp.
choose_pg_dir() {
    local want="$SVC/pg"
    if [ "${#want}" -le 80 ] && { [ "$(id -u)" -ne 0 ] || runuser -u postgres -- test -x "$SVC"; }; then
        mkdir -p "$want"
        echo "$want"
    else
        mktemp -d "${TMPDIR:-/tmp}/vidd-pg.XXXXXX"
    fi
}

start_postgres() { # PORT PASSWORD
    local port="$1" pw="$2" dir
    [ -x "$PG_BIN/initdb" ] || die "PostgreSQL 15 not found at $PG_BIN (run scripts/install-deps.sh)"
    dir="$(choose_pg_dir)"
    echo "$dir" >"$SVC/pg_dir"
    chmod 755 "$dir"
    printf '%s\n' "$pw" >"$dir/pwfile"
    chmod 600 "$dir/pwfile"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir" "$dir/pwfile"; fi

    as_postgres "$PG_BIN/initdb" -D "$dir/data" -U app --auth=scram-sha-256 --pwfile="$dir/pwfile" \
        -E UTF8 --locale=C.UTF-8 --no-sync --no-instructions >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; return 1; }
    rm -f "$dir/pwfile"

    # TLS material inside the data directory, owned by the server's user (it refuses a key others can read).
    cp "$CERT" "$dir/data/server.crt"
    cp "$KEY" "$dir/data/server.key"
    cp "$CA" "$dir/data/ca.crt"
    chmod 600 "$dir/data/server.key"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir/data/server.crt" "$dir/data/server.key" "$dir/data/ca.crt"; fi

    local listen="127.0.0.1" v6=0
    if ipv6_loopback; then listen="127.0.0.1,::1"; v6=1; fi
    cat >>"$dir/data/postgresql.conf" <<EOF

# ---- scripts/services.sh: a throw-away test server ----
listen_addresses = '$listen'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
ssl_ca_file = 'ca.crt'
log_min_messages = warning
EOF

    # First matching line wins: each test role gets exactly its method; ssl_user only over TLS.
    {
        echo "# TYPE     DATABASE  USER           ADDRESS        METHOD"
        echo "local      all       trust_user                    trust"
        echo "local      all       password_user                 password"
        echo "local      all       md5_user                      md5"
        echo "local      all       ssl_user                      reject"
        echo "local      all       all                           scram-sha-256"
        local addr
        for addr in 127.0.0.1/32 $( [ "$v6" = 1 ] && echo ::1/128 ); do
            echo "hostnossl  all       ssl_user       $addr   reject"
            echo "hostssl    all       ssl_user       $addr   scram-sha-256"
            echo "host       all       trust_user     $addr   trust"
            echo "host       all       password_user  $addr   password"
            echo "host       all       md5_user       $addr   md5"
            echo "host       all       scram_user     $addr   scram-sha-256"
            echo "host       all       all            $addr   scram-sha-256"
        done
    } >"$dir/data/pg_hba.conf"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir/data/postgresql.conf" "$dir/data/pg_hba.conf"; fi

    if ! as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -s start >/dev/null 2>&1 9>&-; then
        tail -n 20 "$dir/server.log" >&2
        return 1
    fi
    # The postmaster starts when at least one listen address binds; all of them must be ours.
    if port_taken "$dir/server.log"; then
        grep -i 'could not bind' "$dir/server.log" >&2
        return 1
    fi
    PGPASSWORD="$pw" "$PG_BIN/psql" -X -q -h "$dir" -p "$port" -U app -d postgres \
        -v pw="$pw" -f "$ROOT/scripts/pg-test-roles.sql" >/dev/null
}

stop_postgres() {
    local dir; dir="$(pg_dir)"
    [ -n "$dir" ] || return 0
    if pg_running; then
        as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 10 -s stop >/dev/null 2>&1 || true
    fi
    if pg_running; then # pg_ctl gave up: the postmaster's pid is in its own pid file
        local pid; pid="$(head -n 1 "$dir/data/postmaster.pid")"
        log "postgres (pid $pid) did not stop; killing it"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.2
    fi
    case "$dir" in "$SVC"/*) ;; *) rm -rf "$dir" ;; esac # under $SVC it goes with the rest
}

# ---- S3 (moto) --------------------------------------------------------------------------------
launch_s3() { # PORT: starts the server; readiness is awaited by wait_s3 (moto imports slowly)
    local d="$SVC/s3"
    mkdir -p "$d"
    [ -x "$VENV/bin/python" ] || die "no Python virtualenv at $VENV (run scripts/install-deps.sh)"
    INITIAL_NO_AUTH_ACTION_COUNT=4 setsid "$VENV/bin/python" "$S3_SERVER_DIR/moto_s3_server.py" \
        -H 127.0.0.1 -p "$1" </dev/null >"$d/moto.log" 2>&1 9>&- &
    record_pid s3 "$!" moto_s3_server.py
}

wait_s3() { # PORT: until GET /moto-api/ answers, then create the test user; prints "KEY SECRET"
    local port="$1" pid i
    pid="$(owned_pid s3)" || { tail -n 20 "$SVC/s3/moto.log" >&2; return 1; }
    for i in $(seq 1 300); do
        if listens "$pid" "$port" && curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$port/moto-api/"; then
            "$VENV/bin/python" "$S3_SERVER_DIR/bootstrap.py" "http://127.0.0.1:$port"
            return
        fi
        [ -d "/proc/$pid" ] || break
        sleep 0.1
    done
    tail -n 20 "$SVC/s3/moto.log" >&2
    return 1
}

# ---- commands ---------------------------------------------------------------------------------
STARTING=0
on_exit() {
    local rc=$?
    if [ "$STARTING" = 1 ] && [ "$rc" -ne 0 ]; then
        log "start failed; stopping what was started"
        cmd_stop >/dev/null 2>&1 || true
    fi
}
trap on_exit EXIT

ours() { # SERVICE: true when the variables in the environment came from our own env file
    case " ${VIDD_TEST_SERVICES_STARTED:-} " in *" $1 "*) return 0 ;; *) return 1 ;; esac
}

user_has() { # SERVICE VAR: true when the user exported VAR for a service of their own
    [ -n "${!2:-}" ] && ! ours "$1"
}

cmd_start() {
    if all_alive; then
        log "already running (scripts/services.sh status; variables in $ENV_FILE)"
        return 0
    fi
    if [ -d "$SVC" ]; then cmd_stop >/dev/null; fi # leftovers of a crashed run
    STARTING=1
    local t0="$EPOCHREALTIME"
    mkdir -p "$SVC"
    chmod 755 "$SVC"

    local want_redis=1 want_pg=1 want_s3=1
    if user_has redis VIDD_TEST_REDIS_URL; then want_redis=0; log "redis: using yours (VIDD_TEST_REDIS_URL is set)"; fi
    if user_has postgres VIDD_TEST_PG_URL; then want_pg=0; log "postgres: using yours (VIDD_TEST_PG_URL is set)"; fi
    if user_has s3 VIDD_TEST_S3_ENDPOINT; then want_s3=0; log "s3: using yours (VIDD_TEST_S3_ENDPOINT is set)"; fi

    local started="" exports=()
    add() { exports+=("export $1=$(printf '%q' "$2")"); }

    read -r REDIS_PORT REDIS_TLS_PORT PG_PORT S3_PORT <<<"$(free_ports 4)"

    # moto takes seconds to import: launch it first and let it load while the others start.
    if [ "$want_s3" = 1 ]; then launch_s3 "$S3_PORT"; fi

    # Certificates: the user's own when they gave all three files, otherwise a fresh test CA.
    if user_has tls VIDD_TEST_CA_FILE && [ -n "${VIDD_TEST_SERVER_CERT:-}" ] && [ -n "${VIDD_TEST_SERVER_KEY:-}" ]; then
        CA="$VIDD_TEST_CA_FILE"; CERT="$VIDD_TEST_SERVER_CERT"; KEY="$VIDD_TEST_SERVER_KEY"
        log "tls: using your VIDD_TEST_CA_FILE / VIDD_TEST_SERVER_CERT / VIDD_TEST_SERVER_KEY"
    else
        if user_has tls VIDD_TEST_CA_FILE; then
            log "warning: VIDD_TEST_CA_FILE is set without VIDD_TEST_SERVER_CERT/KEY; servers started here use a generated CA"
        fi
        make_certs
        CA="$SVC/tls/ca.crt"; CERT="$SVC/tls/server.crt"; KEY="$SVC/tls/server.key"
        started+=" tls"
        add VIDD_TEST_CA_FILE "$CA"
        add VIDD_TEST_SERVER_CERT "$CERT"
        add VIDD_TEST_SERVER_KEY "$KEY"
        add VIDD_TEST_CLIENT_CERT "$SVC/tls/client.crt"
        add VIDD_TEST_CLIENT_KEY "$SVC/tls/client.key"
    fi

    if [ "$want_redis" = 1 ]; then
        local redis_pw; redis_pw="$(random_hex 16)"
        local attempt
        for attempt in 1 2 3; do
            if start_redis "$REDIS_PORT" "$REDIS_TLS_PORT" "$redis_pw"; then break; fi
            port_taken "$SVC/redis/redis.log" && [ "$attempt" -lt 3 ] || die "redis-server did not start (log: $SVC/redis/redis.log)"
            stop_pid redis
            mv "$SVC/redis/redis.log" "$SVC/redis/redis.log.$attempt"
            read -r REDIS_PORT REDIS_TLS_PORT <<<"$(free_ports 2)"
            log "redis: a port was taken meanwhile; retrying on $REDIS_PORT/$REDIS_TLS_PORT"
        done
        started+=" redis"
        add VIDD_TEST_REDIS_URL "redis://:$redis_pw@127.0.0.1:$REDIS_PORT"
        add VIDD_TEST_REDIS_TLS_URL "rediss://:$redis_pw@localhost:$REDIS_TLS_PORT"
        add VIDD_TEST_REDIS_PORT "$REDIS_PORT"
        add VIDD_TEST_REDIS_TLS_PORT "$REDIS_TLS_PORT"
        add VIDD_TEST_REDIS_PASSWORD "$redis_pw"
        log "redis: 127.0.0.1:$REDIS_PORT, TLS on $REDIS_TLS_PORT"
    fi

    if [ "$want_pg" = 1 ]; then
        local pg_pw; pg_pw="$(random_hex 16)"
        local attempt
        for attempt in 1 2 3; do
            if start_postgres "$PG_PORT" "$pg_pw"; then break; fi
            port_taken "$(pg_dir)/server.log" && [ "$attempt" -lt 3 ] || die "PostgreSQL did not start (log: $(pg_dir)/server.log)"
            stop_postgres
            rm -rf "$SVC/pg" "$SVC/pg_dir"
            PG_PORT="$(free_ports 1)"
            log "postgres: the port was taken meanwhile; retrying on $PG_PORT"
        done
        started+=" postgres"
        add VIDD_TEST_PG_URL "postgres://app:$pg_pw@127.0.0.1:$PG_PORT/postgres"
        add VIDD_TEST_PG_HOST 127.0.0.1
        add VIDD_TEST_PG_PORT "$PG_PORT"
        add VIDD_TEST_PG_PASSWORD "$pg_pw"
        add VIDD_TEST_PG_SOCKET_DIR "$(pg_dir)"
        add VIDD_TEST_PG_DATA "$(pg_dir)/data"
        add VIDD_TEST_PG_BIN_DIR "$PG_BIN"
        add VIDD_TEST_PG_SSL 1
        log "postgres: 127.0.0.1:$PG_PORT (TLS on), socket in $(pg_dir)"
    fi

    if [ "$want_s3" = 1 ]; then
        local keys access secret
        local attempt
        for attempt in 1 2 3; do
            if keys="$(wait_s3 "$S3_PORT")"; then break; fi
            port_taken "$SVC/s3/moto.log" && [ "$attempt" -lt 3 ] || die "the S3 test server did not start (log: $SVC/s3/moto.log)"
            stop_pid s3
            S3_PORT="$(free_ports 1)"
            log "s3: the port was taken meanwhile; retrying on $S3_PORT"
            launch_s3 "$S3_PORT"
        done
        read -r access secret <<<"$keys"
        [ -n "$secret" ] || die "S3 bootstrap printed no key (log: $SVC/s3/moto.log)"
        started+=" s3"
        add VIDD_TEST_S3_ENDPOINT "http://127.0.0.1:$S3_PORT"
        add VIDD_TEST_S3_ACCESS_KEY "$access"
        add VIDD_TEST_S3_SECRET_KEY "$secret"
        add VIDD_TEST_S3_REGION us-east-1
        log "s3: http://127.0.0.1:$S3_PORT (moto, SigV4 verified)"
    fi

    started="${started# }"
    echo "$started" >"$SVC/started"
    {
        echo "# Written by scripts/services.sh start; removed by scripts/services.sh stop."
        echo "# Use: set -a; . $ENV_FILE; set +a"
        printf '%s\n' "${exports[@]}"
        echo "export VIDD_TEST_SERVICES_STARTED=$(printf '%q' "$started")"
    } >"$ENV_FILE.tmp"
    mv "$ENV_FILE.tmp" "$ENV_FILE"
    STARTING=0
    log "ready in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s; variables in $ENV_FILE"
}

cmd_stop() {
    if [ ! -d "$SVC" ]; then
        log "nothing to stop"
        return 0
    fi
    # moto takes a second or two to exit on SIGTERM: let it do so while the others stop.
    local s3_pid
    if s3_pid="$(owned_pid s3)"; then kill -TERM "$s3_pid" 2>/dev/null || true; fi
    stop_redis
    stop_postgres
    stop_pid s3
    rm -rf "$SVC"
    log "stopped"
}

cmd_status() {
    if [ ! -f "$ENV_FILE" ]; then
        echo "not running"
        return 3
    fi
    local s rc=0 started; started="$(started_list)"
    echo "started: ${started:-nothing (all services are yours)}"
    for s in $started; do
        if service_alive "$s"; then echo "$s: running"; else echo "$s: NOT running"; rc=1; fi
    done
    grep -E '^export VIDD_TEST_(REDIS_URL|PG_URL|S3_ENDPOINT)=' "$ENV_FILE" | sed 's/^export /  /'
    return "$rc"
}

cmd_env() {
    [ -f "$ENV_FILE" ] || die "not running: scripts/services.sh start"
    cat "$ENV_FILE"
}

# One start/stop at a time per checkout. Servers are launched with fd 9 closed so they do not hold it.
mkdir -p "$ROOT/.tmp"
exec 9>"$ROOT/.tmp/services.lock"
flock 9

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) cmd_env ;;
    *) echo "usage: scripts/services.sh start|stop|status|env" >&2; exit 2 ;;
esac
