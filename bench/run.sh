#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench/run.sh — vitrum vs swtpm vs the loopback floor, on this machine.
#
# Builds bench/bench.c, bench/echo_server.c and bench/tcti_bench.c into a
# temporary directory, starts each server pinned to one CPU (the client is
# pinned to another), alternates targets for ROUNDS rounds and prints
# Markdown tables of the medians across rounds.  See bench/README.md.
#
# vitrum is included when build/vitrum exists (after `make`, which this
# script runs if a Makefile is present, unless --no-make).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

ROUNDS=${ROUNDS:-5}
COUNT=${COUNT:-2000}
WARMUP=${WARMUP:-200}
KEY_OPS_DEFAULT="primaryecc primaryeccnew primaryrsa primaryrsanew createload signecc signrsa hmac64 hmac1k context quote"
OPS=${OPS:-"getrandom pcrextend pcrread hash1k nvwrite64 nvwrite1k nvincrement nvread64 $KEY_OPS_DEFAULT"}
# Ops that cost milliseconds run fewer requests (see op_count): KEY_* for
# key creation, signing and Quote, RSA_* for CreatePrimary RSA-2048.
KEY_COUNT=${KEY_COUNT:-300}
KEY_WARMUP=${KEY_WARMUP:-20}
RSA_COUNT=${RSA_COUNT:-20}
RSA_WARMUP=${RSA_WARMUP:-2}
# Server CPU per Sign against `openssl speed`: CPU_ROUNDS rounds of
# SIGN_ECC_N ECDSA and SIGN_RSA_N RSASSA signs per server (0 rounds: skip).
CPU_ROUNDS=${CPU_ROUNDS:-3}
SIGN_ECC_N=${SIGN_ECC_N:-8000}
SIGN_RSA_N=${SIGN_RSA_N:-1500}
STARTS=${STARTS:-5}              # start-up measurements per server and kind
TCTI_COUNT=${TCTI_COUNT:-200}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
CC=${CC:-cc}
VITRUM=${VITRUM:-$ROOT/build/vitrum}
TARGETS=${TARGETS:-"vitrum swtpm echo"}
DO_MAKE=1
KEEP=0
OUT=""

usage() {
    cat <<EOF
usage: bench/run.sh [options]
  --rounds N       rounds of A B C alternation (default $ROUNDS, env ROUNDS)
  --count N        timed requests per run (default $COUNT, env COUNT)
  --warmup N       untimed requests per run (default $WARMUP, env WARMUP)
  --ops "a b"      operations (default "$OPS", env OPS)
  --starts N       start-up measurements per server (default $STARTS, env STARTS)
  --tcti-count N   Esys_GetRandom calls per TCTI run (default $TCTI_COUNT)
  --key-count N    timed requests for key creation / sign / quote ops
                   (default $KEY_COUNT, env KEY_COUNT; warm-up KEY_WARMUP)
  --rsa-count N    timed CreatePrimary RSA-2048 (default $RSA_COUNT, env RSA_COUNT)
  --cpu-rounds N   rounds of the server-CPU-per-Sign vs openssl measurement
                   (default $CPU_ROUNDS, 0 skips; env SIGN_ECC_N, SIGN_RSA_N)
  --targets "..."  subset of "vitrum swtpm echo" (env TARGETS)
  --quick          1 round, 500 requests (50 key, 5 RSA), 2 starts (smoke test)
  --no-make        do not run make for build/vitrum
  --keep           keep the work directory (logs, raw results)
  --out FILE       also write the Markdown report to FILE
env: CC, SERVER_CPU (default 1), CLIENT_CPU (default 0), VITRUM (binary path)
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) ROUNDS=$2; shift ;;
    --count) COUNT=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
    --ops) OPS=$2; shift ;;
    --starts) STARTS=$2; shift ;;
    --tcti-count) TCTI_COUNT=$2; shift ;;
    --key-count) KEY_COUNT=$2; shift ;;
    --rsa-count) RSA_COUNT=$2; shift ;;
    --cpu-rounds) CPU_ROUNDS=$2; shift ;;
    --targets) TARGETS=$2; shift ;;
    --quick) ROUNDS=1; COUNT=500; WARMUP=50; STARTS=2; TCTI_COUNT=50
             KEY_COUNT=50; KEY_WARMUP=5; RSA_COUNT=5; RSA_WARMUP=1
             CPU_ROUNDS=1; SIGN_ECC_N=1000; SIGN_RSA_N=200 ;;
    --no-make) DO_MAKE=0 ;;
    --keep) KEEP=1 ;;
    --out) OUT=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

