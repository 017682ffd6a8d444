#!/bin/bash
# Policy sessions with tpm2-tools: trial digests equal tpm2_createpolicy's
# and the spec's formulas; a PCR-sealed secret unseals through a policy
# session and not after the PCR moved; PolicyOR, PolicyPassword,
# PolicyAuthValue, PolicySecret, PolicyCommandCode, PolicyRestart; session
# files (ContextSave/ContextLoad of sessions), their anti-replay, and the
# saved-session capability.  Runs against swtpm too (VT_TARGET=swtpm).
VT_SCRIPT_TIMEOUT=${VT_SCRIPT_TIMEOUT:-300}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/keys/common.sh"

vt_server_start || vt_done
T=$VT_TMP
cd "$T" || vt_done
Z32=$(printf '%064d' 0)
# digest of a hex string
hx() { printf '%s' "$1" | xxd -r -p | openssl dgst -sha256 -binary | xxd -p -c 64; }
# policy digest of a trial session: trial CMD... (the session is flushed)
policy_hex() { hexof "$1" 2>/dev/null; }

# ---- trial digests
vt_check "trial: policycommandcode Unseal" bash -c \
	'tpm2_startauthsession -S tr.ctx && tpm2_policycommandcode -S tr.ctx -L cc.pol TPM2_CC_Unseal; rc=$?; tpm2_flushcontext tr.ctx; exit $rc'
vt_check_eq "PolicyCommandCode digest = H(0 || 0x16c || 0x15e)" "$(hx "${Z32}0000016c0000015e")" "$(policy_hex cc.pol)"
vt_check "trial: policyauthvalue" bash -c \
	'tpm2_startauthsession -S tr.ctx && tpm2_policyauthvalue -S tr.ctx -L av.pol; rc=$?; tpm2_flushcontext tr.ctx; exit $rc'
vt_check "trial: policypassword" bash -c \
	'tpm2_startauthsession -S tr.ctx && tpm2_policypassword -S tr.ctx -L pw.pol; rc=$?; tpm2_flushcontext tr.ctx; exit $rc'
vt_check_eq "PolicyAuthValue digest = H(0 || 0x16b)" "$(hx "${Z32}0000016b")" "$(policy_hex av.pol)"
vt_check_eq "PolicyPassword digest = PolicyAuthValue digest" "$(policy_hex av.pol)" "$(policy_hex pw.pol)"
vt_check "trial: policysecret owner" bash -c \
	'tpm2_startauthsession -S tr.ctx && tpm2_policysecret -S tr.ctx -c o -L sec.pol; rc=$?; tpm2_flushcontext tr.ctx; exit $rc'
vt_check_eq "PolicySecret digest = H(H(0 || 0x151 || 0x40000001) || empty policyRef)" \
	"$(hx "$(hx "${Z32}0000015140000001")")" "$(policy_hex sec.pol)"
vt_check "trial: policysecret with a wrong owner password fails" bash -c \
	'tpm2_startauthsession -S tr.ctx && ! tpm2_policysecret -S tr.ctx -c o wrong; rc=$?; tpm2_flushcontext tr.ctx; exit $rc'

# ---- PolicyPCR: tpm2_createpolicy and a trial session agree
vt_check "pcrextend sha256:16" tpm2_pcrextend 16:sha256=$(printf '%064d' 1)
vt_check "createpolicy --policy-pcr sha256:0,16" tpm2_createpolicy --policy-pcr -l sha256:0,16 -L pcr.cp
vt_check "trial: policypcr sha256:0,16" bash -c \
	'tpm2_startauthsession -S tr.ctx && tpm2_policypcr -S tr.ctx -l sha256:0,16 -L pcr.pol; rc=$?; tpm2_flushcontext tr.ctx; exit $rc'
vt_check_eq "createpolicy digest = trial session digest" "$(policy_hex pcr.cp)" "$(policy_hex pcr.pol)"
tpm2_pcrread sha256:0,16 -o pcrs.bin >/dev/null 2>&1
vt_check_eq "PolicyPCR digest = H(0 || 0x17f || selection || H(pcr0 || pcr16))" \
	"$(hx "${Z32}0000017f00000001000b03010001$(openssl dgst -sha256 -binary pcrs.bin | xxd -p -c 64)")" \
	"$(policy_hex pcr.pol)"
