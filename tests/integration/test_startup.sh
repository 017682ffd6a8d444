#!/bin/bash
# TPM2_Startup / TPM2_Shutdown / self tests through tpm2-tools, plus the
# server's own start-up modes (--startup clear|none|state) and its process
# behaviour (clean SIGTERM, port already taken, unusable state directory).
. "$(dirname "$0")/lib.sh"

# Algorithms TPM2_IncrementalSelfTest must accept on vitrum now.  (The TPM
# answers TPM_RC_VALUE for an algorithm it does not implement.)  Extend as
# vitrum grows.
SELFTEST_ALGS="sha1 sha256 sha384 sha512 hmac"
# Asked about too, but on vitrum only recorded, not asserted (RSA/ECC/AES come
# later).  swtpm implements them, so there they are asserted.
SELFTEST_LATER="rsa ecc aes"

H64a=$(printf 'a%.0s' $(seq 64))

vt_server_start || vt_done

# ---- the server started the TPM itself (firmware-like default)
vt_check "tools work with no explicit startup" tpm2_getrandom --hex 8
pcr_before_startup() {
	tpm2_pcrextend "16:sha256=$H64a" >/dev/null 2>&1
	vt_pcr sha256 16
}
p16=$(pcr_before_startup)
rc0=$(vt_clock_field reset_count)

# ---- Startup on an already started TPM: the TPM answers TPM_RC_INITIALIZE,
# which tpm2_startup treats as success.  Nothing may change.
vt_check "tpm2_startup -c on a started TPM exits 0" tpm2_startup -c
vt_check "tpm2_startup (STATE) on a started TPM exits 0" tpm2_startup
vt_check "raw TPM2_Startup(CLEAR) on a started TPM gives TPM_RC_INITIALIZE" \
	bash -c "$VT_RAW send 80010000000c000001440000 | grep -q '^rc=0x00000100 len=10 '"
vt_check "tools still work after the redundant startups" tpm2_getrandom --hex 16
vt_check_eq "PCR 16 unchanged by the redundant startups" "$p16" "$(vt_pcr sha256 16)"
vt_check_eq "reset_count unchanged by the redundant startups" "$rc0" "$(vt_clock_field reset_count)"

# ---- self tests
vt_check "tpm2_selftest" tpm2_selftest
vt_check "tpm2_selftest -f" tpm2_selftest -f
vt_check "tpm2_selftest --fulltest" tpm2_selftest --fulltest
vt_check "tpm2_gettestresult" tpm2_gettestresult
cp "$VT_LAST_OUT" "$VT_TMP/gtr.out"
vt_check "tpm2_gettestresult reports success" grep -Eq '^status:[[:space:]]+success' "$VT_TMP/gtr.out"
vt_check "tpm2_incrementalselftest (no algorithms)" tpm2_incrementalselftest
for a in $SELFTEST_ALGS; do
	vt_check "tpm2_incrementalselftest $a" tpm2_incrementalselftest "$a"
done
# shellcheck disable=SC2086
vt_check "tpm2_incrementalselftest $SELFTEST_ALGS" tpm2_incrementalselftest $SELFTEST_ALGS
for a in $SELFTEST_LATER; do
	if [ "$VT_TARGET" = swtpm ]; then
		vt_check "tpm2_incrementalselftest $a" tpm2_incrementalselftest "$a"
	else
		tpm2_incrementalselftest "$a" >"$VT_TMP/ist" 2>&1
		vt_note "tpm2_incrementalselftest $a: exit $? (not asserted yet): $(tr '\n' ' ' <"$VT_TMP/ist" | cut -c1-150)"
	fi
done
if [ "$VT_TARGET" = swtpm ]; then
	vt_check "tpm2_incrementalselftest sha256 rsa" tpm2_incrementalselftest sha256 rsa
fi
vt_check "tpm2_gettestresult after the self tests" tpm2_gettestresult

# ---- Shutdown: both kinds succeed on a running TPM; the TPM keeps answering
# until it is powered off.
vt_check "tpm2_shutdown -c" tpm2_shutdown -c
vt_check "tpm2_shutdown --clear" tpm2_shutdown --clear
vt_check "tpm2_shutdown (STATE)" tpm2_shutdown
vt_check "commands still work after Shutdown" tpm2_getrandom --hex 8

# ---- clean stop: SIGTERM ends the server with status 0
vt_server_stop
vt_check_eq "SIGTERM: server exits with status 0" 0 "$VT_SERVER_STATUS"

