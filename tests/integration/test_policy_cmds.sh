#!/bin/bash
# The policy assertions beyond the basic ones, with tpm2-tools 5.4:
# PolicySigned (and its ticket, PolicyTicket), PolicyAuthorize,
# PolicyAuthorizeNV, PolicyNV, PolicyCounterTimer, PolicyLocality,
# PolicyCpHash, PolicyNameHash, PolicyDuplicationSelect,
# PolicyPhysicalPresence (raw commands: tpm2-tools has no tool for it),
# PolicyNvWritten and PolicyTemplate.  For each: the trial digest equals the
# spec's formula (computed here with openssl), and tpm2_createpolicy's where
# it knows the assertion; a real policy session then authorizes a real
# command (unseal, nvread, nvwrite, duplicate, create); and a negative case
# gets the spec's response code.  Runs against swtpm too (VT_TARGET=swtpm),
# so every digest and code here is also swtpm's.
VT_SCRIPT_TIMEOUT=${VT_SCRIPT_TIMEOUT:-600}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/keys/common.sh"
# vitrum flushes what a client loaded when its connection closes: the
# flushing after every tool is only needed for swtpm's 3 object slots
if [ "$VT_TARGET" = vitrum ]; then
	VTK_AUTOFLUSH=0
	vtk_flush() { :; }
fi

vt_server_start || vt_done
T=$VT_TMP
cd "$T" || vt_done
Z32=$(printf '%064d' 0)
# SHA-256 of a hex string, as hex
hx() { printf '%s' "$1" | xxd -r -p | openssl dgst -sha256 -binary | xxd -p -c 64; }
hexf() { xxd -p -c 256 "$1" 2>/dev/null | tr -d '\n'; }
# policy tools that load an object leave it loaded: flush after them
pol() { local rc; "$@"; rc=$?; vtk_flush; return $rc; }
# trial DIGESTFILE CMD...: run CMD (which uses the session tr.ctx) in a
# fresh trial session, then save its digest to DIGESTFILE
trial() {
	local out=$1 rc
	shift
	tpm2_startauthsession -S tr.ctx >/dev/null 2>&1 || return 1
	"$@"
	rc=$?
	[ $rc -eq 0 ] && tpm2_getpolicydigest -S tr.ctx -o "$out" >/dev/null 2>&1
	rc=$((rc + $?))
	tpm2_flushcontext tr.ctx >/dev/null 2>&1
	return $rc
}
# real CMD...: run CMD in a policy session ps.ctx (flushed afterwards);
# CMD is a function or a command line that uses ps.ctx
real() {
	local rc
	tpm2_startauthsession --policy-session -S ps.ctx >/dev/null 2>&1 || return 1
	"$@"
	rc=$?
	tpm2_flushcontext ps.ctx >/dev/null 2>&1
	vtk_flush
	return $rc
}
getdigest() { tpm2_getpolicydigest -S "$1" -o gd.bin >/dev/null 2>&1 && xxd -p -c 64 gd.bin; }

printf 'the policy secret' >secret.bin
vt_check "createprimary" tpm2_createprimary -C o -c prim.ctx
seal() { # seal NAME POLICYFILE
	tpm2_create -C prim.ctx -L "$2" -i secret.bin -a "fixedtpm|fixedparent|noda" -u "$1.pub" -r "$1.priv" -c "$1.ctx"
}
unseal_ok() { # unseal_ok NAME: unseal NAME.ctx with ps.ctx and check the secret
	tpm2_unseal -c "$1.ctx" -p session:ps.ctx -o "$1.out" || return 1
	cmp -s secret.bin "$1.out"
}

# ================================================================ PolicySigned
openssl genrsa -out signer.pem 2048 2>/dev/null
openssl genrsa -out other.pem 2048 2>/dev/null
openssl rsa -in signer.pem -pubout -out signer.pub.pem 2>/dev/null
vt_check "loadexternal the openssl signing key (owner hierarchy)" \
	tpm2_loadexternal -C o -G rsa -u signer.pub.pem -c signer.ctx -n signer.name
# signed SESSION PEM ARGS...: sign what PolicySigned with ARGS wants with
# PEM (openssl), then run PolicySigned with that signature
signed() {
	local s=$1 pem=$2
	shift 2
	pol tpm2_policysigned -S "$s" -c signer.ctx --raw-data raw.bin "$@" >/dev/null 2>&1 || return 1
	openssl dgst -sha256 -sign "$pem" -out sig.bin raw.bin || return 1
	pol tpm2_policysigned -S "$s" -c signer.ctx -g sha256 -s sig.bin -f rsassa "$@"
}
export -f signed pol unseal_ok hexf vtk_flush
vt_check "trial: policysigned (policyRef 5150)" trial signed.pol signed tr.ctx signer.pem -q 5150
vt_check_eq "PolicySigned digest = H(H(0 || 0x160 || keyName) || policyRef)" \
	"$(hx "$(hx "${Z32}00000160$(hexf signer.name)")5150")" "$(hexf signed.pol)"