vt_check "trial: policypcr with a given pcr file gives the same digest" bash -c \
	'tpm2_startauthsession -S tr.ctx && tpm2_policypcr -S tr.ctx -l sha256:0,16 -f pcrs.bin -L pcrf.pol; rc=$?; tpm2_flushcontext tr.ctx; exit $rc'
vt_check_eq "digest from -f pcrs.bin" "$(policy_hex pcr.pol)" "$(policy_hex pcrf.pol)"

# ---- seal to the PCR policy, unseal through a policy session
printf 'sealed under PCR 16' >secret.bin
vt_check "createprimary" tpm2_createprimary -C o -c prim.ctx
vt_check "create a sealed object with the PCR policy" tpm2_create -C prim.ctx -L pcr.pol -i secret.bin \
	-a "fixedtpm|fixedparent|noda" -u seal.pub -r seal.priv
vt_check "load it" tpm2_load -C prim.ctx -u seal.pub -r seal.priv -c seal.ctx
unseal_pcr() { # unseal_pcr OUT: policypcr then unseal with the session
	local rc
	tpm2_startauthsession --policy-session -S ps.ctx >/dev/null 2>&1 || return 1
	tpm2_policypcr -S ps.ctx -l sha256:0,16 >/dev/null 2>&1 || { tpm2_flushcontext ps.ctx >/dev/null 2>&1; return 1; }
	tpm2_unseal -c seal.ctx -p session:ps.ctx -o "$1"
	rc=$?
	tpm2_flushcontext ps.ctx >/dev/null 2>&1
	return $rc
}
vt_check "unseal with policypcr" unseal_pcr out1.bin
vt_check_eq "the secret comes back" "$(hexof secret.bin)" "$(hexof out1.bin 2>/dev/null)"
vt_check_rc "unseal with a password (userWithAuth CLEAR): TPM_RC_AUTH_UNAVAILABLE" 0x12F tpm2_unseal -c seal.ctx
vt_check_rc "unseal with a policy session that ran nothing: TPM_RC_POLICY_FAIL (session 1)" 0x99D bash -c \
	'tpm2_startauthsession --policy-session -S e.ctx && tpm2_unseal -c seal.ctx -p session:e.ctx; rc=$?; tpm2_flushcontext e.ctx; exit $rc'
# PCR 16 (debug) does not count in pcrUpdateCounter; PCR 1 does, and it is
# not in the policy: the digest still matches, the counter does not.
vt_check_rc "pcrextend (PCR 1) between policypcr and unseal: TPM_RC_PCR_CHANGED" 0x128 bash -c \
	'tpm2_startauthsession --policy-session -S c.ctx && tpm2_policypcr -S c.ctx -l sha256:0,16 &&
	 tpm2_pcrextend 1:sha256='"$(printf '%064d' 3)"' && tpm2_unseal -c seal.ctx -p session:c.ctx; rc=$?; tpm2_flushcontext c.ctx; exit $rc'
vt_check "pcrextend sha256:16 again" tpm2_pcrextend 16:sha256=$(printf '%064d' 2)
vt_check_rc "after pcrextend the policy no longer matches: TPM_RC_POLICY_FAIL" 0x99D unseal_pcr out2.bin

# ---- PolicyOR: (PCR policy now stale) OR (PolicyPassword)
vt_check "trial: policyor of the stale PCR policy and the password policy" bash -c \
	'tpm2_startauthsession -S tr.ctx && tpm2_policyor -S tr.ctx -l sha256:pcr.pol,pw.pol -L or.pol; rc=$?; tpm2_flushcontext tr.ctx; exit $rc'
vt_check_eq "PolicyOR digest = H(0 || 0x171 || d1 || d2)" \
	"$(hx "${Z32}00000171$(policy_hex pcr.pol)$(policy_hex pw.pol)")" "$(policy_hex or.pol)"
vt_check "seal under the OR policy with an authValue" tpm2_create -C prim.ctx -L or.pol -i secret.bin -p orpass \
	-a "fixedtpm|fixedparent|noda" -u or.pub -r or.priv -c or.ctx
