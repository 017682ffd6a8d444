#!/bin/bash
# TPM2_ReadClock / TPM2_ClockSet / TPM2_ClockRateAdjust through
# tpm2_readclock, tpm2_setclock and tpm2_clockrateadjust.
. "$(dirname "$0")/lib.sh"

vt_server_start || vt_done

# read all of tpm2_readclock's YAML into CLK[field]
declare -A CLK
readclock() {
	local k v
	CLK=()
	while read -r k v; do
		k=${k%:}
		CLK[$k]=$v
	done < <(tpm2_readclock 2>/dev/null)
}
isnum() { [[ "$1" =~ ^[0-9]+$ ]]; }

vt_check "tpm2_readclock" tpm2_readclock
readclock
for f in time clock reset_count restart_count; do
	vt_check_true "readclock: $f is a number (${CLK[$f]:-missing})" isnum "${CLK[$f]:-}"
done
vt_check_true "readclock: safe is yes or no (${CLK[safe]:-missing})" [ "${CLK[safe]:-}" = yes -o "${CLK[safe]:-}" = no ]
vt_check_true "readclock: clock_info section present" grep -q '^clock_info:' "$VT_LAST_OUT"

# ---- clock and time advance (in milliseconds) while the TPM runs
c1=${CLK[clock]:-0}
t1=${CLK[time]:-0}
sleep 1.2
readclock
c2=${CLK[clock]:-0}
t2=${CLK[time]:-0}
vt_check_true "clock advanced by ~1.2 s ($c1 -> $c2)" [ $((c2 - c1)) -ge 1000 -a $((c2 - c1)) -le 10000 ]
vt_check_true "time advanced by ~1.2 s ($t1 -> $t2)" [ $((t2 - t1)) -ge 1000 -a $((t2 - t1)) -le 10000 ]
vt_check_true "clock >= time" [ "$c2" -ge "$t2" ]

# ---- ClockSet: forward works, backward is TPM_RC_VALUE
target=$((c2 + 3600000))
vt_check "tpm2_setclock forward one hour ($target)" tpm2_setclock "$target"
readclock
c3=${CLK[clock]:-0}
vt_check_true "clock is now >= the value set ($c3 >= $target)" [ "$c3" -ge "$target" -a "$c3" -le $((target + 10000)) ]
vt_check_rc "tpm2_setclock backwards: TPM_RC_VALUE" 0x084 tpm2_setclock $((c3 - 60000))
# ... and it is about parameter 1 (newTime): TPM_RC_VALUE + TPM_RC_P + TPM_RC_1
vt_check_rc "tpm2_setclock backwards: TPM_RC_VALUE on parameter 1 (0x1c4)" 0x1C4 tpm2_setclock $((c3 - 60000))
vt_check_rc "tpm2_setclock 0: TPM_RC_VALUE" 0x084 tpm2_setclock 0
# Part 3 ClockSet: newTime must not be above 0xFFFF000000000000
vt_check_rc "tpm2_setclock 0xFFFF000000000001: TPM_RC_VALUE on parameter 1" 0x1C4 tpm2_setclock 18446462598732840961
readclock
vt_check_true "failed setclocks left the clock alone (${CLK[clock]:-0} >= $c3)" [ "${CLK[clock]:-0}" -ge "$c3" -a "${CLK[clock]:-0}" -le $((c3 + 10000)) ]
target=$((${CLK[clock]:-0} + 1000000))
vt_check "tpm2_setclock -c p (platform) forward" tpm2_setclock -c p "$target"
vt_check "tpm2_setclock --hierarchy=o forward" tpm2_setclock --hierarchy=o $((target + 1000))
vt_check_fails "tpm2_setclock -c e (endorsement not allowed)" tpm2_setclock -c e $((target + 2000000))
# TPM_RC_BAD_AUTH for session 1: 0x9a2
vt_check_rc "tpm2_setclock with a wrong owner password: TPM_RC_BAD_AUTH (session 1)" 0x9A2 \
	tpm2_setclock -p wrongpassword $((target + 3000000))
readclock
vt_check_true "clock still sane after the refused setclocks (${CLK[clock]:-0})" [ "${CLK[clock]:-0}" -ge $((target + 1000)) -a "${CLK[clock]:-0}" -lt $((target + 2000000)) ]
vt_check_true "time is not changed by setclock (${CLK[time]:-0})" [ "${CLK[time]:-0}" -ge "$t2" -a "${CLK[time]:-0}" -lt $((t2 + 60000)) ]

# ---- ClockRateAdjust: s/ss/sss slow down (fine/medium/coarse), f/ff/fff
# speed up.  (tpm2_clockrateadjust with no argument crashes in tpm2-tools
# 5.4, so it is not run.)
for adj in s ss sss f ff fff; do
	vt_check "tpm2_clockrateadjust $adj" tpm2_clockrateadjust "$adj"
done
vt_check "tpm2_clockrateadjust -c p fff" tpm2_clockrateadjust -c p fff
vt_check "tpm2_clockrateadjust -c o sss" tpm2_clockrateadjust -c o sss
vt_check_fails "tpm2_clockrateadjust sf refused by the tool" tpm2_clockrateadjust sf
vt_check_fails "tpm2_clockrateadjust ssss refused by the tool" tpm2_clockrateadjust ssss
readclock
c4=${CLK[clock]:-0}
sleep 1
readclock
c5=${CLK[clock]:-0}
vt_check_true "clock still advances after rate adjustments ($c4 -> $c5)" [ $((c5 - c4)) -ge 800 -a $((c5 - c4)) -le 10000 ]

vt_done
