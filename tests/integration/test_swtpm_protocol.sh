#!/bin/bash
# The swtpm control channel, message for message against swtpm 0.7.1: the
# same scenario (swtpm_ctrl.py scenario: every control command, their
# error answers for bad sizes, unknown commands and wrong TPM state, clients
# vanishing mid-message, SHUTDOWN) runs against a fresh swtpm and a fresh
# vitrum swtpm, both started as QEMU starts them (UNIX control socket only,
# data over SET_DATAFD), and must print the same lines.  Also: the command
# line refuses what vitrum does not implement.
. "$(dirname "$0")/lib.sh"
vt__mktmp
CTL="$VT_LIB_DIR/swtpm_ctrl.py"

wait_sock() { # wait_sock PATH PID
	local i
	for i in $(seq 1 100); do
		[ -S "$1" ] && return 0
		vt__alive "$2" || return 1
		sleep 0.05
	done
	return 1
}

run_scenario() { # run_scenario NAME CMD... ; output in $VT_TMP/NAME.out
	local name=$1 pid rc
	shift
	mkdir -p "$VT_TMP/$name.state"
	"$@" --tpm2 --ctrl "type=unixio,path=$VT_TMP/$name.sock" --tpmstate "dir=$VT_TMP/$name.state" \
		--log "file=$VT_TMP/$name.log,level=20" 2>>"$VT_TMP/$name.log" &
	pid=$!
	if ! wait_sock "$VT_TMP/$name.sock" $pid; then
		vt_not_ok "$name starts" "no control socket"
		return 1
	fi
	"$VT_PYTHON" "$CTL" --unix "$VT_TMP/$name.sock" --wait 0.5 scenario >"$VT_TMP/$name.out" 2>&1
	rc=$?
	# SHUTDOWN ends the process
	for _ in $(seq 1 100); do vt__alive $pid || break; sleep 0.05; done
	if vt__alive $pid; then
		vt_not_ok "$name exits after SHUTDOWN"
		kill -KILL $pid
	else
		vt_ok "$name exits after SHUTDOWN"
	fi
	wait $pid 2>/dev/null
	return $rc
}

run_scenario swtpm swtpm socket
vt_check_true "swtpm scenario ran" [ -s "$VT_TMP/swtpm.out" ]
run_scenario vitrum "$VITRUM_BIN" swtpm socket
vt_check_true "vitrum scenario ran to SHUTDOWN" grep -q '^SHUTDOWN: 0 closed=1$' "$VT_TMP/vitrum.out"

# every line the same, line by line, except the one documented difference
paste -d '\n' "$VT_TMP/swtpm.out" "$VT_TMP/vitrum.out" | while IFS= read -r want && IFS= read -r got; do
	case "$got" in
	*"(differs)"*) continue ;;
	esac
	vt_check_eq "same answer as swtpm: ${got%%:*}" "$want" "$got"
done >"$VT_TMP/compare.tap"
while IFS= read -r line; do
	case "$line" in
	"ok "*) vt_ok "${line#ok * - }" ;;
	"not ok "*) vt_not_ok "${line#not ok * - }" ;;
	*) echo "$line" ;;
	esac
done <"$VT_TMP/compare.tap"
vt_check_eq "as many lines as swtpm" "$(wc -l <"$VT_TMP/swtpm.out")" "$(wc -l <"$VT_TMP/vitrum.out")"
vt_check_eq "vitrum takes a second SET_DATAFD" "SET_DATAFD again (differs): 0" \
	"$(grep -F 'SET_DATAFD again' "$VT_TMP/vitrum.out")"
# a few answers spelled out, so a bug shared by both cannot hide
vt_check_true "unknown command answers TPM_BAD_ORDINAL" grep -qx 'unknown command 0xee: 10' "$VT_TMP/vitrum.out"
vt_check_true "data before INIT answers TPM_RC_FAILURE" \
	grep -qx 'ReadClock before INIT: 0x101 80010000000a00000101' "$VT_TMP/vitrum.out"
vt_check_true "INIT resets the locality to 0" \
	grep -qx 'PCR_Reset 20 after INIT (locality back to 0): 0x907' "$VT_TMP/vitrum.out"