vt_check "unseal through the password branch: policypassword + policyor" bash -c \
	'tpm2_startauthsession --policy-session -S o.ctx && tpm2_policypassword -S o.ctx &&
	 tpm2_policyor -S o.ctx -l sha256:pcr.pol,pw.pol && tpm2_unseal -c or.ctx -p session:o.ctx+orpass -o out3.bin;
	 rc=$?; tpm2_flushcontext o.ctx; exit $rc'
vt_check_eq "the secret comes back" "$(hexof secret.bin)" "$(hexof out3.bin 2>/dev/null)"
vt_check_rc "the same with a wrong password: TPM_RC_BAD_AUTH (session 1)" 0x9A2 bash -c \
	'tpm2_startauthsession --policy-session -S o.ctx && tpm2_policypassword -S o.ctx &&
	 tpm2_policyor -S o.ctx -l sha256:pcr.pol,pw.pol && tpm2_unseal -c or.ctx -p session:o.ctx+nopass;
	 rc=$?; tpm2_flushcontext o.ctx; exit $rc'
vt_check_rc "policyor when the digest is in no branch: TPM_RC_VALUE (parameter 1)" 0x1C4 bash -c \
	'tpm2_startauthsession --policy-session -S o.ctx && tpm2_policyor -S o.ctx -l sha256:pcr.pol,pw.pol;
	 rc=$?; tpm2_flushcontext o.ctx; exit $rc'

# ---- PolicyAuthValue: the HMAC includes the authValue (and the response
# HMAC, which tpm2-tss checks)
vt_check "seal under PolicyAuthValue" tpm2_create -C prim.ctx -L av.pol -i secret.bin -p avpass \
	-a "fixedtpm|fixedparent|noda" -u av.pub -r av.priv -c av.ctx
vt_check "unseal with policyauthvalue + the authValue" bash -c \
	'tpm2_startauthsession --policy-session -S a.ctx && tpm2_policyauthvalue -S a.ctx &&
	 tpm2_unseal -c av.ctx -p session:a.ctx+avpass -o out4.bin; rc=$?; tpm2_flushcontext a.ctx; exit $rc'
vt_check_eq "the secret comes back" "$(hexof secret.bin)" "$(hexof out4.bin 2>/dev/null)"
vt_check_rc "policyauthvalue + a wrong authValue: TPM_RC_BAD_AUTH (session 1)" 0x9A2 bash -c \
	'tpm2_startauthsession --policy-session -S a.ctx && tpm2_policyauthvalue -S a.ctx &&
	 tpm2_unseal -c av.ctx -p session:a.ctx+wrong; rc=$?; tpm2_flushcontext a.ctx; exit $rc'

# ---- PolicyCommandCode on a real session; PolicyRestart
vt_check "seal under PolicyCommandCode(Unseal)" tpm2_create -C prim.ctx -L cc.pol -i secret.bin \
	-a "fixedtpm|fixedparent|noda" -u cc.pub -r cc.priv -c cc.ctx
vt_check "unseal with policycommandcode TPM2_CC_Unseal" bash -c \
	'tpm2_startauthsession --policy-session -S k.ctx && tpm2_policycommandcode -S k.ctx TPM2_CC_Unseal &&
	 tpm2_unseal -c cc.ctx -p session:k.ctx -o out5.bin; rc=$?; tpm2_flushcontext k.ctx; exit $rc'
vt_check_eq "the secret comes back" "$(hexof secret.bin)" "$(hexof out5.bin 2>/dev/null)"
vt_check "policyauthvalue, policyrestart, policycommandcode Unseal" bash -c \
	'tpm2_startauthsession --policy-session -S r.ctx && tpm2_policyauthvalue -S r.ctx && tpm2_policyrestart -S r.ctx &&
	 tpm2_policycommandcode -S r.ctx -L r.pol TPM2_CC_Unseal; rc=$?; tpm2_flushcontext r.ctx; exit $rc'
vt_check_eq "after policyrestart the digest starts from zeros again" "$(policy_hex cc.pol)" "$(policy_hex r.pol)"
vt_check_rc "policycommandcode of another command after one: TPM_RC_VALUE (parameter 1)" 0x1C4 bash -c \
	'tpm2_startauthsession --policy-session -S k.ctx && tpm2_policycommandcode -S k.ctx TPM2_CC_Unseal &&
	 tpm2_policycommandcode -S k.ctx TPM2_CC_Sign; rc=$?; tpm2_flushcontext k.ctx; exit $rc'

