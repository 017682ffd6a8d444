#!/bin/bash
# Session and policy benchmark (issue "sessions"): vitrum vs swtpm through
# tpm2-tss ESAPI (bench/session_bench.c), alternated op by op and round by
# round on the same machine; medians across rounds, ratios paired by round.
#
#   bench/sessions.sh                      # 5 rounds
#   bench/sessions.sh --rounds 9 --count 300
#   VITRUM=build-x/vitrum bench/sessions.sh
#   SESSION_BENCH_PACE_US=2500 bench/sessions.sh --ops "unseal_pw unseal_hmacenc"
#                                          # the client spins 2.5 ms before each op,
#                                          # so fast and slow ops wake the server alike
#   SESSION_BENCH_IDLE_US=3000 bench/sessions.sh
#                                          # stricter: the server idles exactly 3 ms
#                                          # before every command of every op
#
# Prints a markdown table: per op the median ops/s of each server, the median
# of the per-round ratios vitrum/swtpm, the server's CPU time per op (from
# /proc/PID/schedstat: ESAPI's own client-side crypto is a large part of each
# round trip, so the CPU columns are what compares the servers), and the
# cost of an HMAC session with parameter encryption over a password
# (unseal_hmacenc vs unseal_pw).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-5}
COUNT=${COUNT:-200}
SALT_COUNT=${SALT_COUNT:-100}
VITRUM=${VITRUM:-$ROOT/build/vitrum}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
OPS=${OPS:-"salted_rsa salted_ecc getrandom_enc unseal_pw unseal_hmacenc policypcr_unseal"}
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) ROUNDS=$2; shift ;;
    --count) COUNT=$2; shift ;;
    --ops) OPS=$2; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "sessions.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

log() { echo "sessions.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }
[ -x "$VITRUM" ] || die "$VITRUM not built (make)"
command -v swtpm >/dev/null || die "swtpm not installed (apt-get install swtpm)"

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

read -ra TSS_FLAGS < <(pkg-config --cflags --libs tss2-esys tss2-tctildr tss2-rc) ||
    die "pkg-config tss2-esys failed (apt-get install libtss2-dev)"
${CC:-cc} -O2 -std=c11 -Wall -Wextra -Werror -o "$WORK/session_bench" "$ROOT/bench/session_bench.c" "${TSS_FLAGS[@]}"

free_port() {
    python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

declare -A CONF SPID
start() { # TARGET
    local t=$1 port dir=$WORK/state-$1
    mkdir -p "$dir"
    while :; do
        port=$(free_port)
        python3 -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1', $port + 1))" 2>/dev/null && break
    done
    case "$t" in
    vitrum)
        taskset -c "$SERVER_CPU" "$VITRUM" serve --state "$dir" --port "$port" --listen 127.0.0.1 \
            >"$WORK/$t.log" 2>&1 &
        CONF[$t]="mssim:host=127.0.0.1,port=$port" ;;
    swtpm)
        taskset -c "$SERVER_CPU" swtpm socket --tpm2 --server "type=tcp,port=$port,bindaddr=127.0.0.1" \
            --ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" --tpmstate "dir=$dir" \
            --flags not-need-init,startup-clear >"$WORK/$t.log" 2>&1 &
        CONF[$t]="swtpm:host=127.0.0.1,port=$port" ;;
    esac
    PIDS+=($!)
    SPID[$t]=$!
    for _ in $(seq 100); do
        TSS2_LOG=all+none "$WORK/session_bench" "${CONF[$t]}" getrandom 1 0 probe >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    cat "$WORK/$t.log" >&2
    die "$t did not start"
}
start vitrum
start swtpm

RAW=$WORK/raw.txt
for r in $(seq "$ROUNDS"); do
    log "round $r/$ROUNDS"
    for op in $OPS; do
        n=$COUNT
        case "$op" in salted_*) n=$SALT_COUNT ;; esac
        for t in vitrum swtpm; do
            line=$(TSS2_LOG=all+none timeout 600 taskset -c "$CLIENT_CPU" "$WORK/session_bench" \
                "${CONF[$t]}" "$op" "$n" 10 "$t" "${SPID[$t]}" 2>"$WORK/err.txt") || {
                cat "$WORK/err.txt" >&2; die "$t $op failed"; }
            echo "$line round=$r" >>"$RAW"
        done
    done
done

# Median helpers over the raw lines (key=value pairs).
val() { # LABEL OP ROUND KEY
    awk -v l="label=$1" -v o="op=$2" -v r="round=$3" -v k="$4=" '
        { hit = 0; for (i = 1; i <= NF; i++) { if ($i == l) hit++; if ($i == o) hit++; if ($i == r) hit++ }
          if (hit == 3) for (i = 1; i <= NF; i++) if (index($i, k) == 1) print substr($i, length(k) + 1) }' "$RAW"
}
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "| op | vitrum ops/s | swtpm ops/s | vitrum / swtpm | server CPU µs/op vitrum | swtpm | swtpm / vitrum CPU |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for op in $OPS; do
    mv=$(for r in $(seq "$ROUNDS"); do val vitrum "$op" "$r" ops_s; done | median)
    ms=$(for r in $(seq "$ROUNDS"); do val swtpm "$op" "$r" ops_s; done | median)
    ratio=$(for r in $(seq "$ROUNDS"); do
        echo "$(val vitrum "$op" "$r" ops_s) $(val swtpm "$op" "$r" ops_s)" | awk '{ printf "%.3f\n", $1 / $2 }'
    done | median)
    cv=$(for r in $(seq "$ROUNDS"); do val vitrum "$op" "$r" srv_cpu_us_per_op; done | median)
    cs=$(for r in $(seq "$ROUNDS"); do val swtpm "$op" "$r" srv_cpu_us_per_op; done | median)
    cratio=$(for r in $(seq "$ROUNDS"); do
        echo "$(val swtpm "$op" "$r" srv_cpu_us_per_op) $(val vitrum "$op" "$r" srv_cpu_us_per_op)" |
            awk '$2 > 0 { printf "%.3f\n", $1 / $2 }'
    done | median)
    echo "| \`$op\` | $mv | $ms | ${ratio}x | $cv | $cs | ${cratio}x |"
done
if [[ " $OPS " == *" unseal_pw "* && " $OPS " == *" unseal_hmacenc "* ]]; then
    for t in vitrum swtpm; do
        cost=$(for r in $(seq "$ROUNDS"); do
            echo "$(val "$t" unseal_hmacenc "$r" median_us) $(val "$t" unseal_pw "$r" median_us)" |
                awk '{ printf "%.1f\n", 100 * ($1 / $2 - 1) }'
        done | median)
        echo
        ccost=$(for r in $(seq "$ROUNDS"); do
            echo "$(val "$t" unseal_hmacenc "$r" srv_cpu_us_per_op) $(val "$t" unseal_pw "$r" srv_cpu_us_per_op)" |
                awk '$2 > 0 { printf "%.1f\n", 100 * ($1 / $2 - 1) }'
        done | median)
        echo "$t: a salted HMAC session with response encryption adds ${cost}% to a password-authorized Unseal in latency (ESAPI's client-side crypto included), ${ccost}% in server CPU (medians of rounds)."
    done
fi
