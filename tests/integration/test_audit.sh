#!/bin/bash
# Command and session audit with tpm2-tools: tpm2_setcommandauditstatus and
# the audit-commands capability, tpm2_getcommandauditdigest and
# tpm2_getsessionauditdigest with the attestation's signature checked by
# openssl against the signing key's PEM and its fields read back; then
# negative cases with exact codes (session_raw.py).  Runs against swtpm too.
VT_SCRIPT_TIMEOUT=${VT_SCRIPT_TIMEOUT:-240}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/keys/common.sh"

vt_server_start || vt_done
T=$VT_TMP
cd "$T" || vt_done
SESRAW="$VT_PYTHON $VT_LIB_DIR/session_raw.py --proto $([ "$VT_TARGET" = swtpm ] && echo raw || echo mssim) --port $VT_PORT"
raw() { $SESRAW "$1" 2>&1 | tail -1; }

vt_check "ECDSA signing primary (endorsement)" tpm2_createprimary -C e -G ecc256:ecdsa-sha256 \
	-a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign" -c sign.ctx
vt_check "its public key as PEM" tpm2_readpublic -c sign.ctx -f pem -o sign.pem

# ---- command audit
vt_check "auditAlg SHA-256" tpm2_setcommandauditstatus -g sha256
vt_check "audit GetRandom" tpm2_setcommandauditstatus -g sha256 TPM2_CC_GetRandom
vt_check_eq "GetCapability(TPM_CAP_AUDIT_COMMANDS): SetCommandCodeAuditStatus, GetRandom" "0x140 0x17b" "$(raw capaudit)"
vt_check "clear the audit digest (GetCommandAuditDigest)" tpm2_getcommandauditdigest -c sign.ctx -g sha256 \
	-m att0.bin -s sig0.bin -f plain
vt_check "audited GetRandom" tpm2_getrandom 8 -o /dev/null
vt_check "GetCommandAuditDigest, qualified" tpm2_getcommandauditdigest -c sign.ctx -g sha256 -q 0badf00d \
	-m att.bin -s sig.bin -f plain
vt_check "the signature verifies (openssl, key PEM)" openssl dgst -sha256 -verify sign.pem -signature sig.bin att.bin
vt_check "a changed attestation does not verify" bash -c \
	'cp att.bin bad.bin; printf "\x00" | dd of=bad.bin bs=1 seek=40 conv=notrunc 2>/dev/null; ! openssl dgst -sha256 -verify sign.pem -signature sig.bin bad.bin'
att=$($VT_PYTHON "$VT_LIB_DIR/session_raw.py" --port 0 attest=att.bin)
att0=$($VT_PYTHON "$VT_LIB_DIR/session_raw.py" --port 0 attest=att0.bin)
field() { sed -n "s/^$1=//p" <<<"$2"; }
vt_check_eq "type TPM_ST_ATTEST_COMMAND_AUDIT" 8015 "$(field type "$att")"
vt_check_eq "extraData is the qualification" 0badf00d "$(field extra "$att")"
vt_check_eq "digestAlg SHA-256" 000b "$(field alg "$att")"
vt_check_eq "nothing after the audit info" 0 "$(field rest "$att")"
vt_check_true "auditDigest is 32 octets, not zero" bash -c '[ ${#1} = 64 ] && [ "$1" != "$(printf %064d 0)" ]' _ "$(field auditDigest "$att")"
vt_check_eq "commandDigest = H(0x140 || 0x17b)" "$(printf '000001400000017b' | xxd -r -p | openssl dgst -sha256 -binary | xxd -p -c 64)" \
	"$(field commandDigest "$att")"
vt_check_eq "auditCounter: one more than at the clear" $(($(field counter "$att0") + 1)) "$(field counter "$att")"
vt_check "stop auditing GetRandom" tpm2_setcommandauditstatus -g sha256 -c TPM2_CC_GetRandom
vt_check_eq "GetRandom is no longer listed" 0x140 "$(raw capaudit)"
vt_check_eq "a new auditAlg and a list in one command: TPM_RC_VALUE + P1" 0x000001c4 "$(raw setalglist)"
vt_check_rc "GetCommandAuditDigest with a decrypt key: TPM_RC_KEY + H2" 0x29c bash -c \
	'tpm2_createprimary -C o -c dec.ctx >/dev/null && tpm2_getcommandauditdigest -c dec.ctx -m x -s y'

