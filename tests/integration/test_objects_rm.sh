#!/bin/bash
# Objects a client leaves loaded go when its connection closes, as with the
# kernel's /dev/tpmrm0: tpm2-tools never flushes what it loads, so without
# this a few tool runs fill the TPM's transient slots.  (swtpm has no such
# thing: there the tenth tpm2_create fails with TPM_RC_OBJECT_MEMORY.)
. "$(dirname "$0")/lib.sh"

[ "$VT_TARGET" = vitrum ] || { vt_skip "vitrum only: flush on disconnect"; vt_done; }
vt_server_start || vt_done
T=$VT_TMP
cd "$T" || vt_done

vt_check "createprimary" tpm2_createprimary -C o -G ecc -c prim.ctx
vt_check_eq "nothing stays loaded after the tool exits" "" "$(tpm2_getcap handles-transient 2>/dev/null)"
ok=0
for i in $(seq 1 20); do
	tpm2_create -C prim.ctx -G ecc -u k.pub -r k.priv >/dev/null 2>&1 && ok=$((ok + 1))
done
vt_check_eq "20 tool runs in a row (more than the 8 slots) all succeed" 20 "$ok"
vt_check "load one" tpm2_load -C prim.ctx -u k.pub -r k.priv -c k.ctx
vt_check "and sign with it from another connection (context file)" \
	sh -c 'echo hi >m && tpm2_sign -c k.ctx -g sha256 -o s m'
# A (policy) session a raw client starts and never flushes goes with its
# connection; with --keep-loaded it would stay.
start_hmac="80010000002b00000176400000074000000700100123456789abcdef0123456789abcdef0000010010000b"
vt_check_eq "a raw StartAuthSession succeeds" 0x00000000 "$($VT_RAW send "$start_hmac" | head -n1 | sed -n 's/^rc=\(0x[0-9a-f]*\).*/\1/p')"
vt_check_eq "its session is gone once that connection closed" "" "$(tpm2_getcap handles-loaded-session 2>/dev/null)"
vt_check_eq "transient slots all free again" \
	"$(tpm2_getcap properties-variable 2>/dev/null | awk '/TPM2_PT_HR_TRANSIENT_AVAIL/ {print $2}')" \
	"$(tpm2_getcap properties-fixed 2>/dev/null | awk '/TPM2_PT_HR_TRANSIENT_MIN/ {getline; print $2}')"
vt_done
