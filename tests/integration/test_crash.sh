#!/bin/bash
# Crash test: a client streams durable state changes (TPM2_ClockSet to ever
# larger values) while the server is killed with SIGKILL at random moments
# and restarted.  After every restart the state must load and hold at least
# every acknowledged change.  CRASH_KILLS sets the number of kills (default
# 20; `make soak` runs 500).
. "$(dirname "$0")/lib.sh"

if [ "$VT_TARGET" != vitrum ]; then
	vt_skip "crash test" "vitrum only (swtpm 0.7 does not fsync)"
	vt_done
fi
KILLS=${CRASH_KILLS:-20}
VT_SCRIPT_TIMEOUT=$((120 + KILLS * 3))
client="$VT_PYTHON $VT_LIB_DIR/crash_client.py"
RANDOM=${CRASH_SEED:-4242}

vt_server_start || vt_done
lost=0; unloadable=0; checked=0; worst=""
for i in $(seq 1 "$KILLS"); do
	rm -f "$VT_TMP/ready"
	$client --port "$VT_PORT" --ready "$VT_TMP/ready" load >"$VT_TMP/acked" 2>"$VT_TMP/client.err" &
	cpid=$!
	# once the stream runs (bounded wait: a slow machine must not make the
	# kill land before it), 0 .. 250 ms more, then SIGKILL mid-stream
	for _ in $(seq 1 100); do [ -e "$VT_TMP/ready" ] && break; sleep 0.05; done
	sleep "0.$(printf '%03d' $((RANDOM % 250)))"
	vt_server_kill
	wait "$cpid"
	acked=$(sed -n 's/.*clock=\([0-9]*\).*/\1/p' "$VT_TMP/acked")
	if ! vt_server_start; then
		unloadable=$((unloadable + 1)); worst="kill $i: state did not load"
		break
	fi
	now=$($client --port "$VT_PORT" check | sed -n 's/.*clock=\([0-9]*\).*/\1/p')
	[ -n "$acked" ] || continue # killed before the first acknowledgement
	checked=$((checked + 1))
	if [ -z "$now" ] || [ "$now" -lt "$acked" ]; then
		lost=$((lost + 1)); worst="kill $i: acknowledged clock $acked, after restart $now"
	fi
done
vt_note "$KILLS kills, $checked with acknowledged changes; last: acknowledged $acked, after restart $now"
vt_check_true "kills hit a stream of acknowledged changes" [ "$checked" -ge $((KILLS * 3 / 4)) ]
vt_check_eq "state loads after every kill -9 ($KILLS kills)" 0 "$unloadable"
vt_check_eq "no acknowledged ClockSet lost" 0 "$lost"
[ -n "$worst" ] && vt_note "$worst"
vt_check "TPM still serves tpm2-tools after the crashes" tpm2_getrandom --hex 8
vt_server_stop
vt_done