# ---- --startup none: the TPM waits for the client's TPM2_Startup
vt_server_start --startup none || vt_done
vt_check_rc "--startup none: commands fail with TPM_RC_INITIALIZE" 0x100 tpm2_getrandom 8
vt_check "--startup none: tpm2_startup -c" tpm2_startup -c
vt_check "--startup none: tools work after tpm2_startup -c" tpm2_getrandom --hex 8
vt_check "--startup none: second tpm2_startup -c is harmless" tpm2_startup -c
vt_check "--startup none: tools still work" tpm2_getrandom --hex 8

# ---- --startup state: resumes after Shutdown(STATE) ...
vt_check "extend PCR 8" tpm2_pcrextend "8:sha256=$H64a"
p8=$(vt_pcr sha256 8)
vt_check "tpm2_shutdown (STATE) before stop" tpm2_shutdown
vt_server_restart --startup state || vt_done
vt_check "--startup state after Shutdown(STATE): tools work" tpm2_getrandom --hex 8
vt_check_eq "--startup state: PCR 8 kept" "$p8" "$(vt_pcr sha256 8)"
# ... and without a Shutdown(STATE) before it, that startup fails and the TPM
# waits for the client's TPM2_Startup.
vt_server_restart --startup state || vt_done
vt_check_rc "--startup state without Shutdown(STATE): TPM not started" 0x100 tpm2_getrandom 8
vt_check "then tpm2_startup -c works" tpm2_startup -c
vt_check "and tools work" tpm2_getrandom --hex 8
vt_check_eq "and PCR 8 is reset" "$(printf '0%.0s' $(seq 64))" "$(vt_pcr sha256 8)"

# ---- a second server on a port that is taken must exit non-zero at once
mkdir -p "$VT_TMP/state2"
if [ "$VT_TARGET" = vitrum ]; then
	timeout 10 "$VITRUM_BIN" serve ${VITRUM_ARGS:-} --state "$VT_TMP/state2" --port "$VT_PORT" \
		--listen 127.0.0.1 >"$VT_TMP/second.out" 2>&1 </dev/null
else
	timeout 10 swtpm socket --tpm2 \
		--server "type=tcp,port=$VT_PORT,bindaddr=127.0.0.1" \
		--ctrl "type=tcp,port=$((VT_PORT + 1)),bindaddr=127.0.0.1" \
		--tpmstate "dir=$VT_TMP/state2" --flags not-need-init,startup-clear \
		>"$VT_TMP/second.out" 2>&1 </dev/null
fi
rc=$?
vt_check_true "port taken: second server exits non-zero (not hanging)" [ "$rc" -ne 0 -a "$rc" -ne 124 -a "$rc" -ne 137 ]
vt_check_true "port taken: second server says why" [ -s "$VT_TMP/second.out" ]
vt_note "second server (exit $rc): $(head -n 3 "$VT_TMP/second.out" | tr '\n' ' ')"
if [ "$VT_TARGET" = vitrum ]; then
	# "a one-line error" (allow one more line, e.g. a start-up log line)
	vt_check_true "port taken: error is short (1-2 lines)" [ "$(grep -c . "$VT_TMP/second.out")" -le 2 ]
fi
vt_check "first server unaffected by the second one" tpm2_getrandom --hex 8

# ---- an unusable state directory (a regular file) is refused at start.
# swtpm only notices when the TPM is first initialised, which with
# startup-clear is at start too, so both are checked the same way.
: >"$VT_TMP/notadir"
port2=$(vt__free_port)
if [ "$VT_TARGET" = vitrum ]; then
	timeout 10 "$VITRUM_BIN" serve ${VITRUM_ARGS:-} --state "$VT_TMP/notadir" --port "$port2" \
		--listen 127.0.0.1 >"$VT_TMP/third.out" 2>&1 </dev/null
else
	timeout 10 swtpm socket --tpm2 \
		--server "type=tcp,port=$port2,bindaddr=127.0.0.1" \
		--ctrl "type=tcp,port=$((port2 + 1)),bindaddr=127.0.0.1" \
		--tpmstate "dir=$VT_TMP/notadir" --flags not-need-init,startup-clear \
		>"$VT_TMP/third.out" 2>&1 </dev/null
fi
rc=$?
vt_check_true "state dir unusable: server exits non-zero (not hanging)" [ "$rc" -ne 0 -a "$rc" -ne 124 -a "$rc" -ne 137 ]
vt_note "server on unusable state dir (exit $rc): $(head -n 3 "$VT_TMP/third.out" | tr '\n' ' ')"
if [ "$VT_TARGET" = vitrum ]; then
	vt_check_true "state dir unusable: server says why" [ -s "$VT_TMP/third.out" ]
	vt_check_true "state dir unusable: error is short (1-2 lines)" [ "$(grep -c . "$VT_TMP/third.out")" -le 2 ]
fi

vt_server_stop
vt_check_eq "final SIGTERM: exit status 0" 0 "$VT_SERVER_STATUS"
vt_done
