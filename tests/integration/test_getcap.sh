#!/bin/bash
# TPM2_GetCapability through tpm2_getcap: every capability the tool knows
# must work, and a few values must be sane.
. "$(dirname "$0")/lib.sh"

# Commands the foundation needs (the ones these integration tests use);
# extend as vitrum grows.
EXPECTED_COMMANDS="GetRandom GetCapability Startup Shutdown SelfTest
IncrementalSelfTest GetTestResult StirRandom PCR_Read PCR_Extend PCR_Event
PCR_Reset PCR_Allocate Hash HashSequenceStart SequenceUpdate SequenceComplete
EventSequenceComplete ReadClock ClockSet ClockRateAdjust TestParms"
# Algorithms (names as tpm2_getcap prints them) the foundation implements.
EXPECTED_ALGS="sha1 sha256 sha384 sha512 hmac keyedhash xor"

vt_server_start || vt_done

caps=$(tpm2_getcap -l 2>&1)
vt_check "tpm2_getcap -l" tpm2_getcap -l
ncaps=0
for c in $(printf '%s\n' "$caps" | sed -n 's/^- //p'); do
	ncaps=$((ncaps + 1))
	vt_check "tpm2_getcap $c" tpm2_getcap "$c"
	cp "$VT_LAST_OUT" "$VT_TMP/cap.$c"
done
vt_check_true "tpm2_getcap -l lists at least 13 capabilities (got $ncaps)" [ "$ncaps" -ge 13 ]

# value of a fixed/variable property: prop FILE NAME [raw|value]
prop() {
	awk -v p="$2:" -v k="${3:-raw}:" '
		$1 == p { inblk = 1; next }
		inblk && /^[^ ]/ { exit }
		inblk && $1 == k { v = $2; gsub(/"/, "", v); print v; exit }' "$1"
}
F="$VT_TMP/cap.properties-fixed"

vt_check_eq "TPM2_PT_FAMILY_INDICATOR is \"2.0\"" "2.0" "$(prop "$F" TPM2_PT_FAMILY_INDICATOR value)"
vt_check_eq "TPM2_PT_PCR_COUNT is 24" 24 "$(($(prop "$F" TPM2_PT_PCR_COUNT)))"
v=$(prop "$F" TPM2_PT_PCR_SELECT_MIN)
vt_check_true "TPM2_PT_PCR_SELECT_MIN >= 3 ($v)" [ "$((${v:-0}))" -ge 3 ]
v=$(prop "$F" TPM2_PT_INPUT_BUFFER)
vt_check_true "TPM2_PT_INPUT_BUFFER >= 1024 ($v)" [ "$((${v:-0}))" -ge 1024 ]
v=$(prop "$F" TPM2_PT_MAX_DIGEST)
vt_check_true "TPM2_PT_MAX_DIGEST >= 64 (sha512) ($v)" [ "$((${v:-0}))" -ge 64 ]
v=$(prop "$F" TPM2_PT_REVISION)
vt_check_true "TPM2_PT_REVISION >= 1.16 ($v)" [ "$((${v:-0}))" -ge 116 ]
v=$(prop "$F" TPM2_PT_MANUFACTURER)
vt_check_true "TPM2_PT_MANUFACTURER is set ($v)" [ -n "$v" ]
v=$(prop "$F" TPM2_PT_TOTAL_COMMANDS)
n=$(grep -c 'commandIndex' "$VT_TMP/cap.commands")
vt_check_eq "number of commands listed = TPM2_PT_TOTAL_COMMANDS" "$((${v:-0}))" "$n"

vt_check "pcrs lists sha256" grep -Eq '^ *- sha256: \[ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23 \]' "$VT_TMP/cap.pcrs"
for cc in $EXPECTED_COMMANDS; do
	vt_check "commands lists TPM2_CC_$cc" grep -q "^TPM2_CC_$cc:" "$VT_TMP/cap.commands"
done
for a in $EXPECTED_ALGS; do
	vt_check "algorithms lists $a" grep -q "^$a:" "$VT_TMP/cap.algorithms"
done
v=$(awk '/^sha256:/ { f = 1 } f && $1 == "hash:" { print $2; exit }' "$VT_TMP/cap.algorithms")
vt_check_eq "algorithms: sha256 has the hash attribute" 1 "$v"

vt_check_eq "handles-pcr lists 24 PCRs" 24 "$(grep -c '^- 0x' "$VT_TMP/cap.handles-pcr")"
vt_check "handles-pcr starts at 0x0" grep -qx -- '- 0x0' "$VT_TMP/cap.handles-pcr"
vt_check "handles-pcr ends at 0x17" grep -qix -- '- 0x17' "$VT_TMP/cap.handles-pcr"
for h in 0x40000001 0x40000007 0x4000000A 0x4000000B 0x4000000C; do
	vt_check "handles-permanent lists $h" grep -qix -- "- $h" "$VT_TMP/cap.handles-permanent"
done
V="$VT_TMP/cap.properties-variable"
for f in phEnable shEnable ehEnable; do
	v=$(awk -v f="$f:" '/^TPM2_PT_STARTUP_CLEAR:/ { b = 1; next } b && /^[^ ]/ { exit } b && $1 == f { print $2; exit }' "$V")
	vt_check_eq "properties-variable: TPM2_PT_STARTUP_CLEAR $f is 1" 1 "$v"
done
vt_check_eq "no transient objects loaded" "" "$(grep '^- ' "$VT_TMP/cap.handles-transient")"

vt_done