vt_check "seal under the PolicySigned policy" seal sgn signed.pol
vt_check "unseal after policysigned with nonceTPM" real bash -c \
	'signed ps.ctx signer.pem -q 5150 -x && unseal_ok sgn'
vt_check "unseal after policysigned without nonceTPM, expiration 0" real bash -c \
	'signed ps.ctx signer.pem -q 5150 && unseal_ok sgn'
vt_check "the policy session's nonceTPM is in the signed data (-x: 32 + 4 + 2 octets)" bash -c \
	'tpm2_startauthsession --policy-session -S n.ctx && tpm2_policysigned -S n.ctx -c signer.ctx -x -q 5150 --raw-data nr.bin;
	 rc=$?; tpm2_flushcontext n.ctx; vtk_flush; [ $rc -eq 0 ] && [ "$(stat -c %s nr.bin)" -eq 38 ]'
vt_check_rc "policysigned signed by another key: TPM_RC_SIGNATURE (parameter 5)" 0x5DB real \
	signed ps.ctx other.pem -q 5150 -x
vt_check_rc "policysigned with a wrong policyRef in the signature: TPM_RC_SIGNATURE" 0x5DB real bash -c \
	'pol tpm2_policysigned -S ps.ctx -c signer.ctx --raw-data raw.bin -q 5151 >/dev/null 2>&1 &&
	 openssl dgst -sha256 -sign signer.pem -out sig.bin raw.bin &&
	 pol tpm2_policysigned -S ps.ctx -c signer.ctx -g sha256 -s sig.bin -f rsassa -q 5150'
# no side effects: a failed PolicySigned leaves the digest as it was
nse() {
	signed ps.ctx other.pem -q 5150 >/dev/null 2>&1 && return 1
	[ "$(getdigest ps.ctx)" = "$Z32" ]
}
vt_check "a failed policysigned leaves policyDigest at zeros" real nse
# expiration: 1 s with nonceTPM, signed now and used 2.5 s later
late() {
	pol tpm2_policysigned -S ps.ctx -c signer.ctx --raw-data raw.bin -x -t 1 -q 5150 >/dev/null 2>&1 || return 9
	openssl dgst -sha256 -sign signer.pem -out sig.bin raw.bin
	sleep 2.5
	pol tpm2_policysigned -S ps.ctx -c signer.ctx -g sha256 -s sig.bin -f rsassa -x -t 1 -q 5150
}
vt_check_rc "policysigned after its expiration: TPM_RC_EXPIRED (parameter 4)" 0x4E3 real late
late_use() {
	signed ps.ctx signer.pem -x -t 6 -q 5150 >/dev/null 2>&1 || return 9
	sleep 7
	tpm2_unseal -c sgn.ctx -p session:ps.ctx
}
vt_check_rc "unseal after the policysigned timeout passed: TPM_RC_EXPIRED (session 1)" 0x9A3 real late_use
vt_check "unseal within the expiration works" real bash -c 'signed ps.ctx signer.pem -x -t 20 -q 5150 && unseal_ok sgn'
# cpHashA: the signer allows exactly one command
vt_check "cpHash of the unseal (tpm2_unseal --cphash)" tpm2_unseal -c sgn.ctx --cphash unseal.cph
vt_check "unseal with a policysigned bound to its cpHash" real bash -c \
	'signed ps.ctx signer.pem -x -q 5150 --cphash-input unseal.cph && unseal_ok sgn'
cphash_digest() { tail -c 32 "$1" | xxd -p -c 64; }
# a cpHash file like unseal.cph with another digest (of no command)
{ head -c $(($(stat -c %s unseal.cph) - 32)) unseal.cph; head -c 32 /dev/zero; } >other.cph
vt_check_rc "unseal with a policysigned bound to another cpHash: TPM_RC_POLICY_FAIL (session 1)" 0x99D real bash -c \
	'signed ps.ctx signer.pem -x -q 5150 --cphash-input other.cph && tpm2_unseal -c sgn.ctx -p session:ps.ctx'
# ---- the ticket, and PolicyTicket
vt_check "policysigned with expiration -300 and nonceTPM returns a ticket" real \
	signed ps.ctx signer.pem -x -t -300 -q 5150 --ticket sgn.tkt --timeout sgn.tmo
vt_check_eq "the ticket is a TPM_ST_AUTH_SIGNED ticket of the owner hierarchy" "802540000001" \
	"$(hexf sgn.tkt | cut -c1-12)"
vt_check_eq "the timeout is 8 octets" 8 "$(stat -c %s sgn.tmo 2>/dev/null)"
vt_check_rc "policyticket in a trial session: TPM_RC_ATTRIBUTES (handle 1)" 0x182 trial ticket.pol \
	tpm2_policyticket -S tr.ctx -n signer.name -q 5150 --ticket sgn.tkt --timeout sgn.tmo
