#!/bin/bash
# Hostile bytes on the server's sockets (rawtpm.py): random and truncated
# byte strings, fewer than 10 bytes, size fields larger / smaller than what
# is sent, huge size fields, unknown tags and command codes, broken
# authorization areas, lying mssim framing.  Each input must get an error
# response (10 bytes, rc != 0) or a closed connection -- never a crash or a
# malformed answer -- and afterwards the server must still work.
. "$(dirname "$0")/lib.sh"

SEEDS=${VT_FUZZ_SEEDS:-"1 2"} # deterministic; one rawtpm.py fuzz run each
COUNT=${VT_FUZZ_COUNT:-200}   # inputs per seed (the first seed's run starts
# with ~90 hand-made cases, the others are random and mutated inputs only)

vt_server_start || vt_done
vt_check "server answers before the garbage" tpm2_getrandom --hex 8

only=
for seed in $SEEDS; do
	out="$VT_TMP/fuzz.$seed"
	# shellcheck disable=SC2086
	timeout 120 $VT_RAW --timeout 2 fuzz --seed "$seed" --count "$COUNT" $only >"$out" 2>&1
	rc=$?
	cats=$(sed -n 's/^category \([^:]*\):.*/\1/p' "$out")
	if [ -z "$cats" ]; then
		vt_not_ok "seed $seed: fuzz run produced a summary" "rawtpm.py exit $rc"
		vt__comment 30 <"$out"
		continue
	fi
	for cat in $cats; do
		line=$(grep "^category $cat:" "$out")
		if grep -q "^BAD [0-9]* $cat " "$out"; then
			vt_not_ok "seed $seed: $cat inputs: error or close each time" "${line#category }"
			grep "^BAD [0-9]* $cat " "$out" | vt__comment 10
		else
			vt_ok "seed $seed: $cat inputs: error or close each time (${line#category "$cat": })"
		fi
	done
	vt_check_eq "seed $seed: rawtpm.py fuzz exit status" 0 "$rc"
	vt_note "$(tail -n 1 "$out")"
	vt_check_true "seed $seed: server process still running" vt__alive "$VT_SERVER_PID"
	vt_check "seed $seed: tpm2_getrandom still works" tpm2_getrandom --hex 16
	only=--random-only
done

# ---- well-formed commands, awkward segmentation.  TCP is a byte stream,
# so a framed (mssim) server must cope with several commands in one segment
# and with a command split over many.  swtpm's data channel treats each
# read() as one whole command (QEMU never sends otherwise), so there this is
# only recorded.
# shellcheck disable=SC2086
$VT_RAW stream --count 20 >"$VT_TMP/stream" 2>&1
rc=$?
if [ "$VT_TARGET" = swtpm ]; then
	vt_note "swtpm, pipelined / byte-wise commands (not asserted): $(tr '\n' ' ' <"$VT_TMP/stream")"
else
	vt_check_eq "20 commands in one write and 1 command byte by byte all answered" 0 "$rc"
	[ "$rc" -ne 0 ] && vt__comment <"$VT_TMP/stream"
fi
vt_check "tpm2_getrandom after the segmentation tests" tpm2_getrandom --hex 16

# ---- unknown codes on the second port (mssim platform port / swtpm control
# channel).  Only codes that mean nothing are sent: real ones could power the
# TPM off, which would be a correct answer, not a bug.
# shellcheck disable=SC2086
"$VT_PYTHON" "$VT_RAWTPM" --port $((VT_PORT + 1)) ctrl \
	0xdeadbeef 0x7fffffff 0x00001000 0xffffffff 0x00000099 >"$VT_TMP/ctrl" 2>&1
vt_check_eq "second port reachable" 0 "$?"
vt_note "second port: $(tr '\n' ' ' <"$VT_TMP/ctrl")"
vt_check_true "server process still running after second-port garbage" vt__alive "$VT_SERVER_PID"

# ---- connect / disconnect storms
for i in $(seq 1 30); do
	"$VT_PYTHON" -c "import socket; socket.create_connection(('127.0.0.1', $VT_PORT), timeout=1).close()" 2>/dev/null
done
vt_check_true "server process still running after 30 empty connections" vt__alive "$VT_SERVER_PID"

# ---- a client that disconnects in the middle of a command (half a frame,
# then close; and a whole command whose reply is never read)
if [ "$VT_TARGET" = vitrum ]; then
	for i in $(seq 1 10); do
		"$VT_PYTHON" - "$VT_PORT" <<'PY' 2>/dev/null
import socket, struct, sys
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port), timeout=2)
cmd = struct.pack(">HII", 0x8001, 12, 0x17B) + struct.pack(">H", 8)
s.sendall(struct.pack(">IBI", 8, 0, 100) + cmd)   # says 100 bytes, sends 12
s.close()
s = socket.create_connection(("127.0.0.1", port), timeout=2)
s.sendall(struct.pack(">IBI", 8, 0, len(cmd)) + cmd)  # reply never read
s.close()
PY
	done
	vt_check "serves after clients vanished mid-command" tpm2_getrandom --hex 8
fi

# ---- still a working TPM.  (A mutated HashSequenceStart / HMAC_Start may
# have succeeded and left a sequence object loaded: flush them.)
vt_check "tpm2_flushcontext -t" tpm2_flushcontext -t
vt_check_eq "no transient objects left" "" "$(tpm2_getcap handles-transient 2>&1 | grep '^- ')"
vt_check "tpm2_getrandom at the end" tpm2_getrandom --hex 32
vt_check "tpm2_pcrread at the end" tpm2_pcrread sha256:0,16
vt_check "tpm2_getcap properties-fixed at the end" tpm2_getcap properties-fixed
if grep -Eiq 'segmentation|sanitizer|assert|core dumped|abort' "$VT_LOG"; then
	vt_not_ok "server log shows no crash / assertion"
	grep -Ei 'segmentation|sanitizer|assert|core dumped|abort' "$VT_LOG" | vt__comment 10
else
	vt_ok "server log shows no crash / assertion"
fi
vt_server_stop
vt_check_eq "SIGTERM after the garbage: exit status 0" 0 "$VT_SERVER_STATUS"

vt_done
