#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench/swtpm.sh — vitrum issue #7 (QEMU vTPM): `vitrum swtpm socket` against
# swtpm 0.7 over swtpm's own protocol, on this machine, in the same run.
#
#   bench/swtpm.sh                         # everything, 5 rounds, 10 starts, 50 vTPMs
#   bench/swtpm.sh --parts "ops startup"   # a subset of: ops startup memory
#   VITRUM=build-x/vitrum bench/swtpm.sh --rounds 7 --out /tmp/swtpm.md
#
# 1. ops: the same command line for both servers,
#      {vitrum swtpm|swtpm} socket --tpm2 --server type=tcp,port=P
#        --ctrl type=tcp,port=P+1 --tpmstate dir=D --flags not-need-init,startup-clear
#    driven by bench/bench.c --proto raw (the client of bench/run.sh: one
#    connection, one command in flight, every rc checked), alternated op by
#    op and round by round (the order flips every round); medians across
#    rounds, ratios vitrum/swtpm paired by round; server CPU per op from
#    /proc/PID/task/*/schedstat.  Each op also runs against the floor,
#    bench/echo_server (same CPU, same request and response sizes, no TPM).
# 2. startup: bench/swtpm_bench.c `startup`, as libvirt starts swtpm and QEMU
#    talks to it: `... socket --tpm2 --ctrl type=unixio,path=S --tpmstate
#    dir=D`, connect, SET_DATAFD, INIT, TPM2_Startup(CLEAR) answered (then
#    GetRandom); fresh (empty D) and existing (D of an earlier start,
#    stopped with SHUTDOWN) state; STARTS starts each, alternating servers;
#    also the server's CPU time over its life (wait4), which load inflates
#    less than the wall-clock time.
# 3. memory: N idle vTPMs, each INIT'ed and having answered Startup and
#    GetRandom, their connections held open (as a running VM holds them):
#    N swtpm processes, N `vitrum swtpm socket` processes, and one
#    `vitrum serve --instances DIR` process hosting N instances (when the
#    binary has that option).  Sum of VmRSS / N and of Pss
#    (/proc/PID/smaps_rollup) / N.
#
# Prints Markdown; nothing here asserts a timing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${ROUNDS:-5}
COUNT=${COUNT:-2000}
WARMUP=${WARMUP:-200}
KEY_COUNT=${KEY_COUNT:-300}
KEY_WARMUP=${KEY_WARMUP:-20}
RSA_COUNT=${RSA_COUNT:-20}
RSA_WARMUP=${RSA_WARMUP:-2}
STARTS=${STARTS:-10}
NINST=${NINST:-50}
OPS=${OPS:-"getrandom pcrextend pcrread hash1k nvwrite64 nvread64 signecc primaryecc primaryrsa"}
PARTS=${PARTS:-"ops startup memory"}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
CC=${CC:-cc}
VITRUM=${VITRUM:-$ROOT/build/vitrum}
OUT=""
KEEP=0

usage() {
    cat <<EOF
usage: bench/swtpm.sh [options]
  --rounds N      rounds of the op alternation (default $ROUNDS)
  --count N       timed requests per run for fast ops (default $COUNT)
  --warmup N      untimed requests before them (default $WARMUP)
  --key-count N   timed requests for signecc / primaryecc (default $KEY_COUNT)
  --rsa-count N   timed CreatePrimary RSA-2048 (default $RSA_COUNT)
  --ops "a b"     ops (default "$OPS")
  --starts N      start-up measurements per server and kind (default $STARTS)
  --instances N   idle vTPMs for the memory measurement (default $NINST)
  --parts "..."   subset of "ops startup memory" (default all)
  --quick         1 round, 300 requests (30 key, 3 RSA), 3 starts, 5 vTPMs
  --keep          keep the work directory
  --out FILE      also write the Markdown report to FILE
env: VITRUM (default build/vitrum), CC, SERVER_CPU (1), CLIENT_CPU (0)
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) ROUNDS=$2; shift ;;
    --count) COUNT=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
    --key-count) KEY_COUNT=$2; shift ;;
    --rsa-count) RSA_COUNT=$2; shift ;;
    --ops) OPS=$2; shift ;;
    --starts) STARTS=$2; shift ;;
    --instances) NINST=$2; shift ;;
    --parts) PARTS=$2; shift ;;
    --quick) ROUNDS=1; COUNT=300; WARMUP=30; KEY_COUNT=30; KEY_WARMUP=3
             RSA_COUNT=3; RSA_WARMUP=1; STARTS=3; NINST=5 ;;
    --keep) KEEP=1 ;;
    --out) OUT=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "swtpm.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