vt_check "policyticket in a policy session" real bash -c \
	'tpm2_policyticket -S ps.ctx -n signer.name -q 5150 --ticket sgn.tkt --timeout sgn.tmo && tpm2_getpolicydigest -S ps.ctx -o ticket.pol'
vt_check_eq "PolicyTicket digest = PolicySigned digest" "$(hexf signed.pol)" "$(hexf ticket.pol)"
vt_check "unseal after policyticket (another session)" real bash -c \
	'tpm2_policyticket -S ps.ctx -n signer.name -q 5150 --ticket sgn.tkt --timeout sgn.tmo && unseal_ok sgn'
cp sgn.tkt bad.tkt
printf '\xff' | dd of=bad.tkt bs=1 seek=12 conv=notrunc 2>/dev/null
vt_check_rc "policyticket with a modified ticket: TPM_RC_TICKET (parameter 5)" 0x5E0 real \
	tpm2_policyticket -S ps.ctx -n signer.name -q 5150 --ticket bad.tkt --timeout sgn.tmo
vt_check_rc "policyticket with another policyRef: TPM_RC_TICKET (parameter 5)" 0x5E0 real \
	tpm2_policyticket -S ps.ctx -n signer.name -q 5151 --ticket sgn.tkt --timeout sgn.tmo
vt_check "policysecret with expiration -300 returns an AUTH_SECRET ticket" real \
	tpm2_policysecret -S ps.ctx -c o -x -t -300 --ticket sec.tkt --timeout sec.tmo
vt_check "trial: policysecret owner" trial secret.pol tpm2_policysecret -S tr.ctx -c o
printf '\x40\x00\x00\x01' >owner.name
vt_check "policyticket of the secret ticket" real bash -c \
	'tpm2_policyticket -S ps.ctx -n owner.name --ticket sec.tkt --timeout sec.tmo && tpm2_getpolicydigest -S ps.ctx -o sticket.pol'
vt_check_eq "PolicyTicket(AUTH_SECRET) digest = PolicySecret digest" "$(hexf secret.pol)" "$(hexf sticket.pol)"

# ================================================================ PolicyAuthorize
# (the full sealing workflow is in test_seal.sh)
vt_check "trial: policyauthorize" trial auth.pol bash -c \
	'tpm2_policyauthorize -S tr.ctx -i /dev/null -q 0a0b -n signer.name'
vt_check_eq "PolicyAuthorize digest = H(H(0 || 0x16a || keyName) || policyRef)" \
	"$(hx "$(hx "${Z32}0000016a$(hexf signer.name)")0a0b")" "$(hexf auth.pol)"
vt_check "trial: policycommandcode Unseal (the approved policy)" trial appr.pol \
	tpm2_policycommandcode -S tr.ctx TPM2_CC_Unseal
( hexf appr.pol; printf '0a0b' ) | xxd -r -p | openssl dgst -sha256 -binary >appr.ahash
openssl pkeyutl -sign -inkey signer.pem -pkeyopt digest:sha256 -in appr.ahash -out appr.sig 2>/dev/null
vt_check "verifysignature of the approval gives a ticket" tpm2_verifysignature -c signer.ctx \
	-d appr.ahash -f rsassa -s appr.sig -t appr.tkt
vt_check "seal under the authorized policy" seal ath auth.pol
vt_check "unseal: policycommandcode, policyauthorize" real bash -c \
	'tpm2_policycommandcode -S ps.ctx TPM2_CC_Unseal && tpm2_policyauthorize -S ps.ctx -i appr.pol -q 0a0b -n signer.name -t appr.tkt && unseal_ok ath'
vt_check_rc "policyauthorize when the policy is not the approved one: TPM_RC_VALUE (parameter 1)" 0x1C4 real \
	tpm2_policyauthorize -S ps.ctx -i appr.pol -q 0a0b -n signer.name -t appr.tkt
vt_check_rc "policyauthorize with a ticket for another policyRef: TPM_RC_VALUE (parameter 4)" 0x4C4 real bash -c \
	'tpm2_policycommandcode -S ps.ctx TPM2_CC_Unseal && tpm2_policyauthorize -S ps.ctx -i appr.pol -q 0a0c -n signer.name -t appr.tkt'