log() { echo "run.sh: $*" >&2; }
die() { echo "run.sh: error: $*" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vitrum-bench.XXXXXX")
RAW=$WORK/raw.txt
: >"$RAW"
PIDS=()

cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]}"; do
        # bounded wait, then SIGKILL
        for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$p" 2>/dev/null || true
    done
    if [ "$KEEP" = 1 ]; then
        log "work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v taskset >/dev/null || die "taskset not found (apt-get install util-linux)"
command -v timeout >/dev/null || die "timeout not found (coreutils)"
NCPU=$(nproc)
if [ "$NCPU" -lt 2 ]; then
    log "only $NCPU CPU: server and client share CPU 0"
    SERVER_CPU=0; CLIENT_CPU=0
fi

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
# "cpu" line of /proc/stat: busy-or-idle total and steal, to flag a noisy host
cpu_stat() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i; print t, $9; exit }' /proc/stat; }
STAT_BEFORE=$(cpu_stat)
if awk -v n="$NCPU" '{ exit !($1 > n / 2) }' /proc/loadavg; then
    log "warning: load average is $LOAD_BEFORE; numbers will be noisy"
fi

# ---------------------------------------------------------------- build
CFLAGS_BENCH=(-std=c11 -O2 -Wall -Wextra -Werror)
BIN=$WORK/bin
mkdir -p "$BIN"
log "building bench tools with $CC"
# bench.c marshals the key commands with libtss2-mu (libtss2-dev).
MU_FLAGS=()
read -ra MU_FLAGS < <(pkg-config --cflags --libs tss2-mu 2>/dev/null) ||
    die "pkg-config tss2-mu failed (apt-get install libtss2-dev)"
[ ${#MU_FLAGS[@]} -gt 0 ] || die "pkg-config tss2-mu gave nothing (apt-get install libtss2-dev)"
$CC "${CFLAGS_BENCH[@]}" -o "$BIN/bench" "$ROOT/bench/bench.c" "${MU_FLAGS[@]}"
$CC "${CFLAGS_BENCH[@]}" -o "$BIN/echo_server" "$ROOT/bench/echo_server.c"
$CC "${CFLAGS_BENCH[@]}" -o "$BIN/fsync_floor" "$ROOT/bench/fsync_floor.c"
HAVE_TCTI=0
TSS_FLAGS=()
if read -ra TSS_FLAGS < <(pkg-config --cflags --libs tss2-esys tss2-tctildr tss2-rc 2>/dev/null) &&
   [ ${#TSS_FLAGS[@]} -gt 0 ] &&
   $CC "${CFLAGS_BENCH[@]}" -o "$BIN/tcti_bench" "$ROOT/bench/tcti_bench.c" "${TSS_FLAGS[@]}"; then
    HAVE_TCTI=1
else
    log "tcti_bench not built (need libtss2-dev); skipping the TCTI measurement"
fi
BENCH=$BIN/bench

if [ "$DO_MAKE" = 1 ] && [ -f "$ROOT/Makefile" ] && [[ " $TARGETS " == *" vitrum "* ]]; then
    log "running make for build/vitrum"
    if ! (cd "$ROOT" && timeout 900 make -j"$NCPU" >"$WORK/make.log" 2>&1); then
        log "make failed (see below); vitrum is left out"
        tail -n 20 "$WORK/make.log" >&2 || true
        VITRUM=/nonexistent
    fi
fi

# Which targets can run.
ACTIVE=()
for t in $TARGETS; do
    case "$t" in
    vitrum) if [ -x "$VITRUM" ]; then ACTIVE+=(vitrum); else log "no vitrum binary at $VITRUM: skipping vitrum"; fi ;;
    swtpm) if command -v swtpm >/dev/null; then ACTIVE+=(swtpm); else log "swtpm not installed: skipping"; fi ;;
    echo) ACTIVE+=(echo) ;;
    *) die "unknown target $t" ;;
    esac
