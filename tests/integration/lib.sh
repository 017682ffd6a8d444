# shellcheck shell=bash
# tests/integration/lib.sh - harness for vitrum integration tests.
#
# Sourced by every tests/integration/test_*.sh.  Starts a TPM server (vitrum,
# or swtpm for comparison), points Debian's tpm2-tools at it through
# TPM2TOOLS_TCTI, and prints TAP ("ok N - name" / "not ok N - name", plan
# "1..N" at the end).
#
# Environment:
#   VT_TARGET          vitrum (default) or swtpm
#   VITRUM_BIN         vitrum binary, default build/vitrum (relative paths are
#                      taken from the repository root)
#   VITRUM_ARGS        extra arguments for every "vitrum serve" (e.g.
#                      --no-sandbox)
#   VT_CMD_TIMEOUT     seconds any single tpm2_* tool may run (default 20)
#   VT_SCRIPT_TIMEOUT  seconds the whole script may run (default 120)
#   VT_KEEP=1          keep the temporary directory (state, logs) on exit
#   VT_VERBOSE=1       echo every checked command as a "# " line
#
# Functions:
#   vt_server_start [args]   start the server (args: e.g. --startup none)
#   vt_server_stop           SIGTERM, wait; returns the server's exit status
#   vt_server_kill           SIGKILL, wait
#   vt_server_restart [args] stop, then start again on the same state dir
#   vt_ok / vt_not_ok / vt_skip / vt_check / vt_check_fails / vt_check_eq /
#   vt_check_rc / vt_done    TAP helpers (see each function)
#   VT_RAW                   "python3 .../rawtpm.py --proto P --port N" for
#                            the running server (set by vt_server_start)