# ---- session audit
vt_check "audit session" tpm2_startauthsession --audit-session -S a.ctx
vt_check "audit session: attributes" tpm2_sessionconfig a.ctx --enable-audit --enable-continuesession
vt_check "GetRandom audited by the session" tpm2_getrandom 8 -S a.ctx -o /dev/null
vt_check "and again" tpm2_getrandom 16 -S a.ctx -o /dev/null
vt_check "GetSessionAuditDigest" tpm2_getsessionauditdigest -c sign.ctx -g sha256 -q 5e55 -m satt.bin \
	-s ssig.bin -f plain -S a.ctx
vt_check "its signature verifies (openssl)" openssl dgst -sha256 -verify sign.pem -signature ssig.bin satt.bin
satt=$($VT_PYTHON "$VT_LIB_DIR/session_raw.py" --port 0 attest=satt.bin)
vt_check_eq "type TPM_ST_ATTEST_SESSION_AUDIT" 8016 "$(field type "$satt")"
vt_check_eq "extraData is the qualification" 5e55 "$(field extra "$satt")"
vt_check_eq "not exclusive: the tools sent unaudited commands (ContextLoad…) in between" 00 "$(field exclusive "$satt")"
vt_check_true "sessionDigest is 32 octets, not zero" bash -c '[ ${#1} = 64 ] && [ "$1" != "$(printf %064d 0)" ]' _ "$(field sessionDigest "$satt")"
tpm2_flushcontext a.ctx >/dev/null 2>&1

# ---- negative cases and exclusivity, raw (codes as swtpm gives them)
vt_check_eq "auditExclusive after the exclusivity ended: TPM_RC_EXCLUSIVE" 0x00000121 "$(raw excl)"
vt_check_eq "auditExclusive on a session's first audit is accepted" 0x00000000 "$(raw excl_first)"
vt_check_eq "an exclusive audit session says so in its response" ok "$(raw audit_exclusive_ok)"
vt_check_eq "auditReset without audit: TPM_RC_ATTRIBUTES + S1" 0x00000982 "$(raw resetnoaudit)"
vt_check_eq "two audit sessions: TPM_RC_ATTRIBUTES + S2" 0x00000a82 "$(raw twoaudit)"
vt_check_eq "GetSessionAuditDigest of a session that never audited: TPM_RC_TYPE + H3" 0x0000038a "$(raw gsad_noaudit)"
vt_check_eq "GetSessionAuditDigest of a policy session: TPM_RC_VALUE + H3" 0x00000384 "$(raw gsad_policy)"

# The audit list and counter are persistent (they survive a TPM Reset);
# kill -9: SetCommandCodeAuditStatus' answer means it is on disk.
audit_counter() { tpm2_getcap properties-variable | awk '/TPM2_PT_AUDIT_COUNTER_1/ { getline; print $2 }'; }
vt_check "audit GetRandom again" tpm2_setcommandauditstatus -g sha256 TPM2_CC_GetRandom
vt_check "an audited GetRandom" tpm2_getrandom 8 -o /dev/null
counter_before=$(audit_counter)
vt_server_kill
vt_server_start || vt_done
SESRAW="$VT_PYTHON $VT_LIB_DIR/session_raw.py --proto $([ "$VT_TARGET" = swtpm ] && echo raw || echo mssim) --port $VT_PORT"
vt_check_eq "after kill -9 and a TPM Reset GetRandom is still audited" "0x140 0x17b" "$(raw capaudit)"
# The counter counts digests started: the first audited command after the
# TPM Reset (the harness's readiness probe is a GetRandom) starts a new one,
# so it may be one more, never less.
counter_after=$(audit_counter)
vt_check_true "the audit counter did not go backwards ($counter_before -> $counter_after)" \
	[ $((counter_after)) -ge $((counter_before)) -a $((counter_after)) -le $((counter_before + 1)) ]
vt_check_true "the counter is not zero" [ "${counter_before:-0}" != 0 ]

vt_done