# ================================================================ PolicyAuthorizeNV
vt_check "nvdefine 0x1500020 (34 octets: a TPMT_HA)" tpm2_nvdefine 0x1500020 -C o -s 34 -a "ownerread|ownerwrite|authread|authwrite"
( printf '000b'; hexf appr.pol ) | xxd -r -p >appr.ha
vt_check "nvwrite the approved policy (PolicyCommandCode Unseal) into it" tpm2_nvwrite 0x1500020 -C o -i appr.ha
vt_check "nvreadpublic -> its Name" bash -c 'tpm2_nvreadpublic 0x1500020 | awk "/name:/ {print \$2}" | xxd -r -p > anv.name'
vt_check "trial: policyauthorizenv" trial anv.pol tpm2_policyauthorizenv -S tr.ctx -C o 0x1500020
vt_check_eq "PolicyAuthorizeNV digest = H(0 || 0x192 || nvName)" "$(hx "${Z32}00000192$(hexf anv.name)")" "$(hexf anv.pol)"
vt_check "seal under the PolicyAuthorizeNV policy" seal anv anv.pol
vt_check "unseal: policycommandcode, policyauthorizenv" real bash -c \
	'tpm2_policycommandcode -S ps.ctx TPM2_CC_Unseal && tpm2_policyauthorizenv -S ps.ctx -C o 0x1500020 && unseal_ok anv'
vt_check_rc "policyauthorizenv when the policy differs from the index: TPM_RC_VALUE" 0x084 real \
	tpm2_policyauthorizenv -S ps.ctx -C o 0x1500020
vt_check "nvdefine 0x1500022 without ownerread" tpm2_nvdefine 0x1500022 -C o -s 34 -a "ownerwrite|authread|authwrite"
vt_check "nvwrite the approved policy there" tpm2_nvwrite 0x1500022 -C o -i appr.ha
vt_check_rc "policyauthorizenv with ownerAuth on an index without ownerread: TPM_RC_NV_AUTHORIZATION" 0x149 real bash -c \
	'tpm2_policycommandcode -S ps.ctx TPM2_CC_Unseal && tpm2_policyauthorizenv -S ps.ctx -C o 0x1500022'

# ================================================================ PolicyNV
vt_check "nvdefine 0x1500021 (8 octets, index auth 'nvp')" tpm2_nvdefine 0x1500021 -C o -s 8 -p nvp \
	-a "ownerread|ownerwrite|authread|authwrite"
printf '\x00\x00\x00\x00\x00\x00\x01\x00' >nv.val
vt_check "nvwrite 0x100" tpm2_nvwrite 0x1500021 -C o -i nv.val
vt_check "nvreadpublic -> its Name" bash -c 'tpm2_nvreadpublic 0x1500021 | awk "/name:/ {print \$2}" | xxd -r -p > nv.name'
printf '\x01\x00' >opb.bin
vt_check "trial: policynv offset 6 eq 0x0100" trial nv.pol tpm2_policynv -S tr.ctx -C o -i opb.bin --offset 6 0x1500021 eq
vt_check_eq "PolicyNV digest = H(0 || 0x149 || H(operandB || offset || op) || nvName)" \
	"$(hx "${Z32}00000149$(hx "010000060000")$(hexf nv.name)")" "$(hexf nv.pol)"
vt_check "seal under the PolicyNV policy" seal nvp nv.pol
vt_check "unseal: policynv (owner authorizes the read)" real bash -c \
	'tpm2_policynv -S ps.ctx -C o -i opb.bin --offset 6 0x1500021 eq && unseal_ok nvp'
vt_check "unseal: policynv (the index's own auth authorizes the read)" real bash -c \
	'tpm2_policynv -S ps.ctx -P nvp -i opb.bin --offset 6 0x1500021 eq && unseal_ok nvp'
vt_check_rc "policynv with a wrong index auth: TPM_RC_AUTH_FAIL (session 1)" 0x98E real \
	tpm2_policynv -S ps.ctx -P wrong -i opb.bin --offset 6 0x1500021 eq
printf '\x00\x00\x00\x00\x00\x00\x02\x00' >nv.val2
vt_check "nvwrite 0x200" tpm2_nvwrite 0x1500021 -C o -i nv.val2
vt_check_rc "policynv eq after the index changed: TPM_RC_POLICY" 0x126 real \
	tpm2_policynv -S ps.ctx -C o -i opb.bin --offset 6 0x1500021 eq