log() { echo "swtpm.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }
want() { [[ " $PARTS " == *" $1 "* ]]; }

[ -x "$VITRUM" ] || die "$VITRUM not built (make)"
command -v swtpm >/dev/null || die "swtpm not installed (apt-get install swtpm)"
command -v taskset >/dev/null || die "taskset not found (util-linux)"
if [ "$(nproc)" -lt 2 ]; then
    log "only one CPU: server and client share CPU 0"
    SERVER_CPU=0; CLIENT_CPU=0
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vitrum-swtpm-bench.XXXXXX")
RAW=$WORK/raw.txt
: >"$RAW"
PIDS=()          # every server this script started (killed by PID at exit)
HOLD_PID=""
cleanup() {
    local p
    [ -n "$HOLD_PID" ] && kill "$HOLD_PID" 2>/dev/null
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    done
    if [ "$KEEP" = 1 ]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
cpu_stat() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i; print t, $9; exit }' /proc/stat; }
STAT_BEFORE=$(cpu_stat)
T_BEGIN=$(date -u +%H:%M)

# ---------------------------------------------------------------- build
BIN=$WORK/bin
mkdir -p "$BIN"
CFLAGS_BENCH=(-std=c11 -O2 -Wall -Wextra -Werror)
MU_FLAGS=()
read -ra MU_FLAGS < <(pkg-config --cflags --libs tss2-mu 2>/dev/null) ||
    die "pkg-config tss2-mu failed (apt-get install libtss2-dev)"
$CC "${CFLAGS_BENCH[@]}" -o "$BIN/bench" "$ROOT/bench/bench.c" "${MU_FLAGS[@]}"
$CC "${CFLAGS_BENCH[@]}" -o "$BIN/swtpm_bench" "$ROOT/bench/swtpm_bench.c"
$CC "${CFLAGS_BENCH[@]}" -o "$BIN/echo_server" "$ROOT/bench/echo_server.c"
BENCH=$BIN/bench
SWB=$BIN/swtpm_bench

# stop_pids PID...: SIGTERM, up to 5 s, SIGKILL; then forget them (so the
# exit trap never signals a PID that may have been reused).
stop_pids() {
    local p q keep=()
    for p in "$@"; do kill "$p" 2>/dev/null || true; done
    for p in "$@"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    for q in "${PIDS[@]}"; do
        [[ " $* " == *" $q "* ]] || keep+=("$q")
    done
    PIDS=("${keep[@]}")
}

# server_bin TARGET: sets SRV to the command that is "swtpm" for TARGET.
server_bin() {
    case "$1" in
    vitrum) SRV=("$VITRUM" swtpm) ;;
    swtpm) SRV=(swtpm) ;;
    *) die "unknown target $1" ;;
    esac
}

# ------------------------------------------------------------------ ops
declare -A PORT PID PEAK
start_tcp() { # TARGET
    local t=$1 dir=$WORK/ops-$1 port
    mkdir -p "$dir"
    port=$("$BENCH" --free-port)
    server_bin "$t"
    # shellcheck disable=SC2054  # the commas belong to swtpm's option values
    taskset -c "$SERVER_CPU" "${SRV[@]}" socket --tpm2 \
        --server "type=tcp,port=$port,bindaddr=127.0.0.1" \
        --ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" \
        --tpmstate "dir=$dir" --flags not-need-init,startup-clear >"$WORK/$t.log" 2>&1 &
    PID[$t]=$!
    PIDS+=("$!")
    PORT[$t]=$port
    for _ in $(seq 100); do
        kill -0 "${PID[$t]}" 2>/dev/null || { cat "$WORK/$t.log" >&2; die "$t exited at start-up"; }
        if "$BENCH" --proto raw --port "$port" --op getrandom --count 1 --warmup 0 \
                >/dev/null 2>"$WORK/$t.probe"; then
            return 0
        fi
        sleep 0.1
    done
    cat "$WORK/$t.probe" "$WORK/$t.log" >&2
    die "$t did not answer on port $port"
}

op_count() {
    case "$1" in
    primaryrsa*) N=$RSA_COUNT; W=$RSA_WARMUP ;;
    primaryecc*|signecc|signrsa|createload|quote) N=$KEY_COUNT; W=$KEY_WARMUP ;;
    *) N=$COUNT; W=$WARMUP ;;
    esac
}

