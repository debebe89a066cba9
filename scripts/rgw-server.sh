#!/usr/bin/env bash
# rgw-server.sh — a real, fast S3-compatible server on loopback for benchmarks:
# a throw-away single-node Ceph (Pacific 16.2, Debian 12 packages) cluster with
# one monitor, one in-memory OSD (objectstore = memstore) and radosgw (beast).
#
# Usage:
#   scripts/rgw-server.sh start [DIR]   # default DIR=/tmp/vidd-rgw
#   scripts/rgw-server.sh stop  [DIR]   # kill daemons (pid files in DIR/run), rm -rf DIR
#   scripts/rgw-server.sh status [DIR]
#   . DIR/env                           # VIDD_TEST_S3_{ENDPOINT,ACCESS_KEY,SECRET_KEY,REGION}
#
# Needs root (apt-get install of radosgw ceph-mon ceph-osd ceph-mgr ceph-common
# if missing; daemons run as root). Startup takes ~6-7 s (packages present).
# OSD also listens on 127.0.0.1:6800-6807 (Ceph default range, first free).
#
# Env knobs:
#   RGW_PORT (7480)            beast frontend port, bound to 127.0.0.1 only
#   RGW_MON_PORT (3300)        monitor msgr2 port; msgr1 uses RGW_MON_PORT+1.
#                              Change it to run two clusters side by side.
#   RGW_MEM_BYTES (6 GiB)      memstore capacity (stored object bytes). The OSD's
#                              RSS is ~1.6x the bytes stored, so 6 GiB -> <= ~10 GB.
#                              Near full (97% failsafe) the OSD refuses writes, so
#                              PUTs fail with 5xx (full behaviour not exercised).
#   RGW_THREADS (32)           rgw thread pool size (beast workers)
#   RGW_MEMSTORE_PAGE_SET (false)  memstore page_set mode; false = zero-copy
#                              bufferlists, lower CPU, memory returned after GC
#   RGW_OSD_MALLOC_ENV         glibc env for ceph-osd (default fixed 1 MiB mmap
#                              threshold, 2 arenas: without it freed object data
#                              never leaves the OSD's heap and RSS ~2.5x data)
#
# Layout: one mon on 127.0.0.1, one OSD (objectstore = memstore, in RAM), no
# mgr (not needed for pools or RGW: `ceph -s` shows 0 pools/PGs and `rados df`,
# `ceph osd df` are empty or hang; that is cosmetic), cephx off, pool size 1,
# pg_num 8, everything (conf, mon store, osd dir, logs, pid files, admin
# sockets) under DIR. Data lives in RAM only: `stop` loses it, which is the point.
#
# S3 facts verified against this server (radosgw 16.2.15):
#   - path-style addressing only (no rgw_dns_name): http://127.0.0.1:7480/bucket/key
#   - bucket names must be 3..63 chars ("t" -> 400 InvalidBucketName; awscli
#     prints the misleading "argument of type 'NoneType' is not iterable")
#   - any SigV4 region in the credential scope is accepted (us-east-1, default,
#     eu-west-3, made-up ones); env says us-east-1
#   - x-amz-content-sha256 modes: <hex sha256> OK, UNSIGNED-PAYLOAD OK,
#     STREAMING-AWS4-HMAC-SHA256-PAYLOAD (aws-chunked, signed chunks) OK;
#     STREAMING-UNSIGNED-PAYLOAD-TRAILER and
#     STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER -> 400 XAmzContentSHA256Mismatch
#     (trailers/flexible checksums arrived in Ceph Reef). x-amz-checksum-crc32 as
#     a plain header (awscli >= 1.36 default) is accepted (ignored).
#   - measured on 2 cores: `aws s3 cp` 1 GiB up ~5.0-5.5 s (~190-200 MiB/s,
#     multipart, box CPU-bound: radosgw ~0.8 core + osd ~0.35 core + aws cli);
#     single PUT 1 GiB: UNSIGNED-PAYLOAD ~400 MiB/s, signed ~230 MiB/s; server
#     CPU per GiB uploaded ~4 s (rgw 2.7-4.4 s: MD5 ETag + SHA256 check; osd
#     ~1.5-2 s); GET 1 GiB ~1 s. Idle: <1% CPU total. RSS idle: ~35-45 MB each.
#   - overwritten/deleted data is freed by RGW GC, tuned here to ~10-20 s
#     instead of 2 h, so repeated benchmark uploads do not fill memstore.
set -euo pipefail