done
[ ${#ACTIVE[@]} -gt 0 ] || die "nothing to benchmark"

proto_of() {
    case "$1" in vitrum) echo mssim ;; swtpm) echo raw ;; echo|dfloor) echo echo ;; esac
}

# NV ops that change the index (each one a durable write on vitrum).
is_nv_write() {
    case "$1" in nvread*) return 1 ;; nv*) return 0 ;; *) return 1 ;; esac
}
NV_WRITES=0
for op in $OPS; do is_nv_write "$op" && NV_WRITES=1; done

# server_cmd TARGET PORT STATEDIR: sets CMD to the server command line,
# pinned to SERVER_CPU.
# shellcheck disable=SC2054  # the commas belong to swtpm's option values
server_cmd() {
    local t=$1 port=$2 dir=$3
    case "$t" in
    vitrum) CMD=(taskset -c "$SERVER_CPU" "$VITRUM" serve --state "$dir" --port "$port" --listen 127.0.0.1) ;;
    swtpm) CMD=(taskset -c "$SERVER_CPU" swtpm socket --tpm2
        --server "type=tcp,port=$port,bindaddr=127.0.0.1"
        --ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1"
        --tpmstate "dir=$dir" --flags not-need-init,startup-clear) ;;
    echo) CMD=(taskset -c "$SERVER_CPU" "$BIN/echo_server" --listen 127.0.0.1 --port "$port") ;;
    # the echo floor with one 64-byte pwrite + fdatasync before each answer
    dfloor) CMD=(taskset -c "$SERVER_CPU" "$BIN/fsync_floor" --serve --listen 127.0.0.1 --port "$port" "$dir") ;;
    esac
}

proc_kb() { # PID FIELD -> kB
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null || echo "-"
}

declare -A PORT PID IDLE_RSS
start_server() {
    local t=$1 dir=$WORK/state-$1
    mkdir -p "$dir"
    local port
    port=$("$BENCH" --free-port)
    server_cmd "$t" "$port" "$dir"
    "${CMD[@]}" >"$WORK/$t.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    PORT[$t]=$port
    PID[$t]=$pid
    local proto ok=0
    proto=$(proto_of "$t")
    for _ in $(seq 100); do         # up to ~10 s
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$WORK/$t.log" >&2 || true
            die "$t exited at start-up"
        fi
        if timeout 10 "$BENCH" --proto "$proto" --port "$port" --op getrandom \
                --count 1 --warmup 0 >/dev/null 2>"$WORK/$t.probe.err"; then
            ok=1; break
        fi
        sleep 0.1
    done
    if [ $ok != 1 ]; then
        cat "$WORK/$t.probe.err" >&2
        tail -n 20 "$WORK/$t.log" >&2 || true
        die "$t did not answer on port $port"
    fi
    sleep 0.3
    IDLE_RSS[$t]=$(proc_kb "$pid" VmRSS)
    log "$t: pid $pid port $port idle RSS ${IDLE_RSS[$t]} kB"
}

# ----------------------------------------------------------- start-up time
# Cold: empty state directory each time.  Warm: a state directory an
# earlier instance already initialized.  Time = exec to first answered
# GetRandom (after POWER_ON/NV_ON and Startup for mssim, Startup for raw).
measure_startup() {
    local t=$1 kind=$2 i dir port proto
    proto=$(proto_of "$t")
    if [ "$kind" = warm ]; then
        dir=$WORK/startup-$t-warm
        mkdir -p "$dir"
        port=$("$BENCH" --free-port)
        server_cmd "$t" "$port" "$dir"
        timeout 30 "$BENCH" --startup-probe --proto "$proto" --port "$port" -- \
            "${CMD[@]}" >/dev/null 2>>"$WORK/$t.startup.log" ||
            { log "$t: warm-up start failed (see $t.startup.log)"; return; }
    fi
    for i in $(seq "$STARTS"); do
        if [ "$kind" = cold ]; then
            dir=$WORK/startup-$t-cold-$i
            mkdir -p "$dir"
        fi
        port=$("$BENCH" --free-port)
        local line
        server_cmd "$t" "$port" "$dir"
        if line=$(timeout 30 "$BENCH" --startup-probe --proto "$proto" --port "$port" -- \
                "${CMD[@]}" 2>>"$WORK/$t.startup.log"); then
            echo "label=$t op=startup_$kind ${line}" >>"$RAW"
        else
            log "$t: $kind start-up measurement failed (see $t.startup.log)"
        fi
    done
}