# every TPM_EO against the value 0x0200 at offset 6 (signed: 0x0200 > 0xff00
# = -256), all in one policy session: a failed assertion changes nothing
tpm2_startauthsession --policy-session -S eo.ctx >/dev/null 2>&1
for case in "neq 0100 0" "neq 0200 1" "ugt 0100 0" "ugt 0200 1" "sgt ff00 0" "ugt ff00 1" \
	"ult 0300 0" "ult 0200 1" "slt ff00 1" "ult ff00 0" "uge 0200 0" "uge 0201 1" \
	"sge 8000 0" "ule 0200 0" "ule 01ff 1" "sle ff00 1" "sle 0200 0" \
	"bs 0200 0" "bs 0300 1" "bc 0100 0" "bc 0200 1"; do
	set -- $case
	printf '%s' "$2" | xxd -r -p >op.bin
	before=$(getdigest eo.ctx)
	if [ "$3" = 0 ]; then
		vt_check "policynv: 0x0200 $1 0x$2 holds" tpm2_policynv -S eo.ctx -C o -i op.bin --offset 6 0x1500021 "$1"
		args=$(hx "$2$(printf '%04x%04x' 6 "$(case $1 in eq) echo 0;; neq) echo 1;; sgt) echo 2;; ugt) echo 3;;
			slt) echo 4;; ult) echo 5;; sge) echo 6;; uge) echo 7;; sle) echo 8;; ule) echo 9;; bs) echo 10;; bc) echo 11;; esac)")")
		vt_check_eq "  and extends the digest with H(operandB || offset || op) and the Name" \
			"$(hx "${before}00000149${args}$(hexf nv.name)")" "$(getdigest eo.ctx)"
	else
		vt_check_rc "policynv: 0x0200 $1 0x$2 fails: TPM_RC_POLICY" 0x126 \
			tpm2_policynv -S eo.ctx -C o -i op.bin --offset 6 0x1500021 "$1"
		vt_check_eq "  and leaves the digest alone" "$before" "$(getdigest eo.ctx)"
	fi
done
tpm2_flushcontext eo.ctx >/dev/null 2>&1
vt_check "nvdefine 0x1500023, never written" tpm2_nvdefine 0x1500023 -C o -s 8 -a "ownerread|ownerwrite"
vt_check_rc "policynv on an index never written: TPM_RC_NV_UNINITIALIZED" 0x14A real \
	tpm2_policynv -S ps.ctx -C o -i opb.bin 0x1500023 eq
vt_check "trial: policynv on it is fine (a trial session reads nothing)" trial x.pol \
	tpm2_policynv -S tr.ctx -C o -i opb.bin 0x1500023 eq

# ================================================================ PolicyCounterTimer
vt_check "trial: policycountertimer --ult clock=0xffffffffffff" trial ct.pol \
	tpm2_policycountertimer -S tr.ctx --ult clock=0xffffffffffff
vt_check_eq "PolicyCounterTimer digest = H(0 || 0x16d || H(operandB || offset 8 || TPM_EO_UNSIGNED_LT))" \
	"$(hx "${Z32}0000016d$(hx "0000ffffffffffff00080005")")" "$(hexf ct.pol)"
vt_check "seal under it" seal ctm ct.pol
vt_check "unseal: policycountertimer (clock is below 2^48)" real bash -c \
	'tpm2_policycountertimer -S ps.ctx --ult clock=0xffffffffffff && unseal_ok ctm'
vt_check_rc "policycountertimer --ugt clock=0xffffffffffff: TPM_RC_POLICY" 0x126 real \
	tpm2_policycountertimer -S ps.ctx --ugt clock=0xffffffffffff
vt_check "policycountertimer: time < 2^40, safe = YES, restarts >= 0 hold" real bash -c \
	'tpm2_policycountertimer -S ps.ctx --ult 0xffffffffff && tpm2_policycountertimer -S ps.ctx --eq safe &&
	 tpm2_policycountertimer -S ps.ctx --uge restarts=0'
rc_now=$(vt_clock_field reset_count)
vt_check "policycountertimer: resets = $rc_now (tpm2_readclock) holds" real \
	tpm2_policycountertimer -S ps.ctx --eq resets="$rc_now"
vt_check_rc "policycountertimer: resets = $((rc_now + 1)): TPM_RC_POLICY" 0x126 real \
	tpm2_policycountertimer -S ps.ctx --eq resets=$((rc_now + 1))

# ================================================================ PolicyLocality
vt_check "trial: policylocality zero" trial loc.pol tpm2_policylocality -S tr.ctx zero
vt_check_eq "PolicyLocality digest = H(0 || 0x16f || 0x01)" "$(hx "${Z32}0000016f01")" "$(hexf loc.pol)"
vt_check "seal under it" seal loc loc.pol
vt_check "unseal at locality 0: policylocality zero" real bash -c 'tpm2_policylocality -S ps.ctx zero && unseal_ok loc'
vt_check "trial: policylocality one" trial loc1.pol tpm2_policylocality -S tr.ctx one
vt_check "seal under locality one" seal loc1 loc1.pol
vt_check_rc "unseal at locality 0 under policylocality one: TPM_RC_LOCALITY" 0x907 real bash -c \
	'tpm2_policylocality -S ps.ctx one && tpm2_unseal -c loc1.ctx -p session:ps.ctx'
vt_check_rc "policylocality zero then one (no common locality): TPM_RC_RANGE (parameter 1)" 0x1CD real bash -c \
	'tpm2_policylocality -S ps.ctx zero && tpm2_policylocality -S ps.ctx one'

