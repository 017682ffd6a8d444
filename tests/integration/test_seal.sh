#!/bin/bash
# The sealing workflow with tpm2-tools, as a disk-encryption tool uses it:
#  1. "boot" measures into PCR 7 and 11; a secret is sealed to their values
#     with PolicyPCR; it unseals; after another extend of PCR 11 it does not
#     (TPM_RC_POLICY_FAIL); after a restart (Startup(CLEAR)) and the same
#     boot it unseals again.
#  2. An authorized policy (PolicyAuthorize) whose signer is an RSA key made
#     by openssl and loaded with tpm2_loadexternal: the PCR policy is signed
#     with openssl, tpm2_verifysignature gives the ticket, policypcr +
#     policyauthorize unseal; after the PCRs move, a NEW PCR policy is signed
#     and the same sealed object unseals without re-sealing.
# Runs against swtpm too (VT_TARGET=swtpm).
VT_SCRIPT_TIMEOUT=${VT_SCRIPT_TIMEOUT:-300}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/keys/common.sh"

vt_server_start || vt_done
T=$VT_TMP
cd "$T" || vt_done
hexf() { xxd -p -c 256 "$1" 2>/dev/null | tr -d '\n'; }
M7=$(printf 'firmware: secure boot db' | openssl dgst -sha256 -r | cut -d' ' -f1)
M11=$(printf 'kernel + initrd' | openssl dgst -sha256 -r | cut -d' ' -f1)
EVIL=$(printf 'a different kernel' | openssl dgst -sha256 -r | cut -d' ' -f1)
boot() { tpm2_pcrextend "7:sha256=$M7" && tpm2_pcrextend "11:sha256=$M11"; }
unseal_pcr() { # unseal_pcr OBJ OUT: PolicyPCR session, then unseal
	local rc
	tpm2_startauthsession --policy-session -S ps.ctx >/dev/null 2>&1 || return 1
	tpm2_policypcr -S ps.ctx -l sha256:7,11 >/dev/null 2>&1 || { tpm2_flushcontext ps.ctx >/dev/null 2>&1; return 1; }
	tpm2_unseal -c "$1" -p session:ps.ctx -o "$2"
	rc=$?
	tpm2_flushcontext ps.ctx >/dev/null 2>&1
	return $rc
}
printf 'disk key: 0123456789abcdef' >secret.bin

# ---------------------------------------------------------------- PolicyPCR
vt_check "boot: extend PCR 7 and 11" boot
vt_check_eq "PCR 11 = H(0 || M11)" "$(vt_extend sha256 "$(printf '%064d' 0)" "$M11")" "$(vt_pcr sha256 11)"
vt_check "createpolicy --policy-pcr sha256:7,11" tpm2_createpolicy --policy-pcr -l sha256:7,11 -L pcr.pol
tpm2_pcrread sha256:7,11 -o pcrs.bin >/dev/null 2>&1
vt_check_eq "the PCR policy = H(0 || TPM_CC_PolicyPCR || selection || H(PCR7 || PCR11))" \
	"$(printf '%s' "$(printf '%064d' 0)0000017f00000001000b03800800$(openssl dgst -sha256 -binary pcrs.bin | xxd -p -c 64)" |
		xxd -r -p | openssl dgst -sha256 -r | cut -d' ' -f1)" "$(hexf pcr.pol)"
vt_check "createprimary (owner, deterministic)" tpm2_createprimary -C o -c prim.ctx
vt_check "seal the secret to the PCR policy" tpm2_create -C prim.ctx -L pcr.pol -i secret.bin \
	-a "fixedtpm|fixedparent|noda" -u seal.pub -r seal.priv