for t in "${ACTIVE[@]}"; do
    [ "$t" = echo ] && continue
    log "measuring start-up time of $t ($STARTS cold, $STARTS warm)"
    measure_startup "$t" cold
    measure_startup "$t" warm
done

# --------------------------------------------------------------- rounds
for t in "${ACTIVE[@]}"; do
    start_server "$t"
done
# NV writes are also compared with the disk: the fdatasync floor (no
# network) and the echo floor that makes each request durable (dfloor).
DFLOOR=0
if [ "$NV_WRITES" = 1 ] && [[ " ${ACTIVE[*]} " == *" echo "* ]]; then
    start_server dfloor
    DFLOOR=1
fi

# op_count OP: sets N and W, the timed and warm-up requests of OP.
op_count() {
    case "$1" in
    primaryrsa|primaryrsanew) N=$RSA_COUNT; W=$RSA_WARMUP ;;
    primaryecc|primaryeccnew|createload|signecc|signrsa|quote) N=$KEY_COUNT; W=$KEY_WARMUP ;;
    *) N=$COUNT; W=$WARMUP ;;
    esac
}

run_one() { # TARGET OP ROUND
    local t=$1 op=$2 r=$3 line N W
    op_count "$op"
    if line=$(timeout 600 taskset -c "$CLIENT_CPU" "$BENCH" --proto "$(proto_of "$t")" \
            --port "${PORT[$t]}" --op "$op" --count "$N" --warmup "$W" \
            --server-pid "${PID[$t]}" --label "$t" 2>"$WORK/err.txt"); then
        echo "$line round=$r" >>"$RAW"
    else
        cat "$WORK/err.txt" >&2
        die "$t $op failed"
    fi
}

run_tcti() { # TARGET ROUND
    local t=$1 r=$2 conf line
    case "$t" in
    vitrum) conf="mssim:host=127.0.0.1,port=${PORT[$t]}" ;;
    swtpm) conf="swtpm:host=127.0.0.1,port=${PORT[$t]}" ;;
    *) return 0 ;;
    esac
    if line=$(TSS2_LOG=all+none timeout 300 taskset -c "$CLIENT_CPU" "$BIN/tcti_bench" \
            "$conf" "$TCTI_COUNT" 10 "$t" 2>"$WORK/err.txt"); then
        echo "$line round=$r" >>"$RAW"
    else
        cat "$WORK/err.txt" >&2
        log "$t: TCTI measurement failed"
    fi
}

for r in $(seq "$ROUNDS"); do
    log "round $r/$ROUNDS"
    for op in $OPS; do
        for t in "${ACTIVE[@]}"; do
            run_one "$t" "$op" "$r"
        done
        if is_nv_write "$op"; then
            [ "$DFLOOR" = 1 ] && run_one dfloor "$op" "$r"
            # the durability floor, on the disk the state directories are
            # on, right after the runs it is compared with
            taskset -c "$SERVER_CPU" "$BIN/fsync_floor" "$WORK" "$COUNT" |
                sed "s/ op=fsync / op=$op /; s/\$/ round=$r/" >>"$RAW"
        fi
    done
    if [ $HAVE_TCTI = 1 ]; then
        for t in "${ACTIVE[@]}"; do
            run_tcti "$t" "$r"
        done
    fi
done