CMD=${1:-}
DIR=${2:-/tmp/vidd-rgw}
RGW_PORT=${RGW_PORT:-7480}
MON_PORT=${RGW_MON_PORT:-3300}
MON_PORT_V1=$((MON_PORT + 1))
MEM_BYTES=${RGW_MEM_BYTES:-$((6 * 1024 * 1024 * 1024))}
THREADS=${RGW_THREADS:-32}
PAGE_SET=${RGW_MEMSTORE_PAGE_SET:-false}
OSD_MALLOC_ENV=${RGW_OSD_MALLOC_ENV-MALLOC_MMAP_THRESHOLD_=1048576 MALLOC_ARENA_MAX=2}
ACCESS_KEY=VIDDBENCHACCESSKEY01
SECRET_KEY=viddbenchsecretkey0000000000000000000001
REGION=us-east-1

log() { echo "rgw-server: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

ensure_packages() {
    local pkgs="radosgw ceph-mon ceph-osd ceph-mgr ceph-common curl"
    if command -v radosgw >/dev/null && command -v ceph-mon >/dev/null &&
        command -v ceph-osd >/dev/null && command -v ceph >/dev/null &&
        command -v radosgw-admin >/dev/null && command -v monmaptool >/dev/null &&
        command -v curl >/dev/null; then
        return 0
    fi
    log "installing $pkgs"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    if ! apt-get install -y --no-install-recommends $pkgs >"${TMPDIR:-/tmp}/rgw-apt.log" 2>&1; then
        apt-get update >>"${TMPDIR:-/tmp}/rgw-apt.log" 2>&1 || true
        apt-get install -y --no-install-recommends $pkgs >>"${TMPDIR:-/tmp}/rgw-apt.log" 2>&1 ||
            die "apt-get install failed, see ${TMPDIR:-/tmp}/rgw-apt.log"
    fi
}

# Absolute DIR, refuse obviously dangerous values (stop does rm -rf).
canon_dir() {
    case "$DIR" in
    "" | / | /tmp | /root | /home | /work | /usr | /var | /etc) die "refusing DIR=$DIR" ;;
    esac
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd)
}

C() { echo "-c $DIR/ceph.conf"; }