vt_check "load it" tpm2_load -C prim.ctx -u seal.pub -r seal.priv -c seal.ctx
vt_check "unseal with PolicyPCR" unseal_pcr seal.ctx out1.bin
vt_check "the secret comes back" cmp secret.bin out1.bin
vt_check_rc "unseal with a password: TPM_RC_AUTH_UNAVAILABLE (userWithAuth is CLEAR)" 0x12F tpm2_unseal -c seal.ctx
vt_check "extend PCR 11 (another kernel)" tpm2_pcrextend "11:sha256=$EVIL"
vt_check_rc "unseal after the extend: TPM_RC_POLICY_FAIL (session 1)" 0x99D unseal_pcr seal.ctx out2.bin
vt_check_true "nothing was written" [ ! -s out2.bin ]

vt_check "restart the server (Startup(CLEAR): PCRs reset)" vt_server_restart
vt_check_eq "PCR 11 is zero again" "$(printf '%064d' 0)" "$(vt_pcr sha256 11)"
vt_check_rc "before the boot measurements: TPM_RC_POLICY_FAIL" 0x99D bash -c \
	'tpm2_createprimary -C o -c prim.ctx >/dev/null && tpm2_load -C prim.ctx -u seal.pub -r seal.priv -c seal.ctx >/dev/null &&
	 tpm2_startauthsession --policy-session -S ps.ctx && tpm2_policypcr -S ps.ctx -l sha256:7,11 >/dev/null &&
	 tpm2_unseal -c seal.ctx -p session:ps.ctx; rc=$?; tpm2_flushcontext ps.ctx; exit $rc'
vt_check "boot again (same measurements)" boot
vt_check "createprimary again (the same primary)" tpm2_createprimary -C o -c prim.ctx
vt_check "load the sealed object again" tpm2_load -C prim.ctx -u seal.pub -r seal.priv -c seal.ctx
vt_check "unseal works again" unseal_pcr seal.ctx out3.bin
vt_check "the secret comes back" cmp secret.bin out3.bin

# ---------------------------------------------------------------- PolicyAuthorize
openssl genrsa -out signer.pem 2048 2>/dev/null
openssl rsa -in signer.pem -pubout -out signer.pub.pem 2>/dev/null
vt_check "loadexternal the openssl public key (owner hierarchy)" \
	tpm2_loadexternal -C o -G rsa -u signer.pub.pem -c signer.ctx -n signer.name
vt_check "trial: policyauthorize by that key" bash -c \
	'tpm2_startauthsession -S tr.ctx && tpm2_policyauthorize -S tr.ctx -i pcr.pol -n signer.name -L authorized.pol;
	 rc=$?; tpm2_flushcontext tr.ctx; exit $rc'
vt_check_eq "authorized policy = H(H(0 || TPM_CC_PolicyAuthorize || keyName) || empty policyRef)" \
	"$(printf '%s' "$(printf '%064d' 0)0000016a$(hexf signer.name)" | xxd -r -p | openssl dgst -sha256 -binary |
		openssl dgst -sha256 -r | cut -d' ' -f1)" "$(hexf authorized.pol)"
vt_check "seal a second secret under the authorized policy" tpm2_create -C prim.ctx -L authorized.pol -i secret.bin \
	-a "fixedtpm|fixedparent|noda" -u auth.pub -r auth.priv
vt_check "load it" tpm2_load -C prim.ctx -u auth.pub -r auth.priv -c auth.ctx
sign_policy() { # sign_policy POL TICKET: openssl signs POL; verifysignature -> ticket
	openssl dgst -sha256 -sign signer.pem -out "$1.sig" "$1" &&
		tpm2_verifysignature -c signer.ctx -g sha256 -m "$1" -s "$1.sig" -f rsassa -t "$2"
}
unseal_auth() { # unseal_auth POL TICKET OUT
	local rc
	tpm2_startauthsession --policy-session -S pa.ctx >/dev/null 2>&1 || return 1
	tpm2_policypcr -S pa.ctx -l sha256:7,11 >/dev/null 2>&1 &&
		tpm2_policyauthorize -S pa.ctx -i "$1" -n signer.name -t "$2" &&
		tpm2_unseal -c auth.ctx -p session:pa.ctx -o "$3"
	rc=$?
	tpm2_flushcontext pa.ctx >/dev/null 2>&1
	return $rc
}
vt_check "sign the PCR policy with openssl; tpm2_verifysignature -> TPM_ST_VERIFIED ticket" sign_policy pcr.pol pcr.tkt
vt_check_eq "the ticket is a TPM_ST_VERIFIED ticket (0x8022) of the owner hierarchy" "802240000001" \
	"$(hexf pcr.tkt | cut -c1-12)"