# ================================================================ PolicyCpHash
# An object's Name covers its authPolicy, so a policy cannot name a cpHash
# that names the object itself: the usual way is an authorized policy.  The
# object ath (PolicyAuthorize by signer, policyRef 0a0b) is unsealed under
# an approved PolicyCpHash(cpHash of that very unseal).
approve() { # approve POLICYFILE TICKET: signer approves POLICYFILE (policyRef 0a0b)
	( hexf "$1"; printf '0a0b' ) | xxd -r -p | openssl dgst -sha256 -binary >"$1.ahash"
	openssl pkeyutl -sign -inkey signer.pem -pkeyopt digest:sha256 -in "$1.ahash" -out "$1.sig" 2>/dev/null &&
		tpm2_verifysignature -c signer.ctx -d "$1.ahash" -f rsassa -s "$1.sig" -t "$2"
}
vt_check "cpHash of unsealing ath (tpm2_unseal --cphash)" tpm2_unseal -c ath.ctx --cphash ath.cph
vt_check "cpHash of unsealing anv" tpm2_unseal -c anv.ctx --cphash anv.cph
vt_check "trial: policycphash" trial cph.pol tpm2_policycphash -S tr.ctx --cphash-input ath.cph
vt_check_eq "PolicyCpHash digest = H(0 || 0x16e || cpHash)" "$(hx "${Z32}0000016e$(cphash_digest ath.cph)")" \
	"$(hexf cph.pol)"
vt_check "the signer approves PolicyCpHash(unseal ath)" approve cph.pol cph.tkt
vt_check "unseal ath: policycphash, policyauthorize" real bash -c \
	'tpm2_policycphash -S ps.ctx --cphash-input ath.cph && tpm2_policyauthorize -S ps.ctx -i cph.pol -q 0a0b -n signer.name -t cph.tkt && unseal_ok ath'
vt_check "trial: policycphash of another command (unseal anv)" trial cpo.pol tpm2_policycphash -S tr.ctx --cphash-input anv.cph
vt_check "the signer approves that too" approve cpo.pol cpo.tkt
vt_check_rc "unseal ath under PolicyCpHash(unseal anv): TPM_RC_POLICY_FAIL (session 1)" 0x99D real bash -c \
	'tpm2_policycphash -S ps.ctx --cphash-input anv.cph && tpm2_policyauthorize -S ps.ctx -i cpo.pol -q 0a0b -n signer.name -t cpo.tkt &&
	 tpm2_unseal -c ath.ctx -p session:ps.ctx'
vt_check_rc "policycphash twice with different values: TPM_RC_CPHASH" 0x151 real bash -c \
	'tpm2_policycphash -S ps.ctx --cphash-input ath.cph && tpm2_policycphash -S ps.ctx --cphash-input anv.cph'

# ================================================================ PolicyNameHash
vt_check "Name of ath" tpm2_readpublic -c ath.ctx -n ath.name
vt_check "Name of anv" tpm2_readpublic -c anv.ctx -n anv.oname
hx "$(hexf ath.name)" | xxd -r -p >ath.nh
hx "$(hexf anv.oname)" | xxd -r -p >anv.nh
vt_check "trial: policynamehash H(Name of ath)" trial nh.pol tpm2_policynamehash -S tr.ctx -n ath.nh
vt_check_eq "PolicyNameHash digest = H(0 || 0x170 || nameHash)" "$(hx "${Z32}00000170$(hexf ath.nh)")" "$(hexf nh.pol)"
vt_check "the signer approves it" approve nh.pol nh.tkt
vt_check "unseal ath: policynamehash, policyauthorize" real bash -c \
	'tpm2_policynamehash -S ps.ctx -n ath.nh && tpm2_policyauthorize -S ps.ctx -i nh.pol -q 0a0b -n signer.name -t nh.tkt && unseal_ok ath'
vt_check "trial: policynamehash H(Name of anv)" trial nho.pol tpm2_policynamehash -S tr.ctx -n anv.nh
vt_check "the signer approves it" approve nho.pol nho.tkt
vt_check_rc "unseal ath under PolicyNameHash(anv): TPM_RC_POLICY_FAIL (session 1)" 0x99D real bash -c \
	'tpm2_policynamehash -S ps.ctx -n anv.nh && tpm2_policyauthorize -S ps.ctx -i nho.pol -q 0a0b -n signer.name -t nho.tkt &&
	 tpm2_unseal -c ath.ctx -p session:ps.ctx'
vt_check_rc "policynamehash after policycphash: TPM_RC_CPHASH" 0x151 real bash -c \
	'tpm2_policycphash -S ps.ctx --cphash-input ath.cph && tpm2_policynamehash -S ps.ctx -n ath.nh'
vt_check_rc "policynamehash of a wrong size: TPM_RC_SIZE (parameter 1)" 0x1D5 real bash -c \
	'head -c 20 ath.nh > short.nh && tpm2_policynamehash -S ps.ctx -n short.nh'

# ================================================================ PolicyDuplicationSelect
vt_check "create a new parent (RSA storage key)" tpm2_create -C prim.ctx -G rsa -a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|decrypt|noda" \
	-u np.pub -r np.priv -c np.ctx