# The floor: bench/echo_server answering each request with as many bytes
# as the real raw response (bench --proto echo --echo-as raw), same CPU.
start_floor() {
    local port
    port=$("$BENCH" --free-port)
    taskset -c "$SERVER_CPU" "$BIN/echo_server" --listen 127.0.0.1 --port "$port" >"$WORK/floor.log" 2>&1 &
    PID[floor]=$!
    PIDS+=("$!")
    PORT[floor]=$port
    for _ in $(seq 100); do
        if "$BENCH" --proto echo --echo-as raw --port "$port" --op getrandom --count 1 --warmup 0 \
                >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    die "echo server did not answer on port $port"
}

if want ops; then
    start_tcp vitrum
    start_tcp swtpm
    start_floor
    for r in $(seq "$ROUNDS"); do
        log "ops round $r/$ROUNDS"
        if [ $((r % 2)) = 1 ]; then ORDER="vitrum swtpm"; else ORDER="swtpm vitrum"; fi
        for op in $OPS; do
            op_count "$op"
            for t in $ORDER; do
                line=$(timeout 900 taskset -c "$CLIENT_CPU" "$BENCH" --proto raw \
                    --port "${PORT[$t]}" --op "$op" --count "$N" --warmup "$W" \
                    --server-pid "${PID[$t]}" --label "$t" 2>"$WORK/err.txt") ||
                    { cat "$WORK/err.txt" >&2; die "$t $op failed"; }
                echo "$line round=$r" >>"$RAW"
            done
            line=$(timeout 900 taskset -c "$CLIENT_CPU" "$BENCH" --proto echo --echo-as raw \
                --port "${PORT[floor]}" --op "$op" --count "$N" --warmup "$W" \
                --server-pid "${PID[floor]}" --label floor 2>"$WORK/err.txt") ||
                { cat "$WORK/err.txt" >&2; die "floor $op failed"; }
            echo "$line round=$r" >>"$RAW"
        done
    done
    for t in vitrum swtpm; do
        PEAK[$t]=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/${PID[$t]}/status")
    done
    stop_pids "${PID[vitrum]}" "${PID[swtpm]}" "${PID[floor]}"
fi

# -------------------------------------------------------------- start-up
# shellcheck disable=SC2054
startup_one() { # TARGET KIND DIR
    local t=$1 kind=$2 dir=$3 line
    server_bin "$t"
    if line=$(timeout 60 taskset -c "$CLIENT_CPU" "$SWB" startup --ctrl "$WORK/su-$t.ctrl" -- \
            taskset -c "$SERVER_CPU" "${SRV[@]}" socket --tpm2 \
            --ctrl "type=unixio,path=$WORK/su-$t.ctrl" --tpmstate "dir=$dir" \
            2>>"$WORK/$t.startup.log"); then
        echo "label=$t op=startup_$kind $line" >>"$RAW"
    else
        tail -n 5 "$WORK/$t.startup.log" >&2
        die "$t: $kind start-up failed"
    fi
}
if want startup; then
    log "start-up: $STARTS fresh and $STARTS existing-state starts per server"
    for t in vitrum swtpm; do
        mkdir -p "$WORK/su-$t-existing"
        startup_one "$t" prep "$WORK/su-$t-existing"     # creates the state
    done
    for i in $(seq "$STARTS"); do
        if [ $((i % 2)) = 1 ]; then ORDER="vitrum swtpm"; else ORDER="swtpm vitrum"; fi
        for t in $ORDER; do
            mkdir -p "$WORK/su-$t-fresh-$i"
            startup_one "$t" fresh "$WORK/su-$t-fresh-$i"
            startup_one "$t" existing "$WORK/su-$t-existing"
        done
    done
fi

# ---------------------------------------------------------------- memory
# mem_sum PID...: "rss_kb pss_kb" summed over the PIDs.
mem_sum() {
    local p rss pss trss=0 tpss=0
    for p in "$@"; do
        rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$p/status")
        pss=$(awk '$1 == "Pss:" { print $2 }' "/proc/$p/smaps_rollup")
        trss=$((trss + rss)); tpss=$((tpss + pss))
    done
    echo "$trss $tpss"
}