# ------------------------------------------------- server CPU per Sign
# The server's utime+stime (/proc/PID/stat) before and after N Sign
# commands, divided by N: bench's srv_cpu_tick_us_per_op (10 ms ticks, so N
# is large); srv_cpu_us_per_op is the same from schedstat (ns).  Compared
# with OpenSSL's single-signature time on the server's CPU, one thread:
# `openssl speed -seconds 1 rsa2048` / `ecdsap256` (-mr: sign/s in field 4).
openssl_sign_us() { # ALG
    taskset -c "$SERVER_CPU" openssl speed -mr -seconds 1 "$1" 2>/dev/null |
        awk -F: '/^\+F[24]:/ { if ($4 > 0) printf "%.3f\n", 1e6 / $4; exit }'
}
CPU_OPS=()
if [ "$CPU_ROUNDS" -gt 0 ]; then
    if command -v openssl >/dev/null; then
        CPU_OPS=(signecc signrsa)
    else
        log "openssl not found: skipping the CPU per Sign comparison"
    fi
fi
for r in $(seq "$CPU_ROUNDS"); do
    [ ${#CPU_OPS[@]} -gt 0 ] || break
    log "CPU per Sign round $r/$CPU_ROUNDS"
    for op in "${CPU_OPS[@]}"; do
        case "$op" in
        signecc) n=$SIGN_ECC_N; alg=ecdsap256 ;;
        *) n=$SIGN_RSA_N; alg=rsa2048 ;;
        esac
        for t in "${ACTIVE[@]}"; do     # the floor too: its CPU per request
            if line=$(timeout 900 taskset -c "$CLIENT_CPU" "$BENCH" --proto "$(proto_of "$t")" \
                    --port "${PORT[$t]}" --op "$op" --count "$n" --warmup 20 \
                    --server-pid "${PID[$t]}" --label "$t" 2>"$WORK/err.txt"); then
                echo "${line/ op=$op / op=cpu_$op } round=$r" >>"$RAW"
            else
                cat "$WORK/err.txt" >&2
                die "$t $op (CPU per Sign) failed"
            fi
        done
        us=$(openssl_sign_us "$alg")
        [ -n "$us" ] || die "could not read openssl speed $alg"
        echo "label=openssl op=cpu_$op sign_us=$us round=$r" >>"$RAW"
    done
done

# ------------------------------------------------------- state on disk
# Bytes in the state directory of a new TPM, and after 100 written 64-byte
# NV indices (the server stopped cleanly each time).
declare -A SIZE_EMPTY SIZE_100
measure_state_size() {
    local t=$1 n=$2 dir=$WORK/size-$1-$2 port pid proto
    proto=$(proto_of "$t")
    mkdir -p "$dir"
    port=$("$BENCH" --free-port)
    server_cmd "$t" "$port" "$dir"
    "${CMD[@]}" >>"$WORK/$t.size.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        "$BENCH" --proto "$proto" --port "$port" --op getrandom --count 1 --warmup 0 >/dev/null 2>&1 && break
        sleep 0.1
    done
    if [ "$n" -gt 0 ]; then
        "$BENCH" --proto "$proto" --port "$port" --define-nv "$n" >/dev/null 2>>"$WORK/$t.size.log" ||
            log "$t: defining $n indices failed"
    fi
    kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    du -sb "$dir" | cut -f1
}
for t in "${ACTIVE[@]}"; do
    [ "$t" = echo ] && continue
    SIZE_EMPTY[$t]=$(measure_state_size "$t" 0)
    SIZE_100[$t]=$(measure_state_size "$t" 100)
    log "$t: state ${SIZE_EMPTY[$t]} bytes new, ${SIZE_100[$t]} bytes with 100 NV indices"
done

STEAL=$(echo "$STAT_BEFORE $(cpu_stat)" |
        awk '{ d = $3 - $1; printf "%.1f%%", (d > 0 ? 100 * ($4 - $2) / d : 0) }')
declare -A PEAK_RSS
for t in "${ACTIVE[@]}"; do
    PEAK_RSS[$t]=$(proc_kb "${PID[$t]}" VmHWM)
done