vt_check "its Name" tpm2_readpublic -c np.ctx -n np.name
vt_check "trial: policyduplicationselect (object not included)" trial ds.pol \
	tpm2_policyduplicationselect -S tr.ctx -n np.name -N np.name
vt_check_eq "PolicyDuplicationSelect digest = H(0 || 0x188 || newParentName || NO)" \
	"$(hx "${Z32}00000188$(hexf np.name)00")" "$(hexf ds.pol)"
vt_check "create a duplicable ECC key with that policy" tpm2_create -C prim.ctx -G ecc256 -L ds.pol \
	-a "sensitivedataorigin|userwithauth|sign" -u dk.pub -r dk.priv -c dk.ctx
vt_check "its Name" tpm2_readpublic -c dk.ctx -n dk.name
vt_check "trial: policyduplicationselect --include-object" trial dsi.pol \
	tpm2_policyduplicationselect -S tr.ctx -n dk.name -N np.name --include-object
vt_check_eq "with the object: H(0 || 0x188 || objectName || newParentName || YES)" \
	"$(hx "${Z32}00000188$(hexf dk.name)$(hexf np.name)01")" "$(hexf dsi.pol)"
vt_check "duplicate to the selected parent" real bash -c \
	'tpm2_policyduplicationselect -S ps.ctx -n dk.name -N np.name &&
	 tpm2_duplicate -C np.ctx -c dk.ctx -G null -p session:ps.ctx -r dup.priv -s dup.seed'
vt_check "import the duplicate under the new parent" tpm2_import -C np.ctx -u dk.pub -i dup.priv -s dup.seed -r dki.priv
vt_check "create another parent" tpm2_create -C prim.ctx -G rsa -a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|decrypt|noda" \
	-u np2.pub -r np2.priv -c np2.ctx
vt_check_rc "duplicate to another parent: TPM_RC_POLICY_FAIL (session 1)" 0x99D real bash -c \
	'tpm2_policyduplicationselect -S ps.ctx -n dk.name -N np.name &&
	 tpm2_duplicate -C np2.ctx -c dk.ctx -G null -p session:ps.ctx -r dup2.priv -s dup2.seed'
vt_check_rc "policycommandcode Unseal then policyduplicationselect: TPM_RC_COMMAND_CODE" 0x143 real bash -c \
	'tpm2_policycommandcode -S ps.ctx TPM2_CC_Unseal && tpm2_policyduplicationselect -S ps.ctx -n dk.name -N np.name'

# ================================================================ PolicyNvWritten
vt_check "trial: policynvwritten c (not written) + policycommandcode NV_Write" trial nw.pol bash -c \
	'tpm2_policynvwritten -S tr.ctx c && tpm2_policycommandcode -S tr.ctx TPM2_CC_NV_Write'
vt_check_eq "digest = H(H(0 || 0x18f || NO) || 0x16c || 0x137)" \
	"$(hx "$(hx "${Z32}0000018f00")0000016c00000137")" "$(hexf nw.pol)"
vt_check "nvdefine 0x1500028: write once (policywrite with that policy)" \
	tpm2_nvdefine 0x1500028 -C o -s 8 -L nw.pol -a "ownerread|policywrite"
nvw() { tpm2_policynvwritten -S ps.ctx c && tpm2_policycommandcode -S ps.ctx TPM2_CC_NV_Write &&
	tpm2_nvwrite 0x1500028 -P session:ps.ctx -i "$1"; }
vt_check "the first write through the policy works" real nvw nv.val
vt_check_rc "the second: TPM_RC_POLICY_FAIL (session 1)" 0x99D real nvw nv.val2
vt_check "the index holds the first value" bash -c 'tpm2_nvread 0x1500028 -C o -s 8 -o w.bin && cmp -s w.bin nv.val'
vt_check_rc "policynvwritten c then s: TPM_RC_VALUE (parameter 1)" 0x1C4 real bash -c \
	'tpm2_policynvwritten -S ps.ctx c && tpm2_policynvwritten -S ps.ctx s'

# ================================================================ PolicyTemplate
vt_check "template data of an RSA key (tpm2_create --template-data)" \
	tpm2_create -C prim.ctx -G rsa -a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign" \
	--template-data tpl.bin -u t0.pub -r t0.priv
openssl dgst -sha256 -binary tpl.bin >tpl.hash
vt_check "trial: policytemplate" trial tpl.pol tpm2_policytemplate -S tr.ctx --template-hash tpl.hash
vt_check_eq "PolicyTemplate digest = H(0 || 0x190 || templateHash)" "$(hx "${Z32}00000190$(hexf tpl.hash)")" "$(hexf tpl.pol)"
vt_check "a parent whose authPolicy is that PolicyTemplate" tpm2_create -C prim.ctx -G rsa -L tpl.pol \
	-a "fixedtpm|fixedparent|sensitivedataorigin|restricted|decrypt|noda" -u tp.pub -r tp.priv -c tp.ctx