# hold EP...: INIT + Startup + GetRandom on every endpoint, keep the
# connections open (HOLD_PID; close them with hold_end).
hold() {
    mkfifo "$WORK/hold.in"
    "$SWB" hold --timeout-ms 30000 "$@" <"$WORK/hold.in" >"$WORK/hold.out" 2>"$WORK/hold.err" &
    HOLD_PID=$!
    exec 9>"$WORK/hold.in"
    for _ in $(seq 600); do
        grep -q '^ready' "$WORK/hold.out" && return 0
        kill -0 "$HOLD_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$WORK/hold.err" >&2
    die "idle vTPMs not ready"
}
hold_end() {
    exec 9>&-
    wait "$HOLD_PID" || true
    HOLD_PID=""
    rm -f "$WORK/hold.in"
}

# N separate processes of TARGET, each with its own unixio control socket.
# shellcheck disable=SC2054
mem_processes() { # TARGET
    local t=$1 d=$WORK/mem-$1 i eps=() pids=()
    mkdir -p "$d"
    server_bin "$t"
    for i in $(seq "$NINST"); do
        mkdir -p "$d/vm$i"
        "${SRV[@]}" socket --tpm2 --ctrl "type=unixio,path=$d/vm$i.ctrl" \
            --tpmstate "dir=$d/vm$i" >>"$WORK/mem-$t.log" 2>&1 &
        pids+=("$!"); PIDS+=("$!")
        eps+=("$d/vm$i.ctrl")
    done
    hold "${eps[@]}"
    sleep 1
    read -r rss pss < <(mem_sum "${pids[@]}")
    echo "label=$t-proc op=mem n=$NINST procs=$NINST rss_kb=$rss pss_kb=$pss" >>"$RAW"
    hold_end
    stop_pids "${pids[@]}"
}

# One `vitrum serve --instances DIR` process hosting N instances, and the
# same process with none (its fixed cost).
HAVE_INSTANCES=0
SERVE_HELP=$("$VITRUM" serve --help 2>&1 || true)
if [[ "$SERVE_HELP" == *"--instances"* ]]; then HAVE_INSTANCES=1; fi
mem_instances() { # N
    local n=$1 d=$WORK/inst-$1 i eps=() pid
    mkdir -p "$d"
    for i in $(seq "$n"); do
        mkdir -p "$d/vm$i"
        eps+=("$d/vm$i.ctrl,$d/vm$i.data")
    done
    "$VITRUM" serve --instances "$d" >>"$WORK/inst.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    if [ "$n" -gt 0 ]; then
        hold "${eps[@]}"
    else
        sleep 1
    fi
    sleep 1
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$WORK/inst.log" >&2; die "vitrum serve --instances exited"; }
    read -r rss pss < <(mem_sum "$pid")
    local label=vitrum-instances
    [ "$n" -gt 0 ] || label=vitrum-instances-empty
    echo "label=$label op=mem n=$n procs=1 rss_kb=$rss pss_kb=$pss" >>"$RAW"
    [ "$n" -gt 0 ] && hold_end
    stop_pids "$pid"
}

if want memory; then
    log "memory: $NINST idle swtpm processes"
    mem_processes swtpm
    log "memory: $NINST idle vitrum swtpm processes"
    mem_processes vitrum
    if [ $HAVE_INSTANCES = 1 ]; then
        log "memory: one vitrum serve --instances process with $NINST instances"
        mem_instances 0
        mem_instances "$NINST"
    else
        log "$VITRUM has no 'serve --instances': that part is not measured"
    fi
fi

# ---------------------------------------------------------------- report
STAT_AFTER=$(cpu_stat)
STEAL=$(awk -v a="$STAT_BEFORE" -v b="$STAT_AFTER" 'BEGIN { split(a, x, " "); split(b, y, " ");
    d = y[1] - x[1]; if (d > 0) printf "%.1f%%", 100 * (y[2] - x[2]) / d; else print "-" }')