# ---- session files: ContextSave / ContextLoad of sessions
vt_check "startauthsession --policy-session (saved to a file)" tpm2_startauthsession --policy-session -S sv.ctx
sh=$(tpm2_getcap handles-saved-session 2>/dev/null | grep -oE '0x[0-9a-fA-F]+' | tail -1)
vt_check_true "the session is listed as saved" [ -n "$sh" ]
vt_check_true "and not as loaded" bash -c "! tpm2_getcap handles-loaded-session | grep -qi -- '- $sh\$'"
cp sv.ctx sv-old.ctx
vt_check "policypcr with it (load, save again)" tpm2_policypcr -S sv.ctx -l sha256:0
vt_check_rc "the older context of it does not load again: TPM_RC_HANDLE (parameter 1)" 0x1CB \
	tpm2_policyrestart -S sv-old.ctx
vt_check "flushcontext of the saved session" tpm2_flushcontext sv.ctx
vt_check_true "it is no longer listed" bash -c "! tpm2_getcap handles-saved-session | grep -qi -- '- $sh\$'"
vt_check_rc "a flushed session's context does not load: TPM_RC_HANDLE (parameter 1)" 0x1CB \
	tpm2_policyrestart -S sv.ctx

# ---- NV indices whose ADMIN role needs a policy (NV storage issue)
vt_check "trial: PolicyCommandCode(NV_ChangeAuth) + PolicyAuthValue" sh -c \
	'tpm2_startauthsession -S tr.ctx && tpm2_policycommandcode -S tr.ctx -L ca.pol TPM2_CC_NV_ChangeAuth >/dev/null &&
	 tpm2_policyauthvalue -S tr.ctx -L ca.pol >/dev/null && tpm2_flushcontext tr.ctx'
vt_check "nvdefine with that policy and auth 'old'" tpm2_nvdefine 0x1500030 -C o -s 8 -a "authread|authwrite" -L ca.pol -p old
vt_check_rc "nvchangeauth with a password: TPM_RC_AUTH_TYPE" 0x124 tpm2_changeauth -c 0x1500030 -p old new
vt_check "nvchangeauth through the policy session (response HMAC under the new auth)" sh -c \
	'tpm2_startauthsession --policy-session -S cp.ctx && tpm2_policycommandcode -S cp.ctx TPM2_CC_NV_ChangeAuth >/dev/null &&
	 tpm2_policyauthvalue -S cp.ctx >/dev/null && tpm2_changeauth -c 0x1500030 -p session:cp.ctx+old new; rc=$?;
	 tpm2_flushcontext cp.ctx; exit $rc'
vt_check "nvwrite with the new auth" sh -c 'echo hi | tpm2_nvwrite 0x1500030 -P new -i -'
vt_check_rc "nvwrite with the old auth: TPM_RC_AUTH_FAIL" 0x98E sh -c 'echo hi | tpm2_nvwrite 0x1500030 -P old -i -'
vt_check "trial: PolicyCommandCode(NV_UndefineSpaceSpecial)" sh -c \
	'tpm2_startauthsession -S tr.ctx && tpm2_policycommandcode -S tr.ctx -L us.pol TPM2_CC_NV_UndefineSpaceSpecial >/dev/null &&
	 tpm2_flushcontext tr.ctx'
vt_check "nvdefine a platform index with policydelete" \
	tpm2_nvdefine 0x1500031 -C p -s 8 -a "ppread|ppwrite|platformcreate|policydelete" -L us.pol
vt_check "nvundefine -S (UndefineSpaceSpecial) through the policy session" sh -c \
	'tpm2_startauthsession --policy-session -S us.ctx && tpm2_policycommandcode -S us.ctx TPM2_CC_NV_UndefineSpaceSpecial >/dev/null &&
	 tpm2_nvundefine -S us.ctx 0x1500031'
vt_check_true "the index is gone" bash -c "! tpm2_nvreadpublic 0x1500031 >/dev/null 2>&1"

vt_done