# --------------------------------------------------------------- report
# med LABEL OP KEY: median across rounds of KEY in the raw lines.
med() {
    awk -v L="$1" -v O="$2" -v K="$3" '
        { for (i = 1; i <= NF; i++) { n = index($i, "="); f[substr($i, 1, n - 1)] = substr($i, n + 1) }
          if (f["label"] == L && f["op"] == O && (K in f)) print f[K]
          delete f }' "$RAW" | sort -g |
    awk '{ a[NR] = $1 }
         END { if (NR == 0) { print "-"; exit }
               if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# spread LABEL OP KEY: (max - min) / median across rounds, in %.
spread() {
    awk -v L="$1" -v O="$2" -v K="$3" '
        { for (i = 1; i <= NF; i++) { n = index($i, "="); f[substr($i, 1, n - 1)] = substr($i, n + 1) }
          if (f["label"] == L && f["op"] == O && (K in f)) print f[K]
          delete f }' "$RAW" | sort -g |
    awk '{ a[NR] = $1 }
         END { if (NR < 2) { print "-"; exit }
               m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
               printf "%.0f%%", 100 * (a[NR] - a[1]) / m }'
}
fmt() { # NUMBER DECIMALS
    case "$1" in -|"") echo "-" ;; *) LC_ALL=C printf "%.${2}f" "$1" ;; esac
}
# pratio A B OP FORMAT: median over rounds of ops_s(A) / ops_s(B), pairing
# the runs of the same round (they share the machine's mood of the moment).
pratio() {
    awk -v A="$1" -v B="$2" -v O="$3" '
        { for (i = 1; i <= NF; i++) { n = index($i, "="); f[substr($i, 1, n - 1)] = substr($i, n + 1) }
          if (f["op"] == O && f["label"] == A) a[f["round"]] = f["ops_s"]
          if (f["op"] == O && f["label"] == B) b[f["round"]] = f["ops_s"]
          delete f }
        END { for (r in a) if ((r in b) && b[r] > 0) print a[r] / b[r] }' "$RAW" | sort -g |
    awk -v F="$4" '{ v[NR] = $1 }
         END { if (NR == 0) { print "-"; exit }
               m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
               if (F == "pct") printf "%.0f%%", 100 * m; else printf "%.2f", m }'
}
has() { [[ " ${ACTIVE[*]} " == *" $1 "* ]]; }
# fratio A OP: median over rounds of (CPU of A - CPU of the floor) / OpenSSL
# sign time, schedstat CPU, paired by round: the TPM's own work per Sign.
fratio() {
    awk -v A="$1" -v O="$2" '
        { for (i = 1; i <= NF; i++) { n = index($i, "="); f[substr($i, 1, n - 1)] = substr($i, n + 1) }
          if (f["op"] == O && f["label"] == A) a[f["round"]] = f["srv_cpu_us_per_op"]
          if (f["op"] == O && f["label"] == "echo") e[f["round"]] = f["srv_cpu_us_per_op"]
          if (f["op"] == O && f["label"] == "openssl") o[f["round"]] = f["sign_us"]
          delete f }
        END { for (r in a) if ((r in e) && (r in o) && o[r] > 0) print (a[r] - e[r]) / o[r] }' "$RAW" |
    sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
         m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2fx", m }'
}
# kratio A KEYA B KEYB OP: median over rounds of KEYA(A) / KEYB(B), paired
# by round.
kratio() {
    awk -v A="$1" -v KA="$2" -v B="$3" -v KB="$4" -v O="$5" '
        { for (i = 1; i <= NF; i++) { n = index($i, "="); f[substr($i, 1, n - 1)] = substr($i, n + 1) }
          if (f["op"] == O && f["label"] == A && (KA in f)) a[f["round"]] = f[KA]
          if (f["op"] == O && f["label"] == B && (KB in f)) b[f["round"]] = f[KB]
          delete f }
        END { for (r in a) if ((r in b) && b[r] > 0) print a[r] / b[r] }' "$RAW" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
         m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f", m }'
}
# fsync_ratio TARGET OP: median over rounds of ops_s(TARGET, OP) divided by
# the fdatasync floor measured right after it (same round and op), as a
# percentage.
fsync_ratio() {
    awk -v A="$1" -v O="$2" '
        { for (i = 1; i <= NF; i++) { n = index($i, "="); f[substr($i, 1, n - 1)] = substr($i, n + 1) }
          if (f["op"] == O && f["label"] == A) a[f["round"]] = f["ops_s"]
          if (f["op"] == O && f["label"] == "fsync") b[f["round"]] = f["ops_s"]
          delete f }
        END { for (r in a) if ((r in b) && b[r] > 0) print a[r] / b[r] }' "$RAW" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
         m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.0f%%", 100 * m }'
}