VT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VT_ROOT=$(cd "$VT_LIB_DIR/../.." && pwd)
VT_TARGET=${VT_TARGET:-vitrum}
VITRUM_BIN=${VITRUM_BIN:-build/vitrum}
case "$VITRUM_BIN" in
/*) ;;
*) VITRUM_BIN="$VT_ROOT/$VITRUM_BIN" ;;
esac
VT_CMD_TIMEOUT=${VT_CMD_TIMEOUT:-20}
VT_SCRIPT_TIMEOUT=${VT_SCRIPT_TIMEOUT:-120}
VT_RAWTPM="$VT_LIB_DIR/rawtpm.py"
# rawtpm.py needs only the standard library; Debian's python3 starts much
# faster than a pyenv shim, which matters for the start-up probe.
if [ -z "${VT_PYTHON:-}" ]; then
	if [ -x /usr/bin/python3 ]; then VT_PYTHON=/usr/bin/python3; else VT_PYTHON=python3; fi
fi

case "$VT_TARGET" in
vitrum | swtpm) ;;
*)
	echo "Bail out! VT_TARGET must be vitrum or swtpm, not '$VT_TARGET'"
	exit 2
	;;
esac

VT_N=0
VT_FAILED=0
VT_TMP=
VT_STATE=
VT_LOG=
VT_PORT=
VT_SERVER_PID=
VT_SERVER_ARGS=()
VT_RAW=
VT_LAST_OUT=

# The tools print to the terminal and talk to whatever TCTI is configured;
# make sure nothing from the caller's environment leaks in.
unset TPM2TOOLS_TCTI TCTI TPM2TOOLS_ENABLE_ERRATA
export TSS2_LOG=${TSS2_LOG:-all+none}
# Test servers never read an installed /etc/vitrum/vitrum.conf.
export VITRUM_CONFIG=none

# Wrap every tpm2_* tool in timeout(1) so that a server that stops answering
# cannot hang a script.  Test scripts just call tpm2_getrandom etc.
for vt__t in $(compgen -c tpm2_ | sort -u); do
	vt__p=$(type -P "$vt__t") || continue
	eval "$vt__t() { timeout -k 2 \"\$VT_CMD_TIMEOUT\" '$vt__p' \"\$@\"; }"
	# exported, so "bash -c 'tpm2_x ... | ...'" in a test gets it too
	export -f "${vt__t?}"
done
export VT_CMD_TIMEOUT
unset vt__t vt__p

# ---------------------------------------------------------------- TAP output

vt__comment() { # print stdin as "# " lines (at most $1 lines)
	local max=${1:-60}
	sed -e 's/^/#   /' | head -n "$max"
}

vt_ok() {
	VT_N=$((VT_N + 1))
	echo "ok $VT_N - $1"
}

vt_not_ok() {
	VT_N=$((VT_N + 1))
	VT_FAILED=$((VT_FAILED + 1))
	echo "not ok $VT_N - $1"
	if [ -n "${2:-}" ]; then echo "#   $2"; fi
}

vt_skip() { # vt_skip NAME REASON
	VT_N=$((VT_N + 1))
	echo "ok $VT_N - $1 # SKIP ${2:-}"
}

vt_note() { echo "# $*"; }

vt__run() { # run "$@", output to $VT_LAST_OUT; returns the exit status
	VT_LAST_OUT="$VT_TMP/last.out"
	if [ "${VT_VERBOSE:-0}" = 1 ]; then echo "# \$ $*"; fi
	"$@" >"$VT_LAST_OUT" 2>&1
}

# Output (stdout+stderr) of the command the last vt_check* ran.
vt_last_output() { cat "$VT_LAST_OUT" 2>/dev/null; }

vt_check() { # vt_check NAME cmd...   ok iff cmd exits 0
	local name=$1 rc
	shift
	vt__run "$@"
	rc=$?
	if [ $rc -eq 0 ]; then
		vt_ok "$name"
	else
		vt_not_ok "$name" "command failed (exit $rc): $*"
		vt__comment <"$VT_LAST_OUT"
	fi
	return $rc
}

vt_check_fails() { # vt_check_fails NAME cmd...   ok iff cmd fails
	local name=$1 rc
	shift
	vt__run "$@"
	rc=$?
	if [ $rc -ne 0 ]; then
		vt_ok "$name"
		return 0
	fi
	vt_not_ok "$name" "command unexpectedly succeeded: $*"
	vt__comment <"$VT_LAST_OUT"
	return 1
}

vt_check_eq() { # vt_check_eq NAME EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then
		vt_ok "$1"
		return 0
	fi
	vt_not_ok "$1" "expected '$2', got '$3'"
	return 1
}

vt_check_true() { # vt_check_true NAME test-expression...  e.g. vt_check_true x [ 1 -lt 2 ]
	local name=$1
	shift
	if "$@"; then
		vt_ok "$name"
		return 0
	fi
	vt_not_ok "$name" "not true: $*"
	return 1
}

# Does text on stdin mention TPM response code $1?  tpm2-tools prints codes
# in several ways ("Esys_PCR_Reset(0x907)", "ErrorCode (0x00000907)").
# A format-one code (bit 7 set) given bare, e.g. TPM_RC_VALUE 0x084, matches
# whatever parameter / handle / session number bits (6, 8-11) come with it
# (0x084 matches 0x1c4); given with them, e.g. 0x1c4 (TPM_RC_VALUE +
# TPM_RC_P + TPM_RC_1), it must match exactly.
vt__mentions_rc() {
	local want=$(($1)) tok v
	for tok in $(grep -oiE '0x[0-9a-f]{1,8}\b' | sort -u); do
		v=$((tok))
		if [ $v -eq $want ]; then return 0; fi
		if [ $((want & 0x80)) -ne 0 ] && [ $((want & 0xF40)) -eq 0 ] &&
			[ $((v & 0x80)) -ne 0 ] &&
			[ $((v & ~0xFFF)) -eq 0 ] && [ $((v & 0xBF)) -eq $((want & 0xBF)) ]; then
			return 0
		fi
	done
	return 1
}

vt_check_rc() { # vt_check_rc NAME RC cmd...   cmd must fail with TPM rc RC
	local name=$1 want=$2 rc
	shift 2
	vt__run "$@"
	rc=$?
	if [ $rc -eq 0 ]; then
		vt_not_ok "$name" "command succeeded, expected TPM rc $want: $*"
		vt__comment <"$VT_LAST_OUT"
		return 1
	fi
	if vt__mentions_rc "$want" <"$VT_LAST_OUT"; then
		vt_ok "$name"
		return 0
	fi
	vt_not_ok "$name" "command failed (exit $rc) but not with TPM rc $want: $*"
	vt__comment <"$VT_LAST_OUT"
	return 1
}

vt_done() { # print the plan, exit 0 iff nothing failed
	if [ "$VT_FAILED" -ne 0 ] && [ -n "$VT_LOG" ] && [ -s "$VT_LOG" ]; then
		echo "# server log ($VT_LOG):"
		vt__comment 80 <"$VT_LOG"
	fi
	echo "1..$VT_N"
	if [ "$VT_FAILED" -ne 0 ]; then
		echo "# $VT_FAILED of $VT_N failed ($VT_TARGET)"
		exit 1
	fi
	exit 0
}

# ----------------------------------------------------------- server control

vt__mktmp() {
	if [ -n "$VT_TMP" ]; then return 0; fi
	VT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/vitrum-it.XXXXXX") || {
		echo "Bail out! cannot create a temporary directory"
		exit 2
	}
	VT_STATE="$VT_TMP/state"
	VT_LOG="$VT_TMP/server.log"
	mkdir -p "$VT_STATE"
	: >"$VT_LOG"
}

# A port P such that P and P+1 can both be bound on 127.0.0.1 right now;
# $1, if given, is tried first.
vt__free_port() {
	"$VT_PYTHON" - "${1:-}" <<'EOF'
import random, socket, sys
want = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] else None
for i in range(500):
    p = want if (i == 0 and want) else random.randrange(20000, 60000)
    socks, ok = [], True
    for q in (p, p + 1):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        socks.append(s)
        try:
            s.bind(("127.0.0.1", q))
        except OSError:
            ok = False
            break
    for s in socks:
        s.close()
    if ok:
        print(p)
        sys.exit(0)
sys.exit(1)
EOF
}

vt__alive() { # is process $1 running (and not a zombie)?
	local st
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
	st=$(sed -e 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ]
}

vt__launch() { # start the server in the background on $VT_PORT
	local a args=() flags=not-need-init,startup-clear
	echo "=== $(date +%T) start $VT_TARGET port $VT_PORT args: $*" >>"$VT_LOG"
	if [ "$VT_TARGET" = vitrum ]; then
		# shellcheck disable=SC2086 # VITRUM_ARGS: extra words, e.g. --no-sandbox
		"$VITRUM_BIN" serve --state "$VT_STATE" --port "$VT_PORT" \
			--listen 127.0.0.1 ${VITRUM_ARGS:-} "$@" >>"$VT_LOG" 2>&1 </dev/null &
		VT_SERVER_PID=$!
		TPM2TOOLS_TCTI="mssim:host=127.0.0.1,port=$VT_PORT"
		VT_RAW="$VT_PYTHON $VT_RAWTPM --proto mssim --port $VT_PORT"
		return 0
	fi
	# swtpm: map the vitrum start-up option onto swtpm's --flags; swtpm
	# knows no other vitrum option.
	while [ $# -gt 0 ]; do
		a=$1
		shift
		case "$a" in
		--startup)
			case "${1:-}" in
			none) flags=not-need-init ;;
			clear) flags=not-need-init,startup-clear ;;
			state) flags=not-need-init,startup-state ;;
			*) echo "# vt_server_start: unknown --startup '${1:-}'" ;;
			esac
			shift
			;;
		--startup=*)
			set -- --startup "${a#--startup=}" "$@"
			;;
		*) echo "# vt_server_start: swtpm ignores '$a'" ;;
		esac
	done
	swtpm socket --tpm2 \
		--server "type=tcp,port=$VT_PORT,bindaddr=127.0.0.1" \
		--ctrl "type=tcp,port=$((VT_PORT + 1)),bindaddr=127.0.0.1" \
		--tpmstate "dir=$VT_STATE" --flags "$flags" "${args[@]}" \
		>>"$VT_LOG" 2>&1 </dev/null &
	VT_SERVER_PID=$!
	TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$VT_PORT"
	VT_RAW="$VT_PYTHON $VT_RAWTPM --proto raw --port $VT_PORT"
}

# Wait (bounded) until the server answers a TPM command on its port.
vt__wait_ready() {
	local i out
	for i in $(seq 1 50); do
		if ! vt__alive "$VT_SERVER_PID"; then return 2; fi
		# shellcheck disable=SC2086
		if out=$($VT_RAW --timeout 1 ping 2>&1); then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

vt_server_start() { # vt_server_start [server args...]
	local attempt rc why=
	vt__mktmp
	if [ "$VT_TARGET" = vitrum ] && [ ! -x "$VITRUM_BIN" ]; then
		vt_not_ok "server start" "vitrum binary $VITRUM_BIN not found (build it, or set VITRUM_BIN / VT_TARGET=swtpm)"
		return 1
	fi
	if [ -n "$VT_SERVER_PID" ] && vt__alive "$VT_SERVER_PID"; then
		vt_server_stop >/dev/null
	fi
	VT_SERVER_ARGS=("$@")
	for attempt in 1 2 3; do
		# a restart keeps the port if it can (clients reconnect there)
		VT_PORT=$(vt__free_port "${VT_PORT_WANT:-}") || {
			vt_not_ok "server start" "no free port pair"
			return 1
		}
		vt__launch "$@"
		vt__wait_ready
		rc=$?
		if [ $rc -eq 0 ]; then
			export TPM2TOOLS_TCTI
			return 0
		fi
		VT_PORT_WANT=
		if [ $rc -eq 2 ]; then
			# died at once: maybe someone took the port in between; retry
			{ wait "$VT_SERVER_PID"; } 2>/dev/null
			why="server exited with status $? during start (>128: killed by signal N-128)"
			echo "=== $why (attempt $attempt)" >>"$VT_LOG"
			continue
		fi
		why="server did not answer on port $VT_PORT within 5 s"
		break
	done
	vt_not_ok "server start ($VT_TARGET $*)" "$why"
	vt__comment 40 <"$VT_LOG"
	vt_server_kill
	return 1
}

vt__stop() { # vt__stop SIGNAL; sets VT_SERVER_STATUS
	local sig=$1 i
	VT_SERVER_STATUS=
	if [ -z "$VT_SERVER_PID" ]; then return 0; fi
	kill "-$sig" "$VT_SERVER_PID" 2>/dev/null
	for i in $(seq 1 100); do
		vt__alive "$VT_SERVER_PID" || break
		sleep 0.1
	done
	if vt__alive "$VT_SERVER_PID"; then
		echo "=== server did not exit 10 s after SIG$sig; SIGKILL" >>"$VT_LOG"
		kill -KILL "$VT_SERVER_PID" 2>/dev/null
	fi
	{ wait "$VT_SERVER_PID"; } 2>/dev/null
	VT_SERVER_STATUS=$?
	echo "=== $(date +%T) server exited with status $VT_SERVER_STATUS after SIG$sig" >>"$VT_LOG"
	VT_SERVER_PID=
	return "$VT_SERVER_STATUS"
}

vt_server_stop() { vt__stop TERM; }
vt_server_kill() { vt__stop KILL; }

vt_server_restart() { # stop, start again (same state dir) with new args
	local rc
	vt_server_stop
	VT_PORT_WANT=$VT_PORT
	vt_server_start "$@"
	rc=$?
	VT_PORT_WANT=
	return $rc
}

vt_cleanup() {
	if [ -n "$VT_SERVER_PID" ]; then
		kill -KILL "$VT_SERVER_PID" 2>/dev/null
		{ wait "$VT_SERVER_PID"; } 2>/dev/null
		VT_SERVER_PID=
	fi
	if [ -n "$VT_TMP" ] && [ -d "$VT_TMP" ]; then
		if [ "${VT_KEEP:-0}" = 1 ]; then
			echo "# kept $VT_TMP"
		else
			rm -rf "$VT_TMP"
		fi
	fi
}

vt__on_timeout() {
	vt_not_ok "script timed out after ${VT_SCRIPT_TIMEOUT}s"
	vt_done
}

trap vt_cleanup EXIT
trap vt__on_timeout TERM
trap 'exit 130' INT

# Watchdog: SIGTERM the script if it runs too long; goes away by itself
# (within a second) once the script has ended.
(
	vt__me=$$
	for ((vt__i = 0; vt__i < VT_SCRIPT_TIMEOUT; vt__i++)); do
		sleep 1
		kill -0 "$vt__me" 2>/dev/null || exit 0
	done
	kill -TERM "$vt__me" 2>/dev/null
) >/dev/null 2>&1 </dev/null &

# ----------------------------------------------------------- small helpers

# Lower-case hex of a PCR: vt_pcr BANK INDEX
vt_pcr() {
	tpm2_pcrread "$1:$2" 2>/dev/null | awk -v idx="$2" '
		/^ +[0-9]+ *: *0x/ { i = $0; sub(/^ +/, "", i); sub(/ *:.*/, "", i)
			v = $0; sub(/^.*: *0x/, "", v)
			if (i == idx) { print tolower(v); exit } }'
}

# Digest (lower-case hex) of a file with openssl: vt_dgst ALG FILE
vt_dgst() {
	local out
	out=$(openssl dgst "-$1" -r "$2") || return 1
	echo "${out%% *}"
}

# Digest of hex-encoded data: vt_dgst_hex ALG HEX
vt_dgst_hex() {
	local out
	out=$(printf '%s' "$2" | xxd -r -p | openssl dgst "-$1" -r) || return 1
	echo "${out%% *}"
}

# Expected PCR after extending digest D into OLD: H(OLD || D)
vt_extend() { # vt_extend ALG OLDHEX DIGESTHEX
	vt_dgst_hex "$1" "$2$3"
}

# A field of tpm2_readclock's YAML: vt_clock_field FIELD (clock, time,
# reset_count, restart_count, safe)
vt_clock_field() {
	tpm2_readclock 2>/dev/null | awk -v f="$1" '{ k = $1; sub(/:$/, "", k) } k == f { print $2; exit }'
}