# field LABEL OP KEY: the values of KEY in the raw lines of LABEL and OP.
field() {
    awk -v L="$1" -v O="$2" -v K="$3" '
        { delete f; for (i = 1; i <= NF; i++) { n = index($i, "="); f[substr($i, 1, n - 1)] = substr($i, n + 1) }
          if (f["label"] == L && f["op"] == O && (K in f)) print f[K] }' "$RAW"
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
pct() { # RATIO -> "NN %"
    if [ "$1" = "-" ] || [ -z "$1" ]; then echo "-"; else awk -v r="$1" 'BEGIN { printf "%.0f %%", 100 * r }'; fi
}
fmt() { # VALUE DECIMALS
    if [ "$1" = "-" ] || [ -z "$1" ]; then echo "-"; else printf "%.${2}f" "$1"; fi
}
# pratio OP KEY A B: median over rounds of KEY(A)/KEY(B), paired by round.
pratio() {
    awk -v O="$1" -v K="$2" -v A="$3" -v B="$4" '
        { delete f; for (i = 1; i <= NF; i++) { n = index($i, "="); f[substr($i, 1, n - 1)] = substr($i, n + 1) }
          if (f["op"] == O && f["label"] == A) a[f["round"]] = f[K] + 0
          if (f["op"] == O && f["label"] == B) b[f["round"]] = f[K] + 0 }
        END { for (r in a) if ((r in b) && b[r] > 0) print a[r] / b[r] }' "$RAW" | median
}
# rounds_ahead OP: "k/n" rounds where vitrum's ops/s >= swtpm's.
rounds_ahead() {
    awk -v O="$1" '
        { delete f; for (i = 1; i <= NF; i++) { n = index($i, "="); f[substr($i, 1, n - 1)] = substr($i, n + 1) }
          if (f["op"] == O && f["label"] == "vitrum") a[f["round"]] = f["ops_s"] + 0
          if (f["op"] == O && f["label"] == "swtpm") b[f["round"]] = f["ops_s"] + 0 }
        END { k = 0; n = 0; for (r in a) if (r in b) { n++; if (a[r] >= b[r]) k++ } printf "%d/%d", k, n }' "$RAW"
}

report() {
    echo "### swtpm protocol benchmark — $(date -u +%Y-%m-%d) $T_BEGIN–$(date -u +%H:%M) UTC on $(uname -m), $(nproc) CPUs"
    echo
    echo "Kernel $(uname -r); CPU: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo);" \
         "$(swtpm --version 2>/dev/null | awk '{ print "swtpm", $4; exit }' | tr -d ,)."
    echo "Load average before: $LOAD_BEFORE; after: $(cut -d' ' -f1-3 /proc/loadavg);" \
         "CPU steal during the run: $STEAL."
    echo
    if want ops; then
        echo "Ops: $ROUNDS rounds; $COUNT requests (+$WARMUP warm-up) per run, $KEY_COUNT (+$KEY_WARMUP)" \
             "for signecc/primaryecc, $RSA_COUNT (+$RSA_WARMUP) for primaryrsa; server on CPU" \
             "$SERVER_CPU, client on CPU $CLIENT_CPU; medians across rounds, ratios paired by round;" \
             "floor: bench/echo_server on the same CPU, same request and response sizes."
        echo
        echo "| op | vitrum ops/s | swtpm ops/s | vitrum / swtpm | rounds vitrum ≥ swtpm | vitrum median µs | swtpm median µs | server CPU µs/op vitrum | swtpm | swtpm / vitrum CPU | % of floor ops/s vitrum | swtpm |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        local op
        for op in $OPS; do
            echo "| \`$op\` | $(fmt "$(field vitrum "$op" ops_s | median)" 0) |" \
                 "$(fmt "$(field swtpm "$op" ops_s | median)" 0) |" \
                 "$(fmt "$(pratio "$op" ops_s vitrum swtpm)" 2)x | $(rounds_ahead "$op") |" \
                 "$(fmt "$(field vitrum "$op" median_us | median)" 1) |" \
                 "$(fmt "$(field swtpm "$op" median_us | median)" 1) |" \
                 "$(fmt "$(field vitrum "$op" srv_cpu_us_per_op | median)" 1) |" \
                 "$(fmt "$(field swtpm "$op" srv_cpu_us_per_op | median)" 1) |" \
                 "$(fmt "$(pratio "$op" srv_cpu_us_per_op swtpm vitrum)" 2)x |" \
                 "$(pct "$(pratio "$op" ops_s vitrum floor)") | $(pct "$(pratio "$op" ops_s swtpm floor)") |"
        done
        echo
        echo "Peak RSS after the op rounds: vitrum ${PEAK[vitrum]:--} kB, swtpm ${PEAK[swtpm]:--} kB."
        echo
    fi
    if want startup; then
        echo "Start-up to first answer (unixio control, SET_DATAFD, INIT, Startup(CLEAR)), median of $STARTS starts;"
        echo "server CPU = the server's user + system time over its whole life (start, Startup, GetRandom, SHUTDOWN):"
        echo
        echo "| server | fresh state: Startup answered ms | + GetRandom ms | server CPU ms | existing state: Startup answered ms | + GetRandom ms | server CPU ms |"
        echo "|---|---:|---:|---:|---:|---:|---:|"
        local t
        for t in vitrum swtpm; do
            echo "| $t | $(fmt "$(field "$t" startup_fresh startup_ms | median)" 1) |" \
                 "$(fmt "$(field "$t" startup_fresh getrandom_ms | median)" 1) |" \
                 "$(fmt "$(field "$t" startup_fresh server_cpu_ms | median)" 1) |" \
                 "$(fmt "$(field "$t" startup_existing startup_ms | median)" 1) |" \
                 "$(fmt "$(field "$t" startup_existing getrandom_ms | median)" 1) |" \
                 "$(fmt "$(field "$t" startup_existing server_cpu_ms | median)" 1) |"
        done
        echo
    fi
    if want memory; then
        echo "Idle vTPMs (INIT, Startup, GetRandom answered, connections held open), N=$NINST:"
        echo
        echo "| setup | processes | RSS sum kB | RSS / vTPM kB | PSS sum kB | PSS / vTPM kB |"
        echo "|---|---:|---:|---:|---:|---:|"
        local l name
        for l in swtpm-proc vitrum-proc vitrum-instances-empty vitrum-instances; do
            case "$l" in
            swtpm-proc) name="$NINST × \`swtpm socket\`" ;;
            vitrum-proc) name="$NINST × \`vitrum swtpm socket\`" ;;
            *) name="1 × \`vitrum serve --instances\`" ;;
            esac
            awk -v L="$l" -v NAME="$name" '
                { delete f; for (i = 1; i <= NF; i++) { n = index($i, "="); f[substr($i, 1, n - 1)] = substr($i, n + 1) }
                  if (f["label"] == L && f["op"] == "mem") {
                      if (f["n"] + 0 > 0)
                          printf "| %s, %d vTPMs | %d | %d | %.0f | %d | %.0f |\n", NAME, f["n"], f["procs"],
                              f["rss_kb"], f["rss_kb"] / f["n"], f["pss_kb"], f["pss_kb"] / f["n"]
                      else
                          printf "| %s, no vTPM | %d | %d | - | %d | - |\n", NAME, f["procs"], f["rss_kb"], f["pss_kb"] } }' "$RAW"
        done
        if [ $HAVE_INSTANCES = 0 ]; then
            echo "| 1 × \`vitrum serve --instances\` | not measured: $VITRUM has no \`serve --instances\` | | | | |"
        fi
        echo
        local srss spss vrss vpss irss ipss erss
        srss=$(field swtpm-proc mem rss_kb); spss=$(field swtpm-proc mem pss_kb)
        vrss=$(field vitrum-proc mem rss_kb); vpss=$(field vitrum-proc mem pss_kb)
        irss=$(field vitrum-instances mem rss_kb); ipss=$(field vitrum-instances mem pss_kb)
        erss=$(field vitrum-instances-empty mem rss_kb)
        if [ -n "$srss" ] && [ -n "$vrss" ]; then
            echo "Per vTPM, one process each: swtpm / vitrum = $(awk -v a="$srss" -v b="$vrss" 'BEGIN { printf "%.2f", a / b }')x (RSS)," \
                 "$(awk -v a="$spss" -v b="$vpss" 'BEGIN { printf "%.2f", a / b }')x (PSS)."
        fi
        if [ -n "$srss" ] && [ -n "$irss" ]; then
            echo "Per vTPM, swtpm processes / one \`vitrum serve --instances\`:" \
                 "$(awk -v a="$srss" -v b="$irss" 'BEGIN { printf "%.1f", a / b }')x less RSS," \
                 "$(awk -v a="$spss" -v b="$ipss" 'BEGIN { printf "%.1f", a / b }')x less PSS (target: at least 5x)." \
                 "Each instance adds $(awk -v a="$irss" -v e="$erss" -v n="$NINST" 'BEGIN { printf "%.0f", (a - e) / n }') kB" \
                 "of RSS to the process (RSS with $NINST instances minus RSS with none, / $NINST)."
        fi
        echo
    fi
}

if [ -n "$OUT" ]; then report | tee "$OUT"; else report; fi