report() {
    echo "## vitrum benchmark — $(date -u +%Y-%m-%d) on $(uname -m), $(nproc) CPUs"
    echo
    echo "Kernel $(uname -r); CPU: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)."
    echo "Targets: ${ACTIVE[*]}. $ROUNDS rounds x $COUNT requests (+$WARMUP warm-up) per op,"
    echo "server on CPU $SERVER_CPU, client on CPU $CLIENT_CPU; medians across rounds."
    echo "Key ops: $KEY_COUNT requests (+$KEY_WARMUP) for primaryecc(new) createload signecc signrsa quote,"
    echo "$RSA_COUNT (+$RSA_WARMUP) for primaryrsa(new); multi-command ops time only their own commands."
    echo "Load average before: $LOAD_BEFORE; after: $(cut -d' ' -f1-3 /proc/loadavg);" \
         "CPU steal during the run: $STEAL."
    echo "swtpm $(swtpm --version 2>/dev/null | awk '{ print $4; exit }' | tr -d ,)."
    echo
    local op t
    for op in $OPS; do
        echo "### $op"
        echo
        echo "| target | ops/s | median µs | p99 µs | server CPU µs/op | ops/s vs swtpm | % of floor ops/s | ops/s spread |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|"
        for t in "${ACTIVE[@]}"; do
            local o m p c name=$t
            o=$(med "$t" "$op" ops_s); m=$(med "$t" "$op" median_us)
            p=$(med "$t" "$op" p99_us); c=$(med "$t" "$op" srv_cpu_us_per_op)
            [ "$t" = echo ] && name="floor (echo)"
            echo "| $name | $(fmt "$o" 0) | $(fmt "$m" 1) | $(fmt "$p" 1) | $(fmt "$c" 1) | $(pratio "$t" swtpm "$op" x) | $(pratio "$t" echo "$op" pct) | $(spread "$t" "$op" ops_s) |"
        done
        if is_nv_write "$op" && [ "$DFLOOR" = 1 ]; then
            echo "| floor (echo + fdatasync) | $(fmt "$(med dfloor "$op" ops_s)" 0) | $(fmt "$(med dfloor "$op" median_us)" 1) |" \
                 "$(fmt "$(med dfloor "$op" p99_us)" 1) | $(fmt "$(med dfloor "$op" srv_cpu_us_per_op)" 1) |" \
                 "$(pratio dfloor swtpm "$op" x) | $(pratio dfloor echo "$op" pct) | $(spread dfloor "$op" ops_s) |"
        fi
        if is_nv_write "$op" && grep -q "label=fsync op=$op " "$RAW"; then
            echo "| fdatasync alone (no network) | $(fmt "$(med fsync "$op" ops_s)" 0) | $(fmt "$(med fsync "$op" median_us)" 1) |" \
                 "$(fmt "$(med fsync "$op" p99_us)" 1) | - | $(pratio fsync swtpm "$op" x) | - | $(spread fsync "$op" ops_s) |"
        fi
        echo
    done
    echo "### servers"
    echo
    echo "| server | idle RSS kB | peak RSS kB | start-up cold ms | start-up warm ms | TCTI GetRandom ops/s | TCTI median µs | TCTI p99 µs |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    for t in "${ACTIVE[@]}"; do
        local name=$t
        [ "$t" = echo ] && name="floor (echo)"
        echo "| $name | ${IDLE_RSS[$t]:--} | ${PEAK_RSS[$t]:--} |" \
             "$(fmt "$(med "$t" startup_cold startup_ms)" 1) | $(fmt "$(med "$t" startup_warm startup_ms)" 1) |" \
             "$(fmt "$(med "$t" esys_getrandom ops_s)" 0) | $(fmt "$(med "$t" esys_getrandom median_us)" 1) |" \
             "$(fmt "$(med "$t" esys_getrandom p99_us)" 1) |"
    done
    echo
    echo "### NV and the disk"
    echo
    if grep -q "label=fsync" "$RAW"; then
        echo "The durability floor: one 64-byte pwrite + fdatasync (in place, no size" \
             "change) of a file on the disk the state directories are on, $COUNT times," \
             "right after each NV write op's runs in each round; the ratio pairs each" \
             "run with that measurement. \"echo + fdatasync\" is the echo floor doing" \
             "the same write before each answer (network and disk together)."
        echo
        echo "| op | vitrum ops/s | swtpm ops/s | fdatasync floor ops/s | echo + fdatasync ops/s | vitrum vs swtpm | vitrum % of fdatasync floor | vitrum % of echo + fdatasync |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|"
        for op in $OPS; do
            case "$op" in nv*) ;; *) continue ;; esac
            local fl="-" fr="-" dl="-" dr="-"
            if is_nv_write "$op"; then
                fl=$(fmt "$(med fsync "$op" ops_s)" 0); fr=$(fsync_ratio vitrum "$op")
                if [ "$DFLOOR" = 1 ]; then
                    dl=$(fmt "$(med dfloor "$op" ops_s)" 0); dr=$(pratio vitrum dfloor "$op" pct)
                fi
            fi
            echo "| $op | $(fmt "$(med vitrum "$op" ops_s)" 0) | $(fmt "$(med swtpm "$op" ops_s)" 0) |" \
                 "$fl | $dl | $(pratio vitrum swtpm "$op" x) | $fr | $dr |"
        done
        echo
    fi
    echo "| server | state bytes, new TPM | with 100 NV indices of 64 bytes |"
    echo "|---|---:|---:|"
    for t in "${ACTIVE[@]}"; do
        [ "$t" = echo ] && continue
        echo "| $t | ${SIZE_EMPTY[$t]:--} | ${SIZE_100[$t]:--} |"
    done
    echo
    if [ ${#CPU_OPS[@]} -gt 0 ] && grep -q "op=cpu_sign" "$RAW"; then
        echo "### server CPU per Sign vs OpenSSL"
        echo
        echo "Server utime+stime (/proc/PID/stat) across $SIGN_ECC_N ECDSA P-256 /" \
             "$SIGN_RSA_N RSASSA-2048 Sign commands, divided by the count (schedstat" \
             "in brackets), against \`openssl speed -seconds 1\` on the server's CPU;" \
             "medians of $CPU_ROUNDS rounds, ratios paired by round. Target: at most 1.5x."
        echo
        echo "| op | OpenSSL µs/sign | server | server CPU µs/Sign | vs OpenSSL | (CPU − floor) vs OpenSSL |"
        echo "|---|---:|---|---:|---:|---:|"
        for op in "${CPU_OPS[@]}"; do
            for t in "${ACTIVE[@]}"; do
                local fr="-"
                [ "$t" = echo ] && continue
                has echo && fr=$(fratio "$t" "cpu_$op")
                echo "| $op | $(fmt "$(med openssl "cpu_$op" sign_us)" 1) | $t |" \
                     "$(fmt "$(med "$t" "cpu_$op" srv_cpu_tick_us_per_op)" 1)" \
                     "($(fmt "$(med "$t" "cpu_$op" srv_cpu_us_per_op)" 1)) |" \
                     "$(kratio "$t" srv_cpu_tick_us_per_op openssl sign_us "cpu_$op")x" \
                     "($(kratio "$t" srv_cpu_us_per_op openssl sign_us "cpu_$op")x) | $fr |"
            done
        done
        echo
        if has echo; then
            echo "The floor (echo server, same request and response sizes, no TPM work) spent" \
                 "$(fmt "$(med echo cpu_signecc srv_cpu_us_per_op)" 1) µs (ECDSA sizes) and" \
                 "$(fmt "$(med echo cpu_signrsa srv_cpu_us_per_op)" 1) µs (RSA sizes) of CPU" \
                 "per request (schedstat); the last column subtracts it."
            echo
        fi
    fi
    if has vitrum && has swtpm; then
        echo "vitrum/swtpm ops/s by op:$(for op in $OPS; do printf ' %s %s' "$op" "$(pratio vitrum swtpm "$op" x)"; done)"
        echo
    fi
}

if [ -n "$OUT" ]; then
    report | tee "$OUT"
else
    report
fi