vt_check_true "HASH_START sets tpmEstablished" \
	grep -qx 'GET_TPMESTABLISHED after HASH_START: 0 01000000' "$VT_TMP/vitrum.out"
vt_check_true "the server survives clients leaving mid-command" \
	grep -qx 'GetRandom after a client left mid-command: 0x0 20' "$VT_TMP/vitrum.out"

# TCP control channel: SET_DATAFD cannot carry a descriptor there
mkdir -p "$VT_TMP/tcp.state"
PORT=$(vt__free_port) || exit 2
"$VITRUM_BIN" swtpm socket --tpm2 --server type=tcp,port=$PORT --ctrl type=tcp,port=$((PORT + 1)) \
	--tpmstate dir="$VT_TMP/tcp.state" 2>"$VT_TMP/tcp.log" &
TPID=$!
for _ in $(seq 1 100); do "$VT_PYTHON" "$CTL" --tcp $((PORT + 1)) config >/dev/null 2>&1 && break; sleep 0.05; done
vt_check_eq "SET_DATAFD over TCP answers TPM_IOERROR (as swtpm)" "31" \
	"$((16#$("$VT_PYTHON" "$CTL" --tcp $((PORT + 1)) raw 00000010 | cut -c1-8)))"
vt_check_eq "INIT over TCP" "result=0" "$("$VT_PYTHON" "$CTL" --tcp $((PORT + 1)) init)"
vt_check "data over TCP after INIT" "$VT_PYTHON" "$CTL" --data-tcp $PORT tpm 80010000000c000001440000
vt_check_eq "SHUTDOWN over TCP" "result=0 closed=1" "$("$VT_PYTHON" "$CTL" --tcp $((PORT + 1)) shutdown)"
for _ in $(seq 1 100); do vt__alive $TPID || break; sleep 0.05; done
vt_check_true "the TCP server exits after SHUTDOWN" bash -c "! kill -0 $TPID 2>/dev/null"
wait $TPID 2>/dev/null

# tpmEstablished is kept across power cycles (PC Client PTP TPM_ACCESS):
# set by HASH_START, cleared only by RESET_TPMESTABLISHED at locality 3/4
est_server() { # est_server STATEDIR: start a TCP server on it, wait, set EPORT/EPID
	EPORT=$(vt__free_port) || exit 2
	"$VITRUM_BIN" swtpm socket --tpm2 --server type=tcp,port=$EPORT --ctrl type=tcp,port=$((EPORT + 1)) \
		--tpmstate dir="$1" 2>>"$VT_TMP/est.log" &
	EPID=$!
	for _ in $(seq 1 100); do "$VT_PYTHON" "$CTL" --tcp $((EPORT + 1)) config >/dev/null 2>&1 && break; sleep 0.05; done
	"$VT_PYTHON" "$CTL" --tcp $((EPORT + 1)) init >/dev/null
}
est_stop() {
	"$VT_PYTHON" "$CTL" --tcp $((EPORT + 1)) shutdown >/dev/null
	for _ in $(seq 1 100); do vt__alive $EPID || break; sleep 0.05; done
	wait $EPID 2>/dev/null
}
mkdir -p "$VT_TMP/est.state"
est_server "$VT_TMP/est.state"
vt_check_eq "a new TPM is not established" "result=0 bit=0" "$("$VT_PYTHON" "$CTL" --tcp $((EPORT + 1)) est)"
"$VT_PYTHON" "$CTL" --tcp $((EPORT + 1)) hash-start >/dev/null
"$VT_PYTHON" "$CTL" --tcp $((EPORT + 1)) hash-end >/dev/null
vt_check_eq "HASH_START sets it" "result=0 bit=1" "$("$VT_PYTHON" "$CTL" --tcp $((EPORT + 1)) est)"
est_stop
est_server "$VT_TMP/est.state"
vt_check_eq "tpmEstablished survives a restart of the server" "result=0 bit=1" \
	"$("$VT_PYTHON" "$CTL" --tcp $((EPORT + 1)) est)"
vt_check_eq "RESET_TPMESTABLISHED from locality 0 is refused" "result=61" \
	"$("$VT_PYTHON" "$CTL" --tcp $((EPORT + 1)) reset-est 0)"
