#!/bin/bash
# Crash test: a client streams durable state changes (TPM2_ClockSet to ever
# larger values) while the server is killed with SIGKILL at random moments
# and restarted.  After every restart the state must load and hold at least
# every acknowledged change.  CRASH_KILLS sets the number of kills (default
# 20; `make soak` runs 500).
KILLS=${CRASH_KILLS:-20}
# lib.sh starts its watchdog when sourced: give it room for every kill
VT_SCRIPT_TIMEOUT=$((120 + KILLS * 3))
. "$(dirname "$0")/lib.sh"

if [ "$VT_TARGET" != vitrum ]; then
	vt_skip "crash test" "vitrum only (swtpm 0.7 does not fsync)"
	vt_done
fi
client="$VT_PYTHON $VT_LIB_DIR/crash_client.py"
RANDOM=${CRASH_SEED:-4242}

vt_server_start || vt_done
# An NV counter incremented in the same stream: its increments are journal
# records, the ClockSets full commits, so both paths are crashed.
NV=0x01500042
vt_check "define the NV counter" tpm2_nvdefine $NV -C o -s 8 -a "ownerread|ownerwrite|authread|authwrite|nt=counter|no_da"
vt_check "first increment" tpm2_nvincrement $NV -C $NV
# And a 64-byte index written with a numbered pattern: after a restart it
# must hold exactly the last acknowledged write (or the one in flight).
DATA=0x01500043
vt_check "define the data index" tpm2_nvdefine $DATA -C o -s 64 -a "ownerread|ownerwrite|authread|authwrite|no_da"
next_data=1; acked_data=-1
lost=0; lost_ctr=0; lost_data=0; unloadable=0; checked=0; worst=""
for i in $(seq 1 "$KILLS"); do
	rm -f "$VT_TMP/ready"
	CRASH_DATA_NEXT=$next_data $client --port "$VT_PORT" --nv $NV --data $DATA --ready "$VT_TMP/ready" load >"$VT_TMP/acked" 2>"$VT_TMP/client.err" &
	cpid=$!
	# once the stream runs (bounded wait: a slow machine must not make the
	# kill land before it), 0 .. 250 ms more, then SIGKILL mid-stream
	for _ in $(seq 1 100); do [ -e "$VT_TMP/ready" ] && break; sleep 0.05; done
	sleep "0.$(printf '%03d' $((RANDOM % 250)))"
	vt_server_kill
	wait "$cpid"
	acked=$(sed -n 's/.*clock=\([0-9]*\).*/\1/p' "$VT_TMP/acked")
	acked_ctr=$(sed -n 's/.*counter=\([0-9]*\).*/\1/p' "$VT_TMP/acked")
	a_data=$(sed -n 's/.* data=\(-\{0,1\}[0-9]*\).*/\1/p' "$VT_TMP/acked")
	n_data=$(sed -n 's/.*next=\([0-9]*\).*/\1/p' "$VT_TMP/acked")
	[ -n "$a_data" ] && [ "$a_data" -ge 0 ] && acked_data=$a_data
	[ -n "$n_data" ] && next_data=$n_data
	if ! vt_server_start; then
		unloadable=$((unloadable + 1)); worst="kill $i: state did not load"
		break
	fi
	line=$(CRASH_DATA_MAX=$next_data $client --port "$VT_PORT" --nv $NV --data $DATA check)
	now_data=$(sed -n 's/.*data=\(-\{0,1\}[0-9]*\).*/\1/p' <<<"$line")
	now=$(sed -n 's/.*clock=\([0-9]*\).*/\1/p' <<<"$line")
	now_ctr=$(sed -n 's/.*counter=\([0-9]*\).*/\1/p' <<<"$line")
	[ -n "$acked" ] || continue # killed before the first acknowledgement
	checked=$((checked + 1))
	if [ -z "$now" ] || [ "$now" -lt "$acked" ]; then
		lost=$((lost + 1)); worst="kill $i: acknowledged clock $acked, after restart $now"
	fi
	# the last acknowledged write, or the one that was in flight
	if [ "$acked_data" -ge 0 ] && { [ -z "$now_data" ] || [ "$now_data" -lt "$acked_data" ] ||
		[ "$now_data" -gt $((acked_data + 1)) ]; }; then
		lost_data=$((lost_data + 1)); worst="kill $i: acknowledged write $acked_data, index holds $now_data"
	fi
	[ -n "$now_data" ] && [ "$now_data" -ge 0 ] && acked_data=$now_data
	if [ -z "$now_ctr" ] || [ "$now_ctr" -lt "$acked_ctr" ]; then
		lost_ctr=$((lost_ctr + 1)); worst="kill $i: acknowledged counter $acked_ctr, after restart $now_ctr"
	fi
done
vt_note "$KILLS kills, $checked with acknowledged changes; last: acknowledged $acked, after restart $now"
vt_check_true "kills hit a stream of acknowledged changes" [ "$checked" -ge $((KILLS * 3 / 4)) ]
vt_check_eq "state loads after every kill -9 ($KILLS kills)" 0 "$unloadable"
vt_check_eq "no acknowledged ClockSet lost" 0 "$lost"
vt_check_eq "no acknowledged NV_Increment lost; the counter never went back" 0 "$lost_ctr"
vt_note "counter: last acknowledged $acked_ctr, after restart $now_ctr"
vt_check_eq "every acknowledged NV_Write reads back exactly" 0 "$lost_data"
vt_note "data: last write read back: $acked_data"
[ -n "$worst" ] && vt_note "$worst"
vt_check "TPM still serves tpm2-tools after the crashes" tpm2_getrandom --hex 8
vt_server_stop
vt_done