vt_check "create the templated key under it through policytemplate" real bash -c \
	'tpm2_policytemplate -S ps.ctx --template-hash tpl.hash &&
	 tpm2_create -C tp.ctx -P session:ps.ctx -G rsa -a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign" -u t1.pub -r t1.priv'
vt_check_rc "create another template (decrypt key): TPM_RC_POLICY_FAIL (session 1)" 0x99D real bash -c \
	'tpm2_policytemplate -S ps.ctx --template-hash tpl.hash &&
	 tpm2_create -C tp.ctx -P session:ps.ctx -G rsa -a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|decrypt" -u t2.pub -r t2.priv'
vt_check_rc "policycphash after policytemplate: TPM_RC_CPHASH" 0x151 real bash -c \
	'tpm2_policytemplate -S ps.ctx --template-hash tpl.hash && tpm2_policycphash -S ps.ctx --cphash-input anv.cph'

# ================================================================ PolicyPhysicalPresence
# tpm2-tools 5.4 has no tool for it: raw commands on one connection
# (StartAuthSession, PolicyPhysicalPresence, PolicyGetDigest, NV_Read).
vt_check "nvdefine 0x1500029 with PolicyPhysicalPresence as its read policy" bash -c \
	"printf '%s' '$(hx "${Z32}00000187")' | xxd -r -p > pp.pol && tpm2_nvdefine 0x1500029 -C o -s 8 -L pp.pol -a 'ownerwrite|policyread' &&
	 tpm2_nvwrite 0x1500029 -C o -i nv.val"
pp_py() { # pp_py trial|policy [pp-on]: prints "digest=HEX" and "read=RC"
	"$VT_PYTHON" - "$VT_LIB_DIR" "$VT_TARGET" "$VT_PORT" "$@" <<'EOF'
import struct, sys, socket
sys.path.insert(0, sys.argv[1])
import rawtpm
target, port, kind = sys.argv[2], int(sys.argv[3]), sys.argv[4]
pp_on = len(sys.argv) > 5
proto = "mssim" if target == "vitrum" else "raw"
if pp_on and target == "vitrum":
    s = socket.create_connection(("127.0.0.1", port + 1)); s.sendall(struct.pack(">I", 3)); s.recv(4); s.close()
c = rawtpm.Conn(proto, "127.0.0.1", port, 5.0)
def cmd(tag, cc, body):
    r = c.command(struct.pack(">HII", tag, 10 + len(body), cc) + body)
    return struct.unpack(">I", r[6:10])[0], r
se = 1 if kind == "policy" else 3
rc, r = cmd(0x8001, 0x176, struct.pack(">II", 0x40000007, 0x40000007) + struct.pack(">H", 16) + b"\x01" * 16
            + struct.pack(">HBHH", 0, se, 0x0010, 0x000B))
assert rc == 0, hex(rc)
h = struct.unpack(">I", r[10:14])[0]
rc, r = cmd(0x8001, 0x187, struct.pack(">I", h))
print("pp=0x%x" % rc)
rc, r = cmd(0x8001, 0x189, struct.pack(">I", h))
print("digest=" + r[12:44].hex())
if kind == "policy":
    # NV_Read(0x1500029 authorized by itself through the policy session)
    auth = struct.pack(">I", h) + struct.pack(">H", 16) + b"\x02" * 16 + b"\x01" + struct.pack(">H", 0)
    body = struct.pack(">II", 0x1500029, 0x1500029) + struct.pack(">I", len(auth)) + auth + struct.pack(">HH", 8, 0)
    rc, r = cmd(0x8002, 0x14E, body)
    print("read=0x%x" % rc)
    cmd(0x8001, 0x165, struct.pack(">I", h))
else:
    cmd(0x8001, 0x165, struct.pack(">I", h))
if pp_on and target == "vitrum":
    s = socket.create_connection(("127.0.0.1", port + 1)); s.sendall(struct.pack(">I", 4)); s.recv(4); s.close()
EOF
}
out=$(pp_py trial 2>&1)
vt_check_eq "trial PolicyPhysicalPresence digest (raw) = H(0 || 0x187)" "digest=$(hx "${Z32}00000187")" \
	"$(echo "$out" | grep digest=)"
out=$(pp_py policy 2>&1)
vt_check_eq "NV_Read through PolicyPhysicalPresence without PP: TPM_RC_PP (session 1)" "read=0x990" \
	"$(echo "$out" | grep read=)"
if [ "$VT_TARGET" = vitrum ]; then
	out=$(pp_py policy on 2>&1)
	vt_check_eq "NV_Read through PolicyPhysicalPresence with PP asserted (platform port)" "read=0x0" \
		"$(echo "$out" | grep read=)"
else
	vt_skip "NV_Read with PP asserted" "swtpm's platform signals are not mssim's"
fi

vt_done
