#!/bin/bash
# Power cycles: TPM Resume (Shutdown(STATE) + Startup(STATE)), TPM Restart
# (Shutdown(STATE) + Startup(CLEAR)), TPM Reset (Startup(CLEAR) with no saved
# state), Startup(STATE) with nothing saved, and the clock across stops.
#
# The server is restarted with --startup none so that the client's
# tpm2_startup is the TPM2_Startup after _TPM_Init, as on real hardware.
. "$(dirname "$0")/lib.sh"

# PCRs extended before each power cycle (0-15 are saved by Shutdown(STATE);
# 16 and 23 are not: PC Client PTP PCR attributes, where only PCRs 0-15
# have stateSave; swtpm/libtpms behaves the same).
SAVED_PCRS="0 7 8 15"
UNSAVED_PCRS="16 23"
Z64=$(printf '0%.0s' $(seq 64))
F64=$(printf 'f%.0s' $(seq 64))

vt_server_start || vt_done

declare -A P # sha256 PCR values, P[index]
pcrs() {
	local i v
	P=()
	while read -r i v; do P[$i]=$v; done < <(tpm2_pcrread sha256 2>/dev/null | awk '
		/^ +[0-9]+ *: *0x/ { i = $0; sub(/^ +/, "", i); sub(/ *:.*/, "", i)
			v = $0; sub(/^.*: *0x/, "", v); print i, tolower(v) }')
}
declare -A CLK
readclock() {
	local k v
	CLK=()
	while read -r k v; do CLK[${k%:}]=$v; done < <(tpm2_readclock 2>/dev/null)
}
extend_all() { # extend every PCR in SAVED_PCRS and UNSAVED_PCRS once
	local i spec=
	for i in $SAVED_PCRS $UNSAVED_PCRS; do
		spec="$spec $i:sha256=$(openssl rand -hex 32)"
	done
	# shellcheck disable=SC2086
	vt_check "extend PCRs $SAVED_PCRS $UNSAVED_PCRS" tpm2_pcrextend $spec
}

# ------------------------------------------------ TPM Resume
extend_all
pcrs
declare -A BEFORE
for i in "${!P[@]}"; do BEFORE[$i]=${P[$i]}; done
readclock
r0=${CLK[reset_count]:-x}
s0=${CLK[restart_count]:-x}
clk0=${CLK[clock]:-0}
vt_check_true "PCR 0 was extended (not zero)" [ "${BEFORE[0]:-}" != "$Z64" -a -n "${BEFORE[0]:-}" ]
vt_check "tpm2_shutdown (STATE)" tpm2_shutdown
vt_server_restart --startup none || vt_done
vt_check_rc "after power cycle: TPM_RC_INITIALIZE until TPM2_Startup" 0x100 tpm2_pcrread sha256:0
vt_check "tpm2_startup (STATE): TPM Resume" tpm2_startup
pcrs
for i in $SAVED_PCRS; do
	vt_check_eq "Resume: PCR $i kept its value" "${BEFORE[$i]:-}" "${P[$i]:-}"
done
bad=
for i in $(seq 0 15); do [ "${P[$i]:-}" = "${BEFORE[$i]:-}" ] || bad="$bad $i"; done
vt_check_eq "Resume: all of PCRs 0-15 as before Shutdown(STATE)" "" "$bad"
for i in $UNSAVED_PCRS; do
	vt_check_eq "Resume: PCR $i reset to zero (no stateSave)" "$Z64" "${P[$i]:-}"
done
bad=
for i in $(seq 17 22); do [ "${P[$i]:-}" = "$F64" ] || bad="$bad $i"; done
vt_check_eq "Resume: PCRs 17-22 all ones (PC Client D-RTM initial value)" "" "$bad"
readclock
vt_check_eq "Resume: restart_count incremented" "$((s0 + 1))" "${CLK[restart_count]:-}"
vt_check_eq "Resume: reset_count unchanged" "$r0" "${CLK[reset_count]:-}"
vt_check_true "Resume: clock did not go back (${clk0} -> ${CLK[clock]:-})" [ "${CLK[clock]:-0}" -ge "$clk0" ]
vt_check "Resume: tools work" tpm2_getrandom --hex 8

# a second Startup is refused by the TPM (TPM_RC_INITIALIZE); tpm2_startup
# treats that as success, so send it raw
vt_check "second TPM2_Startup(STATE): TPM_RC_INITIALIZE" \
	bash -c "$VT_RAW send 80010000000c000001440001 | grep -q '^rc=0x00000100 '"

# ------------------------------------------------ TPM Restart
extend_all
readclock
r1=${CLK[reset_count]:-x}
s1=${CLK[restart_count]:-x}
vt_check "tpm2_shutdown (STATE) again" tpm2_shutdown
vt_server_restart --startup none || vt_done
vt_check "tpm2_startup -c after Shutdown(STATE): TPM Restart" tpm2_startup -c
pcrs
bad=
for i in $(seq 0 16) 23; do [ "${P[$i]:-}" = "$Z64" ] || bad="$bad $i"; done
vt_check_eq "Restart: PCRs 0-16 and 23 are zero" "" "$bad"
readclock
vt_check_eq "Restart: restart_count incremented" "$((s1 + 1))" "${CLK[restart_count]:-}"
vt_check_eq "Restart: reset_count unchanged" "$r1" "${CLK[reset_count]:-}"

# ------------------------------------------------ TPM Reset
extend_all
readclock
r2=${CLK[reset_count]:-x}
# no Shutdown at all: the server is just stopped
vt_server_restart --startup none || vt_done
vt_check_rc "tpm2_startup (STATE) with no Shutdown(STATE) before: TPM_RC_VALUE" 0x084 tpm2_startup
vt_check_rc "... on parameter 1, startupType (0x1c4)" 0x1C4 tpm2_startup
vt_check_rc "the TPM is still not started" 0x100 tpm2_getrandom 8
vt_check "then tpm2_startup -c works: TPM Reset" tpm2_startup -c
pcrs
bad=
for i in $(seq 0 16) 23; do [ "${P[$i]:-}" = "$Z64" ] || bad="$bad $i"; done
vt_check_eq "Reset: PCRs 0-16 and 23 are zero" "" "$bad"
readclock
vt_check_eq "Reset: reset_count incremented" "$((r2 + 1))" "${CLK[reset_count]:-}"
vt_check_eq "Reset: restart_count is 0" 0 "${CLK[restart_count]:-}"

# Shutdown(CLEAR) saves no state either
readclock
r3=${CLK[reset_count]:-x}
vt_check "tpm2_shutdown -c" tpm2_shutdown -c
vt_server_restart --startup none || vt_done
vt_check_rc "tpm2_startup (STATE) after Shutdown(CLEAR): TPM_RC_VALUE" 0x084 tpm2_startup
vt_check "tpm2_startup -c" tpm2_startup -c
readclock
vt_check_eq "after Shutdown(CLEAR) + Startup(CLEAR): reset_count incremented" "$((r3 + 1))" "${CLK[reset_count]:-}"

# saved state is used once: Resume, stop without Shutdown, Startup(STATE)
vt_check "tpm2_shutdown (STATE) (to be used once)" tpm2_shutdown
vt_server_restart --startup none || vt_done
vt_check "tpm2_startup (STATE) uses it" tpm2_startup
vt_server_restart --startup none || vt_done
vt_check_rc "second tpm2_startup (STATE) with no new Shutdown(STATE): TPM_RC_VALUE" 0x084 tpm2_startup
vt_check "tpm2_startup -c" tpm2_startup -c

# ------------------------------------------------ the clock across stops
# vitrum saves its state (clock included) on SIGTERM.  swtpm does not: it
# only saves the clock on TPM2_Shutdown, so for swtpm the "clean stop" is
# Shutdown + SIGTERM (as an OS does before powering off).
clean_stop_restart() {
	if [ "$VT_TARGET" = swtpm ]; then tpm2_shutdown >/dev/null 2>&1; fi
	vt_server_restart "$@"
}
sleep 1
readclock
c1=${CLK[clock]:-0}
clean_stop_restart || vt_done
readclock
c2=${CLK[clock]:-0}
vt_check_true "clock not backwards across a clean stop/restart ($c1 <= $c2)" [ "$c1" -le "$c2" ]
vt_note "after clean restart: safe=${CLK[safe]:-?} reset_count=${CLK[reset_count]:-?} restart_count=${CLK[restart_count]:-?}"
# again, with the clock set forward first
target=$((c2 + 86400000))
vt_check "tpm2_setclock one day ahead" tpm2_setclock "$target"
clean_stop_restart || vt_done
readclock
c3=${CLK[clock]:-0}
vt_check_true "clock kept the value set, across a clean stop ($target <= $c3)" [ "$target" -le "$c3" ]
clean_stop_restart --startup none || vt_done
vt_check "tpm2_startup -c after a clean stop" tpm2_startup -c
readclock
vt_check_true "clock not backwards across stop + Startup(CLEAR) ($c3 <= ${CLK[clock]:-0})" [ "$c3" -le "${CLK[clock]:-0}" ]

# ClockSet is a persistent change: once the command has answered it must
# survive kill -9.  (swtpm loses it: it only writes its state files at
# Shutdown or exit, so there this is only recorded.)
readclock
target=$((${CLK[clock]:-0} + 86400000))
tpm2_setclock "$target" >/dev/null 2>&1
sleep 0.5
readclock
last=${CLK[clock]:-0} # the last value reported before the crash
vt_server_kill
vt_server_start || vt_done
readclock
# TPMS_CLOCK_INFO.safe: NO whenever the clock may be lower than a value
# already reported (Part 1, "Clock"): after a crash, either the clock did not
# go back or safe is "no".
if [ "${CLK[clock]:-0}" -lt "$last" ]; then
	vt_check_eq "after kill -9 the clock went back ($last -> ${CLK[clock]:-0}): safe must be no" no "${CLK[safe]:-}"
else
	vt_check_true "after kill -9 the clock did not go back ($last <= ${CLK[clock]:-0})" true
fi
if [ "$VT_TARGET" = swtpm ]; then
	vt_note "swtpm after setclock + kill -9: clock ${CLK[clock]:-?} (set to $target) safe=${CLK[safe]:-?}"
else
	vt_check_true "ClockSet survives kill -9 ($target <= ${CLK[clock]:-0})" [ "$target" -le "${CLK[clock]:-0}" ]
	vt_note "after kill -9: safe=${CLK[safe]:-?}"
fi
vt_check "tools work after kill -9 and restart" tpm2_getrandom --hex 8

vt_done