pids_alive() {
    local f p alive=1
    for f in "$DIR"/run/*.pid; do
        [ -e "$f" ] || continue
        p=$(cat "$f" 2>/dev/null || true)
        [ -n "$p" ] && kill -0 "$p" 2>/dev/null && { echo "$(basename "$f" .pid):$p"; alive=0; }
    done
    return $alive
}

kill_daemons() {
    local f p name i
    # radosgw first, then osd, then mon.
    for name in client.rgw.a osd.0 mon.a; do
        f="$DIR/run/$name.pid"
        [ -e "$f" ] || continue
        p=$(cat "$f" 2>/dev/null || true)
        [ -n "$p" ] || continue
        if kill -0 "$p" 2>/dev/null; then
            log "stopping $name (pid $p)"
            kill -TERM "$p" 2>/dev/null || true
            for i in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
            if kill -0 "$p" 2>/dev/null; then
                log "$name did not exit, SIGKILL"
                kill -KILL "$p" 2>/dev/null || true
                for i in $(seq 1 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
            fi
        fi
    done
}

do_stop() {
    [ -d "$DIR" ] || { log "$DIR does not exist, nothing to stop"; return 0; }
    kill_daemons
    rm -rf "$DIR"
    log "stopped, removed $DIR"
}

# A failed start kills what it started but keeps DIR (logs in DIR/log).
STARTING=0
on_exit() {
    local rc=$?
    if [ "$STARTING" = 1 ] && [ "$rc" != 0 ]; then
        log "start failed (rc=$rc): killing started daemons; logs kept in $DIR/log; run '$0 stop $DIR' to clean up"
        kill_daemons
    fi
}
trap on_exit EXIT

wait_for() { # timeout_s description command...
    local t=$1 what=$2 i
    shift 2
    for i in $(seq 1 $((t * 5))); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    die "timed out after ${t}s waiting for $what"
}

osd_up() { ceph $(C) --connect-timeout 5 osd dump 2>/dev/null | grep -q '^osd\.0 up'; }
rgw_up() { curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$RGW_PORT/"; }

do_start() {
    ensure_packages
    if [ -d "$DIR" ]; then
        if pids_alive >/dev/null; then
            log "daemons already running in $DIR; restarting (stop first)"
        fi
        do_stop
    fi
    canon_dir
    STARTING=1
    local t0 fsid osd_uuid
    t0=$(date +%s.%N)
    mkdir -p "$DIR"/{run,log,mon.a,osd.0,rgw.a}
    fsid=$(cat /proc/sys/kernel/random/uuid)
    osd_uuid=$(cat /proc/sys/kernel/random/uuid)
    : >"$DIR/keyring"
    cat >"$DIR/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$MON_PORT_V1]
public network = 127.0.0.0/8
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
keyring = $DIR/keyring
# radosgw defaults ms_mon_client_mode to "secure", which auth=none cannot
# provide (no session key) -> "get_initial_auth_request returned -13" forever.
ms cluster mode = crc
ms service mode = crc
ms client mode = crc
ms mon cluster mode = crc
ms mon service mode = crc
ms mon client mode = crc
client mount timeout = 30
run dir = $DIR/run
pid file = $DIR/run/\$name.pid
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
mon cluster log file = $DIR/log/cluster.log
log to stderr = false
err to stderr = false
log to syslog = false
crash dir = $DIR/crash
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
osd crush chooseleaf type = 0
mon osd full ratio = .97
mon osd backfillfull ratio = .95
mon osd nearfull ratio = .93

[mon]
mon data = $DIR/\$name
mon data avail warn = 1
mon data avail crit = 0
mon compact on start = false

[osd]
osd data = $DIR/\$name
osd objectstore = memstore
memstore device bytes = $MEM_BYTES
memstore page set = $PAGE_SET
osd crush update on start = true
osd crush initial weight = 1
osd memory target = 1073741824
osd max object size = 134217728
osd op num shards = 2
osd op num threads per shard = 2

[client.rgw.a]
rgw data = $DIR/rgw.a
rgw init timeout = 90
# Overwritten/deleted objects' data is only freed by RGW garbage collection
# (default: after 2 h). Free it quickly so RAM (memstore) does not fill up.
rgw gc obj min wait = 10
rgw gc processor period = 10
rgw gc processor max time = 10
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw thread pool size = $THREADS
debug rgw = 0/0
rgw enable usage log = false
rgw enable ops log = false
rgw dns name =
rgw max chunk size = 4194304
EOF

    # --- monitor ---
    monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$MON_PORT_V1]" \
        "$DIR/monmap" >"$DIR/log/monmaptool.log" 2>&1 || die "monmaptool failed: $(cat "$DIR/log/monmaptool.log")"
    ceph-mon $(C) -i a --mkfs --monmap "$DIR/monmap" >"$DIR/log/mon-mkfs.log" 2>&1 ||
        die "ceph-mon --mkfs failed: $(tail -5 "$DIR/log/mon-mkfs.log")"
    ceph-mon $(C) -i a >>"$DIR/log/mon-mkfs.log" 2>&1 || die "ceph-mon start failed"
    wait_for 30 "monitor" ceph $(C) --connect-timeout 2 mon stat
    log "mon up"

    # --- OSD (memstore) ---
    local id
    id=$(ceph $(C) --connect-timeout 10 osd new "$osd_uuid") || die "ceph osd new failed"
    [ "$id" = 0 ] || die "expected osd id 0, got $id"
    ceph-osd $(C) -i 0 --mkfs --osd-uuid "$osd_uuid" >"$DIR/log/osd-mkfs.log" 2>&1 ||
        die "ceph-osd --mkfs failed: $(tail -5 "$DIR/log/osd-mkfs.log")"
    env $OSD_MALLOC_ENV ceph-osd $(C) -i 0 >>"$DIR/log/osd-mkfs.log" 2>&1 || die "ceph-osd start failed"
    wait_for 60 "osd.0 up" osd_up
    log "osd.0 up"

    # --- pools ---
    # Pre-create RGW's pools: otherwise the data/index/non-ec pools are created
    # lazily by the first PUT, which then stalls for seconds while PGs peer.
    # (ceph CLI calls take ~0.4 s each, so run them in parallel.)
    local pool pids=()
    for pool in .rgw.root default.rgw.log default.rgw.control default.rgw.meta \
        default.rgw.buckets.index default.rgw.buckets.data default.rgw.buckets.non-ec; do
        (ceph $(C) --connect-timeout 10 osd pool create "$pool" 8 8 &&
            ceph $(C) --connect-timeout 10 osd pool application enable "$pool" rgw) \
            >>"$DIR/log/pools.log" 2>&1 &
        pids+=($!)
    done
    for pool in "${pids[@]}"; do
        wait "$pool" || die "pool creation failed: $(tail -5 "$DIR/log/pools.log")"
    done

    # --- radosgw ---
    # Foreground mode (-f) in the background, detached with setsid, so we know
    # its pid at once and notice if it dies (e.g. port already in use).
    setsid radosgw $(C) -n client.rgw.a -f </dev/null >"$DIR/log/rgw-start.log" 2>&1 &
    local rgw_pid=$!
    local i
    for i in $(seq 1 $((${RGW_WAIT:-90} * 5))); do
        rgw_up && break
        if ! kill -0 "$rgw_pid" 2>/dev/null; then
            die "radosgw exited: $(grep -- ' -1 ' "$DIR/log/client.rgw.a.log" | tail -3)"
        fi
        [ "$i" -lt $((${RGW_WAIT:-90} * 5)) ] || die "timed out after ${RGW_WAIT:-90}s waiting for radosgw on 127.0.0.1:$RGW_PORT"
        sleep 0.2
    done
    log "radosgw up on 127.0.0.1:$RGW_PORT"
    # stop relies on the pid file; make sure it is there and right.
    echo "$rgw_pid" >"$DIR/run/client.rgw.a.pid"

    if ! radosgw-admin $(C) user info --uid=bench >/dev/null 2>&1; then
        radosgw-admin $(C) user create --uid=bench --display-name=bench \
            --access-key="$ACCESS_KEY" --secret="$SECRET_KEY" >"$DIR/log/user-create.log" 2>&1 ||
            die "radosgw-admin user create failed: $(tail -5 "$DIR/log/user-create.log")"
    fi
    cat >"$DIR/env" <<EOF
export VIDD_TEST_S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
export VIDD_TEST_S3_ACCESS_KEY=$ACCESS_KEY
export VIDD_TEST_S3_SECRET_KEY=$SECRET_KEY
export VIDD_TEST_S3_REGION=$REGION
EOF
    log "ready in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')s; source $DIR/env"
    STARTING=0
    pids_alive >&2 || true
}

case "$CMD" in
start) do_start ;;
stop)
    [ -d "$DIR" ] || { log "$DIR does not exist, nothing to stop"; exit 0; }
    canon_dir
    do_stop
    ;;
status)
    [ -d "$DIR" ] || { echo "not running ($DIR missing)"; exit 1; }
    canon_dir
    pids_alive || { echo "no daemon alive in $DIR"; exit 1; }
    ;;
*)
    echo "usage: $0 start|stop|status [DIR]" >&2
    exit 2
    ;;
esac
