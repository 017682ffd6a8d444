#!/bin/bash
# --nv-size: the user NV a TPM gets, reported by GetCapability and enforced
# with TPM_RC_NV_SPACE; bad values refused at start.
. "$(dirname "$0")/lib.sh"
if [ "$VT_TARGET" != vitrum ]; then vt_skip "nv-size" "vitrum flag"; vt_done; fi

for bad in 0 12 10X 9M; do
	out=$("$VITRUM_BIN" serve --state "$(mktemp -d)" --port 1 --nv-size "$bad" 2>&1)
	vt_check_eq "--nv-size $bad refused with exit 2" 2 "$?"
done
vt_check_true "the error says what is allowed" grep -q "nv-size must be" <<<"$out"

vt_server_start --nv-size 4K || vt_done
n=0
while [ $n -lt 10 ]; do
	tpm2_nvdefine 0x01500$((100 + n)) -C o -s 1024 -a "ownerread|ownerwrite" >/dev/null 2>"$VT_TMP/err" || break
	n=$((n + 1))
done
vt_check_eq "4 KiB of user NV holds four 1 KiB indices" 4 "$n"
vt_check_true "the fifth gets TPM_RC_NV_SPACE" grep -qi "0x14b\|space" "$VT_TMP/err"
vt_server_restart --nv-size 64K || vt_done
vt_check "a larger --nv-size on the same TPM keeps its indices" tpm2_nvreadpublic 0x01500103
vt_check "and room for more" tpm2_nvdefine 0x01500200 -C o -s 2048 -a "ownerread|ownerwrite"
vt_server_stop
vt_done
