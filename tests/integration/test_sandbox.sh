#!/bin/bash
# The daemon's hardening is really in force: a seccomp filter on every
# thread, no core dumps, and the server still serves under it.  With
# --no-sandbox there is no filter.
. "$(dirname "$0")/lib.sh"

if [ "$VT_TARGET" != vitrum ]; then
	vt_skip "sandbox" "vitrum only"
	vt_done
fi

status_field() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$VT_SERVER_PID/status"; }

vt_server_start || vt_done
# Serve a few commands first, so connection threads exist and have run.
vt_check "serves under the sandbox" tpm2_getrandom --hex 8
vt_check "sessions and sequences under the sandbox" tpm2_pcrevent 16 "$VT_LIB_DIR/lib.sh"
vt_check "state writes under the sandbox" tpm2_setclock 99999999999
if grep -q "no sandbox" "$VT_LOG"; then
	vt_skip "seccomp filter active" "sanitizer build runs without the sandbox"
else
	vt_check_eq "seccomp filter mode" 2 "$(status_field Seccomp)"
	vt_check_eq "no_new_privs set" 1 "$(status_field NoNewPrivs)"
	bad=""
	for t in /proc/"$VT_SERVER_PID"/task/*; do
		m=$(awk '$1 == "Seccomp:" { print $2 }' "$t/status")
		[ "$m" = 2 ] || bad="$bad $(basename "$t"):$m"
	done
	if [ -z "$bad" ]; then vt_ok "every thread filtered"; else vt_not_ok "every thread filtered" "$bad"; fi
fi
vt_check_eq "core dumps off" 0 "$(awk '/^Max core file size/ { print $5 }' "/proc/$VT_SERVER_PID/limits")"
vt_check "still serves after all that" tpm2_pcrread sha256:16
vt_server_stop
vt_check_true "clean exit under the sandbox" grep -q "state saved" "$VT_LOG"

vt_server_start --no-sandbox || vt_done
vt_check "serves without the sandbox" tpm2_getrandom --hex 8
vt_check_eq "--no-sandbox: no seccomp filter" 0 "$(status_field Seccomp)"
vt_server_stop
vt_done