vt_check "unseal: policypcr + policyauthorize" unseal_auth pcr.pol pcr.tkt out4.bin
vt_check "the secret comes back" cmp secret.bin out4.bin
vt_check "extend PCR 11 (an update: the new kernel)" tpm2_pcrextend "11:sha256=$EVIL"
vt_check_rc "the old approval no longer fits: policyauthorize TPM_RC_VALUE (parameter 1)" 0x1C4 \
	unseal_auth pcr.pol pcr.tkt out5.bin
vt_check "a NEW PCR policy for the new values" tpm2_createpolicy --policy-pcr -l sha256:7,11 -L pcr2.pol
vt_check_true "it differs from the old one" [ "$(hexf pcr.pol)" != "$(hexf pcr2.pol)" ]
vt_check "the signer signs it" sign_policy pcr2.pol pcr2.tkt
vt_check "unseal the same sealed object with the new approval" unseal_auth pcr2.pol pcr2.tkt out6.bin
vt_check "the secret comes back" cmp secret.bin out6.bin
vt_check_rc "the new approval's ticket with the old policy: TPM_RC_VALUE (parameter 4)" 0x4C4 bash -c \
	'tpm2_startauthsession --policy-session -S px.ctx && tpm2_policypcr -S px.ctx -l sha256:7,11 >/dev/null &&
	 tpm2_policyauthorize -S px.ctx -i pcr2.pol -n signer.name -t pcr.tkt; rc=$?; tpm2_flushcontext px.ctx; exit $rc'
openssl genrsa -out rogue.pem 2048 2>/dev/null
openssl rsa -in rogue.pem -pubout -out rogue.pub.pem 2>/dev/null
vt_check "a rogue key signs a policy of its own (its own valid ticket)" bash -c \
	'tpm2_loadexternal -C o -G rsa -u rogue.pub.pem -c rogue.ctx -n rogue.name &&
	 openssl dgst -sha256 -sign rogue.pem -out pcr2.rsig pcr2.pol &&
	 tpm2_verifysignature -c rogue.ctx -g sha256 -m pcr2.pol -s pcr2.rsig -f rsassa -t rogue.tkt'
vt_check_rc "unseal through the rogue approval: TPM_RC_POLICY_FAIL (the authorized policy names the signer)" 0x99D bash -c \
	'tpm2_startauthsession --policy-session -S pr.ctx && tpm2_policypcr -S pr.ctx -l sha256:7,11 >/dev/null &&
	 tpm2_policyauthorize -S pr.ctx -i pcr2.pol -n rogue.name -t rogue.tkt && tpm2_unseal -c auth.ctx -p session:pr.ctx;
	 rc=$?; tpm2_flushcontext pr.ctx; exit $rc'
vt_check "restart the server" vt_server_restart
vt_check "boot, the new kernel" bash -c 'boot() { tpm2_pcrextend "7:sha256=$1" && tpm2_pcrextend "11:sha256=$2" && tpm2_pcrextend "11:sha256=$3"; }; boot '"$M7 $M11 $EVIL"
vt_check "reload primary, sealed object and signer" bash -c \
	'tpm2_createprimary -C o -c prim.ctx && tpm2_load -C prim.ctx -u auth.pub -r auth.priv -c auth.ctx &&
	 tpm2_loadexternal -C o -G rsa -u signer.pub.pem -c signer.ctx'
vt_check "the approval (owner-hierarchy ticket) still unseals after the restart" unseal_auth pcr2.pol pcr2.tkt out7.bin
vt_check "the secret comes back" cmp secret.bin out7.bin

vt_done