vt_check_eq "RESET_TPMESTABLISHED from locality 3" "result=0" "$("$VT_PYTHON" "$CTL" --tcp $((EPORT + 1)) reset-est 3)"
vt_check_eq "... clears it" "result=0 bit=0" "$("$VT_PYTHON" "$CTL" --tcp $((EPORT + 1)) est)"
est_stop
est_server "$VT_TMP/est.state"
vt_check_eq "the reset survives a restart too" "result=0 bit=0" "$("$VT_PYTHON" "$CTL" --tcp $((EPORT + 1)) est)"
est_stop

# --log file= follows logrotate: SIGHUP opens the file again by name
mkdir -p "$VT_TMP/rot.state"
"$VITRUM_BIN" swtpm socket --tpm2 --ctrl type=unixio,path="$VT_TMP/rot.sock" --tpmstate dir="$VT_TMP/rot.state" \
	--log file="$VT_TMP/rot.log",level=20 --flags not-need-init 2>"$VT_TMP/rot.err" &
rot_pid=$!
if wait_sock "$VT_TMP/rot.sock" $rot_pid; then
	"$VT_PYTHON" "$CTL" --unix "$VT_TMP/rot.sock" caps >/dev/null
	mv "$VT_TMP/rot.log" "$VT_TMP/rot.log.1"
	kill -HUP $rot_pid
	sleep 0.3
	vt_check_eq "the server lives through SIGHUP" "result=0 bit=0" \
		"$("$VT_PYTHON" "$CTL" --unix "$VT_TMP/rot.sock" est)"
	vt_check_true "after SIGHUP the log goes to a new file of the same name" \
		grep -q "control command 4 " "$VT_TMP/rot.log"
	vt_check_true "... and the rotated file kept the lines before it" \
		grep -q "control command 1 " "$VT_TMP/rot.log.1"
	vt_check_fails "... and nothing after it" grep -q "control command 4 " "$VT_TMP/rot.log.1"
else
	vt_not_ok "vitrum swtpm with --log file= starts"
fi
kill -TERM $rot_pid 2>/dev/null
wait $rot_pid 2>/dev/null

# the command line refuses what it does not implement, and says why
vt_check_fails "refuses an unknown option" "$VITRUM_BIN" swtpm socket --tpm2 --seccomp action=none \
	--ctrl type=unixio,path="$VT_TMP/x.sock" --tpmstate dir="$VT_TMP/x"
vt_check_true "... with a message" grep -q "not supported" "$VT_LAST_OUT"
vt_check_fails "refuses an unknown --ctrl parameter" "$VITRUM_BIN" swtpm socket --tpm2 \
	--ctrl type=unixio,path="$VT_TMP/x.sock",uid=0 --tpmstate dir="$VT_TMP/x"
vt_check_fails "refuses --server ...,disconnect" "$VITRUM_BIN" swtpm socket --tpm2 \
	--server type=tcp,port=1,disconnect --flags not-need-init --tpmstate dir="$VT_TMP/x"
vt_check_fails "refuses an unknown --key parameter" "$VITRUM_BIN" swtpm socket --tpm2 \
	--ctrl type=unixio,path="$VT_TMP/x.sock" --tpmstate dir="$VT_TMP/x" --key file=/dev/null,kdf=x
vt_check_fails "refuses TPM 1.2 (no --tpm2)" "$VITRUM_BIN" swtpm socket \
	--ctrl type=unixio,path="$VT_TMP/x.sock" --tpmstate dir="$VT_TMP/x"
vt_check_fails "refuses chardev" "$VITRUM_BIN" swtpm chardev --tpm2
vt_check_fails "refuses startup-deactivated" "$VITRUM_BIN" swtpm socket --tpm2 \
	--ctrl type=unixio,path="$VT_TMP/x.sock" --tpmstate dir="$VT_TMP/x" --flags startup-deactivated
ln -s "$VITRUM_BIN" "$VT_TMP/swtpm"
vt_check "a symlink named swtpm is vitrum swtpm" "$VT_TMP/swtpm" socket --print-capabilities
vt_check_true "... and prints capabilities" grep -q '"tpm-2.0"' "$VT_LAST_OUT"
vt_done
