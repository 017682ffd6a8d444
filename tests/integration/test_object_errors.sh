#!/bin/bash
# Error paths of the object commands (TPM 2.0 Part 3 §12, §28): CreatePrimary,
# Create, Load, Unseal, ObjectChangeAuth, EvictControl, ContextSave,
# ContextLoad, FlushContext — each must answer the exact TPM_RC (with its
# handle / parameter number), through tpm2-tools and hand-made commands.
# Happy paths are the controls that show an error comes from what the test
# changed.  The codes are those swtpm (libtpms) gives:
#   VT_TARGET=swtpm tests/integration/test_object_errors.sh
# Where the TPMs are allowed to differ (slot counts, capacity) the script
# says so.
# (lib.sh arms its watchdog when sourced: the timeout must be set first)
VT_SCRIPT_TIMEOUT=${VT_SCRIPT_TIMEOUT:-300}
. "$(dirname "$0")/lib.sh"
# The raw checks below send one command per connection and keep using the
# objects earlier ones loaded: ask vitrum not to flush them on disconnect
# (every start and restart; swtpm never flushes).
VITRUM_ARGS="${VITRUM_ARGS:-} --keep-loaded"
vt_server_start || vt_done
cd "$VT_TMP" || exit 2

# ---------------------------------------------------------------- helpers
# raw_cmd CC HANDLESHEX NAUTH PARAMSHEX [PW] -> command hex; NAUTH password
# sessions (TPM_RS_PW, password PW as hex, default empty).
raw_cmd() {
	local cc=$1 h=$2 nauth=$3 p=$4 pw=${5:-} body tag=8001 ses='' i
	if [ "$nauth" -gt 0 ]; then
		tag=8002
		for ((i = 0; i < nauth; i++)); do
			ses="${ses}40000009000001$(printf '%04x' $((${#pw} / 2)))$pw"
		done
		body="$h$(printf '%08x' $((${#ses} / 2)))$ses$p"
	else
		body="$h$p"
	fi
	printf '%s%08x%08x%s' "$tag" $((10 + ${#body} / 2)) "$cc" "$body"
}
raw_out() { # raw_out HEX -> "rc=0x... len=N rsp=HEX"
	# shellcheck disable=SC2086
	$VT_RAW send "$1" 2>&1 | head -n 1
}
raw_rc() { # raw_rc HEX -> rc as 0x%03x
	local out
	out=$(raw_out "$1")
	case "$out" in
	rc=0x*) printf '0x%03x\n' $((${out:3:10})) ;;
	*) echo "error: $out" ;;
	esac
}
raw_rsp() { raw_out "$1" | sed -e 's/.*rsp=//'; }
vt_raw_rc() { # vt_raw_rc NAME WANT CC HANDLES NAUTH PARAMS [PW]
	local name=$1 want=$2
	shift 2
	vt_check_eq "$name" "$want" "$(raw_rc "$(raw_cmd "$@")")"
}
b2() { printf '%04x%s' $((${#1} / 2)) "$1"; } # a TPM2B of hex $1
hexof() { xxd -p -c 100000 "$1" | tr -d '\n'; }

CC_CREATEPRIMARY=0x131
CC_LOAD=0x157
CC_EVICT=0x120
CC_CTXSAVE=0x162
CC_CTXLOAD=0x161
CC_FLUSH=0x165
CC_READPUBLIC=0x173
OWNER=40000001
PLATFORM=4000000c

# Templates (TPMT_PUBLIC, hex).  Attributes: fixedTPM 2, stClear 4,
# fixedParent 10, sensitiveDataOrigin 20, userWithAuth 40, adminWithPolicy 80,
# noDA 400, restricted 10000, decrypt 20000, sign 40000.
AES128CFB=000600800043
ecc_tmpl() { # ecc_tmpl ATTRS SYM SCHEME CURVE [UNIQUEX]
	printf '0023000b%08x0000%s%s%s0010%s0000' "$1" "$2" "$3" "$4" "$(b2 "${5:-}")"
}
rsa_tmpl() { # rsa_tmpl ATTRS SYM BITS
	printf '0001000b%08x0000%s0010%04x000000000000' "$1" "$2" "$3"
}
STORAGE_ATTRS=$((0x30472))
STORAGE=$(ecc_tmpl $STORAGE_ATTRS $AES128CFB 0010 0003)
# CreatePrimary / Create parameters: inSensitive (userAuth, data), inPublic,
# outsideInfo, creationPCR
create_params() { # create_params TEMPLATEHEX [AUTHHEX] [DATAHEX]
	local s
	s="$(b2 "${2:-}")$(b2 "${3:-}")"
	printf '%s%s0000%s' "$(b2 "$s")" "$(b2 "$1")" 00000000
}

# The transient handle tpm2-tools left loaded last (8 hex digits).
last_transient() { tpm2_getcap handles-transient | tail -n 1 | sed -e 's/^- 0x//' | tr 'A-F' 'a-f'; }
flush_all() {
	tpm2_flushcontext -t >/dev/null 2>&1
	tpm2_flushcontext -s >/dev/null 2>&1
	tpm2_flushcontext -l >/dev/null 2>&1
}
# vt_check / vt_check_rc, then flush everything (swtpm has 3 object slots
# and the tools leave what they load behind; contexts are in files)
vc() {
	vt_check "$@"
	local r=$?
	flush_all
	return $r
}
vcr() {
	vt_check_rc "$@"
	local r=$?
	flush_all
	return $r
}

# ======================================================= CreatePrimary
SATTR='fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|restricted|decrypt'
mkprim() { # mkprim HIER CTX [UNIQUEFILE]: a storage primary, public area in CTX's .pub
	tpm2_createprimary -C "$1" -G ecc256:aes128cfb -c "$2.ctx" -a "$SATTR" ${3:+-u "$3"} &&
		tpm2_flushcontext -t &&
		tpm2_readpublic -c "$2.ctx" -o "$2.pub" && tpm2_flushcontext -t
}
# A loaded storage primary (nothing else loaded); PH = its handle.
PH=
loadprim() {
	flush_all
	tpm2_createprimary -C "${1:-o}" -G ecc256:aes128cfb -c "${2:-prim}.ctx" -a "$SATTR" >/dev/null 2>&1
	PH=$(last_transient)
}
flush_all
vt_check "storage primary (ECC P-256)" mkprim o prim || vt_done
flush_all
vt_check "same template again" mkprim o prim2
vt_check_eq "same template, same hierarchy: the same public area" "$(hexof prim.pub)" "$(hexof prim2.pub)"
flush_all
printf '\005\000other\000\000' >unique.dat # TPMS_ECC_POINT, sizes little-endian (tpm2_createprimary(1))
vt_check "another unique field" mkprim o other unique.dat
flush_all
vt_check_true "another unique field: another key" [ "$(hexof prim.pub)" != "$(hexof other.pub)" ]
vt_check "the endorsement hierarchy's primary" mkprim e eprim
flush_all
vt_check "the null hierarchy's primary" mkprim n nprim
flush_all
vt_check_true "endorsement: another key" [ "$(hexof prim.pub)" != "$(hexof eprim.pub)" ]
vt_check_true "null: another key" [ "$(hexof prim.pub)" != "$(hexof nprim.pub)" ]
vt_server_restart || vt_done # TPM Reset
vt_check "after TPM Reset: owner primary" mkprim o prim3
flush_all
vt_check "after TPM Reset: endorsement primary" mkprim e eprim3
flush_all
vt_check "after TPM Reset: null primary" mkprim n nprim3
flush_all
vt_check_eq "after TPM Reset: the owner primary is the same" "$(hexof prim.pub)" "$(hexof prim3.pub)"
vt_check_eq "after TPM Reset: the endorsement primary is the same" "$(hexof eprim.pub)" "$(hexof eprim3.pub)"
vt_check_true "after TPM Reset: the null primary is new" [ "$(hexof nprim.pub)" != "$(hexof nprim3.pub)" ]
vt_check "storage primary again" mkprim o prim
vt_check "null primary again (its context is used at the end)" mkprim n nprim
flush_all

# raw CreatePrimary with broken templates: the code comes with P2 (inPublic)
cp_rc() { # cp_rc NAME WANT TEMPLATE [HIER]
	vt_raw_rc "$1" "$2" $CC_CREATEPRIMARY "${4:-$OWNER}" 1 "$(create_params "$3")"
	flush_all
}
cp_rc "createprimary raw: good storage template (control)" 0x000 "$STORAGE"
cp_rc "createprimary: fixedTPM without fixedParent -> TPM_RC_ATTRIBUTES+P2" 0x2c2 \
	"$(ecc_tmpl $((STORAGE_ATTRS & ~0x10)) $AES128CFB 0010 0003)"
cp_rc "createprimary: restricted sign+decrypt -> TPM_RC_ATTRIBUTES+P2" 0x2c2 \
	"$(ecc_tmpl $((STORAGE_ATTRS | 0x40000)) $AES128CFB 0010 0003)"
cp_rc "createprimary: storage key, symmetric NULL -> TPM_RC_SYMMETRIC+P2" 0x2d6 \
	"$(ecc_tmpl $STORAGE_ATTRS 0010 0010 0003)"
cp_rc "createprimary: unknown curve -> TPM_RC_CURVE+P2" 0x2e6 \
	"$(ecc_tmpl $STORAGE_ATTRS $AES128CFB 0010 0099)"
# TPMI_RSA_KEY_BITS and TPMI_AES_KEY_BITS are interface types whose bad
# values are TPM_RC_VALUE (Part 2 §11.2.4.? and §11.1.?), as swtpm answers
cp_rc "createprimary: RSA 1000 bits -> TPM_RC_VALUE+P2" 0x2c4 \
	"$(rsa_tmpl $STORAGE_ATTRS $AES128CFB 1000)"
cp_rc "createprimary: AES-64 storage symmetric -> TPM_RC_VALUE+P2" 0x2c4 \
	"$(ecc_tmpl $STORAGE_ATTRS 000600400043 0010 0003)"
# vitrum wants a storage key's symmetric mode to be CFB (the mode it
# protects children with); swtpm accepts CTR
if [ "$VT_TARGET" = vitrum ]; then
	cp_rc "createprimary: storage symmetric in CTR mode -> TPM_RC_MODE+P2" 0x2c9 \
		"$(ecc_tmpl $STORAGE_ATTRS 000600800040 0010 0003)"
fi
cp_rc "createprimary: sign key with a storage symmetric -> TPM_RC_SYMMETRIC+P2" 0x2d6 \
	"$(ecc_tmpl $((0x40472)) $AES128CFB 0018000b 0003)"
cp_rc "createprimary: ECDSA sign key (control)" 0x000 \
	"$(ecc_tmpl $((0x40472)) 0010 0018000b 0003)"
vt_raw_rc "createprimary: empty inPublic -> TPM_RC_SIZE+P2" 0x2d5 \
	$CC_CREATEPRIMARY $OWNER 1 "$(b2 "00000000")000000000000"
vt_raw_rc "createprimary: hierarchy TPM_RH_LOCKOUT -> TPM_RC_VALUE+H1" 0x184 \
	$CC_CREATEPRIMARY 4000000a 1 "$(create_params "$STORAGE")"
flush_all

# ================================================= Create, Load, Unseal
BASE='fixedtpm|fixedparent|userwithauth|noda'
echo -n "sealed secret" >secret.dat
vc "load the storage primary" mkprim o prim
vc "create: sealed data" tpm2_create -C prim.ctx -u seal.pub -r seal.priv -i secret.dat -p sealpw -a "$BASE"
vc "create: ECDSA key" tpm2_create -C prim.ctx -G ecc256:ecdsa-sha256 -u sign.pub -r sign.priv \
	-a "$BASE|sensitivedataorigin|sign"
vc "create: HMAC key" tpm2_create -C prim.ctx -G hmac -u hmac.pub -r hmac.priv \
	-a "$BASE|sensitivedataorigin|sign"
vc "create: sealed data, userWithAuth CLEAR" tpm2_create -C prim.ctx -u nouser.pub -r nouser.priv \
	-i secret.dat -a 'fixedtpm|fixedparent|noda'
vc "create: sealed data, stClear" tpm2_create -C prim.ctx -u stc.pub -r stc.priv -i secret.dat \
	-a "$BASE|stclear"
vcr "create: sensitiveDataOrigin SET with data -> TPM_RC_ATTRIBUTES+P2" 0x2c2 \
	tpm2_create -C prim.ctx -u x.pub -r x.priv -i secret.dat -a "$BASE|sensitivedataorigin"
vcr "create: under a signing key -> TPM_RC_TYPE+H1" 0x18a \
	bash -c 'tpm2_load -C prim.ctx -u sign.pub -r sign.priv -c sign.ctx >/dev/null &&
		tpm2_create -C sign.ctx -u x.pub -r x.priv -i secret.dat -a "fixedtpm|fixedparent|userwithauth"'
flush_all

vc "load sealed data (control)" tpm2_load -C prim.ctx -u seal.pub -r seal.priv -c seal.ctx
vc "unseal (control)" tpm2_unseal -c seal.ctx -p sealpw -o out.dat
vt_check_eq "unseal gives the data" "sealed secret" "$(cat out.dat)"
vcr "unseal with the wrong password (noDA) -> TPM_RC_BAD_AUTH+S1" 0x9a2 tpm2_unseal -c seal.ctx -p wrong
flush_all
vc "other primary" mkprim o other unique.dat
vcr "load under the wrong parent -> TPM_RC_INTEGRITY+P1" 0x1df \
	tpm2_load -C other.ctx -u seal.pub -r seal.priv -c x.ctx
flush_all
# the public area: TPM2B size(2) type(2) nameAlg(2) attributes(4) ...; flip
# the noDA bit, then a bit in the unique field (the last octet)
pubhex=$(hexof seal.pub)
printf '%s' "${pubhex:0:16}$(printf '%02x' $((0x${pubhex:16:2} ^ 0x04)))${pubhex:18}" | xxd -r -p >mod.pub
last=$((${#pubhex} - 2))
printf '%s' "${pubhex:0:$last}$(printf '%02x' $((0x${pubhex:$last:2} ^ 0x01)))" | xxd -r -p >mod2.pub
vcr "load with a changed attribute -> TPM_RC_INTEGRITY+P1" 0x1df \
	tpm2_load -C prim.ctx -u mod.pub -r seal.priv -c x.ctx
flush_all
vcr "load with a changed unique field -> TPM_RC_INTEGRITY+P1" 0x1df \
	tpm2_load -C prim.ctx -u mod2.pub -r seal.priv -c x.ctx
flush_all
privhex=$(hexof seal.priv)
# (octets 2-3 are the integrity size; see below)
for pos in 6 10 40 $((${#privhex} - 2)); do
	printf '%s' "${privhex:0:$pos}$(printf '%02x' $((0x${privhex:$pos:2} ^ 0x01)))${privhex:$((pos + 2))}" |
		xxd -r -p >mod.priv
	vcr "load with private octet $((pos / 2)) changed -> TPM_RC_INTEGRITY+P1" 0x1df \
		tpm2_load -C prim.ctx -u seal.pub -r mod.priv -c x.ctx
	flush_all
done
vcr "load the ECDSA key's private with the sealed public -> TPM_RC_INTEGRITY+P1" 0x1df \
	tpm2_load -C prim.ctx -u seal.pub -r sign.priv -c x.ctx
flush_all

# Load raw: the handle of the loaded primary
loadprim
SEALPUB=$(hexof seal.pub)
SEALPRIV=$(hexof seal.priv)
vt_raw_rc "load raw: private only its HMAC -> TPM_RC_INTEGRITY+P1" 0x1df \
	$CC_LOAD "$PH" 1 "0022${SEALPRIV:4:68}$SEALPUB"
# the integrity size 0x0021 (wrong, but within TPMU_HA) and 0x4020 (more
# than any digest)
SZ=$(printf '%04x' $((0x${SEALPRIV:0:4})))
vt_raw_rc "load raw: integrity size 33 -> TPM_RC_INTEGRITY+P1" 0x1df $CC_LOAD "$PH" 1 "${SZ}0021${SEALPRIV:8}$SEALPUB"
vt_raw_rc "load raw: integrity size 0x4020 -> TPM_RC_SIZE+P1" 0x1d5 $CC_LOAD "$PH" 1 "${SZ}4020${SEALPRIV:8}$SEALPUB"
vt_raw_rc "load raw: trailing octet -> TPM_RC_SIZE" 0x095 $CC_LOAD "$PH" 1 "$SEALPRIV${SEALPUB}00"
vt_raw_rc "load raw: empty inPublic -> TPM_RC_SIZE+P2" 0x2d5 $CC_LOAD "$PH" 1 "${SEALPRIV}0000"
vt_raw_rc "load raw: parent not loaded -> TPM_RC_REFERENCE_H0" 0x910 $CC_LOAD 80000002 1 "$SEALPRIV$SEALPUB"
vt_raw_rc "load raw (control)" 0x000 $CC_LOAD "$PH" 1 "$SEALPRIV$SEALPUB"
flush_all

# transient slots: load until TPM_RC_OBJECT_MEMORY (vitrum has 8 slots,
# swtpm 3), then FlushContext frees one
loadprim
n=1 rc=0x000 LASTH=
while [ "$rc" = 0x000 ] && [ $n -lt 64 ]; do
	out=$(raw_out "$(raw_cmd $CC_LOAD "$PH" 1 "$SEALPRIV$SEALPUB")")
	rc=$(printf '0x%03x' $((${out:3:10})))
	if [ "$rc" = 0x000 ]; then
		n=$((n + 1))
		LASTH=${out##*rsp=}
		LASTH=${LASTH:20:8}
	fi
done
vt_note "$n objects loaded before the slots ran out"
vt_check_eq "slots full -> TPM_RC_OBJECT_MEMORY" 0x902 "$rc"
vt_raw_rc "flushcontext of a loaded object (control)" 0x000 $CC_FLUSH "" 0 "$LASTH"
vt_raw_rc "flushcontext again -> TPM_RC_HANDLE+P1" 0x1cb $CC_FLUSH "" 0 "$LASTH"
vt_raw_rc "readpublic of the flushed handle -> TPM_RC_REFERENCE_H0" 0x910 $CC_READPUBLIC "$LASTH" 0 ""
vt_raw_rc "a slot is free again: load" 0x000 $CC_LOAD "$PH" 1 "$SEALPRIV$SEALPUB"
vt_raw_rc "flushcontext of a persistent handle -> TPM_RC_VALUE+P1" 0x1c4 $CC_FLUSH "" 0 81000001
flush_all

# ================================================== Unseal, ChangeAuth
vc "load the ECDSA key" tpm2_load -C prim.ctx -u sign.pub -r sign.priv -c sign.ctx
vcr "unseal of an ECC key -> TPM_RC_TYPE+H1" 0x18a tpm2_unseal -c sign.ctx
flush_all
vc "load the HMAC key" tpm2_load -C prim.ctx -u hmac.pub -r hmac.priv -c hmac.ctx
vcr "unseal of an HMAC key -> TPM_RC_ATTRIBUTES+H1" 0x182 tpm2_unseal -c hmac.ctx
flush_all
vc "load sealed data without userWithAuth" tpm2_load -C prim.ctx -u nouser.pub -r nouser.priv -c nouser.ctx
vcr "unseal with a password, userWithAuth CLEAR -> TPM_RC_AUTH_UNAVAILABLE" 0x12f tpm2_unseal -c nouser.ctx
flush_all
vc "load sealed data" tpm2_load -C prim.ctx -u seal.pub -r seal.priv -c seal.ctx
vcr "changeauth under the wrong parent -> TPM_RC_TYPE+H2" 0x28a \
	tpm2_changeauth -c seal.ctx -C other.ctx -p sealpw -r new.priv newpw
vc "changeauth (control)" tpm2_changeauth -c seal.ctx -C prim.ctx -p sealpw -r new.priv newpw
flush_all
vc "load with the new private" tpm2_load -C prim.ctx -u seal.pub -r new.priv -c seal2.ctx
vc "unseal with the new password" tpm2_unseal -c seal2.ctx -p newpw -o out2.dat
vt_check_eq "...gives the same data" "sealed secret" "$(cat out2.dat 2>/dev/null)"
vcr "unseal with the old password -> TPM_RC_BAD_AUTH+S1" 0x9a2 tpm2_unseal -c seal2.ctx -p sealpw
flush_all
# adminWithPolicy: ObjectChangeAuth is in the ADMIN role
head -c 32 /dev/zero | tr '\0' '\253' >pol.bin
vc "create sealed data with adminWithPolicy" tpm2_create -C prim.ctx -u adm.pub -r adm.priv -i secret.dat \
	-p admpw -L pol.bin -a "$BASE|adminwithpolicy"
vc "load it" tpm2_load -C prim.ctx -u adm.pub -r adm.priv -c adm.ctx
vcr "changeauth with a password, adminWithPolicy SET -> TPM_RC_AUTH_TYPE (a policy session is required)" 0x124 \
	tpm2_changeauth -c adm.ctx -C prim.ctx -p admpw -r x.priv newpw
vc "unseal with the password (USER role, control)" tpm2_unseal -c adm.ctx -p admpw
flush_all

# ======================================================= EvictControl
loadprim
vt_raw_rc "evictcontrol: owner, platform range -> TPM_RC_RANGE+P1" 0x1cd $CC_EVICT "$OWNER$PH" 1 81800000
vt_raw_rc "evictcontrol: not a persistent handle -> TPM_RC_VALUE+P1" 0x1c4 $CC_EVICT "$OWNER$PH" 1 80000001
vt_raw_rc "evictcontrol: platform persists an owner key -> TPM_RC_HIERARCHY+H2" 0x285 \
	$CC_EVICT "$PLATFORM$PH" 1 81800001
vt_raw_rc "evictcontrol: owner persists (control)" 0x000 $CC_EVICT "$OWNER$PH" 1 81000001
vt_raw_rc "evictcontrol: handle taken -> TPM_RC_NV_DEFINED" 0x14c $CC_EVICT "$OWNER$PH" 1 81000001
vt_raw_rc "evictcontrol: evict with another handle -> TPM_RC_HANDLE+H2" 0x28b $CC_EVICT "${OWNER}81000001" 1 81000002
vt_raw_rc "contextsave of a persistent handle -> TPM_RC_VALUE+H1" 0x184 $CC_CTXSAVE 81000001 0 ""
flush_all
loadprim n nprim
NH=$PH
vt_raw_rc "evictcontrol: a null-hierarchy key -> TPM_RC_ATTRIBUTES+H2" 0x282 $CC_EVICT "$OWNER$NH" 1 81000003
loadprim
STCH=$(raw_rsp "$(raw_cmd $CC_LOAD "$PH" 1 "$(hexof stc.priv)$(hexof stc.pub)")")
STCH=${STCH:20:8}
vt_raw_rc "evictcontrol: an stClear object -> TPM_RC_ATTRIBUTES+H2" 0x282 $CC_EVICT "$OWNER$STCH" 1 81000003

loadprim p pprim
vt_raw_rc "evictcontrol: platform, owner range -> TPM_RC_RANGE+P1" 0x1cd $CC_EVICT "$PLATFORM$PH" 1 81000001
vt_raw_rc "evictcontrol: owner persists a platform key -> TPM_RC_HIERARCHY+H2" 0x285 \
	$CC_EVICT "$OWNER$PH" 1 81000002
vt_raw_rc "evictcontrol: platform persists its key (control)" 0x000 $CC_EVICT "$PLATFORM$PH" 1 81800001
vt_raw_rc "evictcontrol: owner evicts it -> TPM_RC_HIERARCHY+H2" 0x285 $CC_EVICT "${OWNER}81800001" 1 81800001
vt_raw_rc "evictcontrol: platform evicts it" 0x000 $CC_EVICT "${PLATFORM}81800001" 1 81800001
flush_all
vt_check "persistent key survives a server restart" vt_server_restart
vt_check "readpublic 0x81000001 after restart" tpm2_readpublic -c 0x81000001 -o per.pub
vt_check_eq "the persistent key is the primary" "$(hexof prim.pub)" "$(hexof per.pub)"
vt_check "load a child under the persistent parent" tpm2_load -C 0x81000001 -u seal.pub -r seal.priv -c seal.ctx
vt_check "unseal it" tpm2_unseal -c seal.ctx -p sealpw
flush_all
vt_check "evict 0x81000001" tpm2_evictcontrol -C o -c 0x81000001
# Part 3 §28.5: the platform may evict any persistent object, an owner's too
loadprim
vt_raw_rc "evictcontrol: owner persists 0x81000005 (control)" 0x000 $CC_EVICT "$OWNER$PH" 1 81000005
vt_raw_rc "evictcontrol: the platform evicts the owner's 0x81000005" 0x000 $CC_EVICT "${PLATFORM}81000005" 1 81000005
vt_check_rc "readpublic of the evicted handle -> TPM_RC_HANDLE+H1" 0x18b tpm2_readpublic -c 0x81000001
# fill the persistent store (vitrum keeps 16, swtpm as many as its NV holds)
loadprim
n=0 rc=0x000
while [ "$rc" = 0x000 ] && [ $n -lt 24 ]; do
	rc=$(raw_rc "$(raw_cmd $CC_EVICT "$OWNER$PH" 1 "$(printf '%08x' $((0x81000100 + n)))")")
	[ "$rc" = 0x000 ] && n=$((n + 1))
done
vt_note "$n objects persisted before the store was full"
if [ "$rc" = 0x000 ]; then
	vt_skip "persistent store full -> TPM_RC_NV_SPACE" "$n objects persisted and room left ($VT_TARGET)"
else
	vt_check_eq "persistent store full -> TPM_RC_NV_SPACE" 0x14b "$rc"
fi
for ph in $(tpm2_getcap handles-persistent | sed -e 's/^- 0x//'); do
	tpm2_evictcontrol -C o -c "0x$ph" >/dev/null 2>&1
done
vt_check_eq "all evicted again" "" "$(tpm2_getcap handles-persistent)"
flush_all

# ============================================ ContextSave / ContextLoad
loadprim
SH=$(raw_rsp "$(raw_cmd $CC_LOAD "$PH" 1 "$SEALPRIV$SEALPUB")")
SH=${SH:20:8} # the response handle follows the 10-octet header
CTX=$(raw_rsp "$(raw_cmd $CC_CTXSAVE "$SH" 0 "")")
CTX=${CTX:20} # TPMS_CONTEXT: sequence(8) savedHandle(4) hierarchy(4) blob
vt_check_true "contextsave (control)" [ ${#CTX} -gt 40 ]
vt_raw_rc "flush the saved object" 0x000 $CC_FLUSH "" 0 "$SH"
vt_raw_rc "contextload (control)" 0x000 $CC_CTXLOAD "" 0 "$CTX"
flip() { # flip HEX POS(octet) -> HEX with that octet's bit 2 flipped
	local p=$(($2 * 2))
	printf '%s%02x%s' "${1:0:$p}" $((0x${1:$p:2} ^ 0x04)) "${1:$((p + 2))}"
}
# octets: sequence 0-7, savedHandle 8-11, hierarchy 12-15, blob size 16-17,
# blob from 18 (its integrity digest first)
L=$((${#CTX} / 2))
for pos in 3 7 24 40 60 $((L - 1)); do
	vt_raw_rc "contextload: octet $pos changed -> TPM_RC_INTEGRITY+P1" 0x1df $CC_CTXLOAD "" 0 "$(flip "$CTX" $pos)"
done
vt_raw_rc "contextload: hierarchy 0x40000005 (not a hierarchy) -> TPM_RC_VALUE+P1" 0x1c4 $CC_CTXLOAD "" 0 \
	"${CTX:0:24}40000005${CTX:32}"
vt_raw_rc "contextload: hierarchy endorsement -> TPM_RC_INTEGRITY+P1" 0x1df $CC_CTXLOAD "" 0 \
	"${CTX:0:24}4000000b${CTX:32}"
vt_raw_rc "contextload: blob one octet short -> TPM_RC_INTEGRITY+P1" 0x1df $CC_CTXLOAD "" 0 \
	"${CTX:0:32}$(printf '%04x' $((0x${CTX:32:4} - 1)))${CTX:36:$((${#CTX} - 38))}"
flush_all

# Object contexts (Part 1 §30, Part 2 TPMA_OBJECT stClear): all load
# after a TPM Resume; after a TPM Restart all but those of stClear objects;
# after a TPM Reset none
mkprim n nprim >/dev/null 2>&1
flush_all
mkprim o prim >/dev/null 2>&1
vc "load the stClear object" tpm2_load -C prim.ctx -u stc.pub -r stc.priv -c stc.ctx
vc "load the plain sealed object" tpm2_load -C prim.ctx -u seal.pub -r seal.priv -c seal.ctx
flush_all
vt_check "tpm2_shutdown (STATE)" tpm2_shutdown
vt_server_restart --startup none || vt_done
vt_check "tpm2_startup (STATE): TPM Resume" tpm2_startup
vt_check "Resume: the stClear object's context loads" tpm2_unseal -c stc.ctx
flush_all
vt_check "Resume: the null primary's context loads" tpm2_readpublic -c nprim.ctx
flush_all
vt_check "tpm2_shutdown (STATE)" tpm2_shutdown
vt_server_restart --startup none || vt_done
vt_check "tpm2_startup -c: TPM Restart" tpm2_startup -c
vt_check_rc "Restart: the stClear object's context -> TPM_RC_INTEGRITY+P1" 0x1df tpm2_unseal -c stc.ctx
flush_all
vt_check "Restart: the plain object's context loads" tpm2_unseal -c seal.ctx -p sealpw
flush_all
vt_check "Restart: the null primary's context loads" tpm2_readpublic -c nprim.ctx
flush_all
vt_server_restart || vt_done # TPM Reset
vcr "Reset: the null primary's context -> TPM_RC_INTEGRITY+P1" 0x1df tpm2_readpublic -c nprim.ctx
vcr "Reset: an owner object's context -> TPM_RC_INTEGRITY+P1 (Part 1 §30: no context outlives a TPM Reset)" \
	0x1df tpm2_unseal -c seal.ctx -p sealpw

vt_done
