#!/bin/bash
# Error paths of the signing and crypto commands (TPM 2.0 Part 3 §14, §15,
# §17, §20): Sign, VerifySignature, RSA_Encrypt/Decrypt, ECDH_KeyGen/ZGen,
# ECC_Parameters, EncryptDecrypt(2), HMAC, HMAC_Start — each must answer
# the exact TPM_RC (with its handle / parameter number), through tpm2-tools
# and through hand-made commands.  A few happy paths are the controls that
# show an error is caused by what the test changed.
#   VT_TARGET=swtpm tests/integration/test_sign_errors.sh   runs it on swtpm
. "$(dirname "$0")/lib.sh"

VT_SCRIPT_TIMEOUT=${VT_SCRIPT_TIMEOUT:-300}
vt_server_start || vt_done
cd "$VT_TMP" || exit 2

BASE='fixedtpm|fixedparent|sensitivedataorigin|userwithauth'
echo "hello, signer" >msg

# ---- keys (all children of one storage primary)
tpm2_flushcontext -t >/dev/null 2>&1
vt_check "storage primary" tpm2_createprimary -C o -c prim.ctx || vt_done
tpm2_flushcontext -t >/dev/null 2>&1
mk() { # mk NAME ALG ATTRS
	tpm2_flushcontext -t >/dev/null 2>&1
	vt_check "create $1 ($2)" tpm2_create -C prim.ctx -G "$2" -a "$3" -u "$1.pub" -r "$1.priv"
}
mk rsasign rsa2048:rsassa-sha256 "sign|$BASE"
mk rsanull rsa2048 "sign|decrypt|$BASE"
mk rsadec rsa2048 "decrypt|$BASE"
mk rsaoaep rsa2048:oaep-sha256 "decrypt|$BASE"
mk rsarestr rsa2048:rsassa-sha256:null "restricted|sign|$BASE"
mk eccsign ecc256:ecdsa-sha256 "sign|$BASE"
mk eccdec ecc256:ecdh "decrypt|$BASE"
mk aescfb aes128cfb "sign|decrypt|$BASE"
mk aesdec aes128cfb "decrypt|$BASE"
mk aesnull aes128null "sign|decrypt|$BASE"
mk hmac hmac "sign|$BASE"

# use NAME: make key NAME the persistent object 0x81000100 (in place of the
# previous one) and set KH to that handle.  Persistent, because a server may
# flush a client's transient objects when its connection closes, and every
# tool and raw command here is a connection of its own.
KH=
use() {
	tpm2_evictcontrol -C o -c 0x81000100 >/dev/null 2>&1
	tpm2_flushcontext -t >/dev/null 2>&1
	tpm2_flushcontext -s >/dev/null 2>&1
	tpm2_flushcontext -l >/dev/null 2>&1
	KH=ffffffff
	if ! tpm2_load -C prim.ctx -u "$1.pub" -r "$1.priv" -c "$1.ctx" >/dev/null 2>&1 ||
		! tpm2_evictcontrol -C o -c "$1.ctx" 0x81000100 >/dev/null 2>&1; then
		vt_note "cannot load $1 and make it persistent"
		return 1
	fi
	tpm2_flushcontext -t >/dev/null 2>&1
	KH=81000100
}

# ---- raw commands: a password session (TPM_RS_PW, empty auth) for the
# first handle when AUTH=1.
raw_cmd() { # raw_cmd CC HANDLESHEX AUTH PARAMSHEX -> command hex
	local cc=$1 h=$2 auth=$3 p=$4 body tag=8001
	body="$h$p"
	if [ "$auth" = 1 ]; then
		tag=8002
		body="${h}00000009400000090000010000$p"
	fi
	printf '%s%08x%08x%s' "$tag" $((10 + ${#body} / 2)) "$cc" "$body"
}
raw_rc() { # raw_rc HEX -> rc as 0x%03x (or "error")
	local out
	# shellcheck disable=SC2086
	out=$($VT_RAW send "$1" 2>&1 | head -n 1)
	case "$out" in
	rc=0x*) printf '0x%03x\n' $((${out:3:10})) ;;
	*) echo "error: $out" ;;
	esac
}
raw_rsp() { # raw_rsp HEX -> response hex
	# shellcheck disable=SC2086
	$VT_RAW send "$1" 2>&1 | head -n 1 | sed -e 's/.*rsp=//'
}
vt_raw_rc() { # vt_raw_rc NAME WANT CC HANDLES AUTH PARAMS
	local name=$1 want=$2
	shift 2
	vt_check_eq "$name" "$want" "$(raw_rc "$(raw_cmd "$@")")"
}
h16() { printf '%04x' "$1"; }
# a TPM2B of the octets in hex $1
b2() { printf '%04x%s' $((${#1} / 2)) "$1"; }
hexof() { xxd -p -c 100000 "$1" | tr -d '\n'; }

CC_SIGN=0x15d
CC_VERIFY=0x177
CC_RSA_ENC=0x174
CC_RSA_DEC=0x159
CC_ECDH_KEYGEN=0x163
CC_ECDH_ZGEN=0x154
CC_ECC_PARAMS=0x178
CC_ED=0x164
CC_ED2=0x193
CC_HMAC=0x155
CC_HMAC_START=0x15b

SHA256_MSG=$(vt_dgst sha256 msg)
NULL_TICKET=8024400000070000 # TPMT_TK_HASHCHECK: tag, TPM_RH_NULL, empty
vt_dgst sha256 msg | xxd -r -p >msg.sha256
head -c 20 /dev/zero >short.dgst

# =================================================================== Sign
use rsasign
vt_check "sign: RSASSA key signs (control)" tpm2_sign -c "0x$KH" -g sha256 -o rsa.sig msg
vt_check "verify: the signature checks (control)" \
	tpm2_verifysignature -c "0x$KH" -g sha256 -m msg -s rsa.sig -t verified.tk
# TPMT_TK_VERIFIED of an owner key: tag 8022, TPM_RH_OWNER, a digest
vt_check_eq "verify: ticket is TPM_ST_VERIFIED for the owner hierarchy" "802240000001" \
	"$(hexof verified.tk | cut -c1-12)"
vt_check_rc "sign: digest not the scheme's size -> TPM_RC_SIZE+P1" 0x1d5 \
	tpm2_sign -c "0x$KH" -g sha256 -d -o x.sig short.dgst
# raw: digest, inScheme, validation
vt_raw_rc "sign raw: RSAPSS asked of an RSASSA key -> TPM_RC_SCHEME+P2" 0x2d2 \
	$CC_SIGN "$KH" 1 "$(b2 "$SHA256_MSG")0016000b$NULL_TICKET"
vt_raw_rc "sign raw: SHA-384 asked of an RSASSA-SHA256 key -> TPM_RC_SCHEME+P2" 0x2d2 \
	$CC_SIGN "$KH" 1 "$(b2 "$SHA256_MSG")0014000c$NULL_TICKET"
vt_raw_rc "sign raw: unknown scheme 0x00ff -> TPM_RC_SCHEME+P2" 0x2d2 \
	$CC_SIGN "$KH" 1 "$(b2 "$SHA256_MSG")00ff000b$NULL_TICKET"
vt_raw_rc "sign raw: scheme hash not implemented -> TPM_RC_HASH+P2" 0x2c3 \
	$CC_SIGN "$KH" 1 "$(b2 "$SHA256_MSG")00140099$NULL_TICKET"
vt_raw_rc "sign raw: ticket tag not HASHCHECK -> TPM_RC_TAG+P3" 0x3d7 \
	$CC_SIGN "$KH" 1 "$(b2 "$SHA256_MSG")00108022400000070000"
vt_raw_rc "sign raw: forged ticket on an unrestricted key -> TPM_RC_TICKET+P3" 0x3e0 \
	$CC_SIGN "$KH" 1 "$(b2 "$SHA256_MSG")00108024400000010004deadbeef"
vt_raw_rc "sign raw: truncated validation -> TPM_RC_INSUFFICIENT+P3" 0x3da \
	$CC_SIGN "$KH" 1 "$(b2 "$SHA256_MSG")001080244000"
vt_raw_rc "sign raw: digest larger than TPMU_HA -> TPM_RC_SIZE+P1" 0x1d5 \
	$CC_SIGN "$KH" 1 "0041$(printf '%0130d' 0)0010000b$NULL_TICKET"
vt_raw_rc "sign raw: trailing octet -> TPM_RC_SIZE" 0x095 \
	$CC_SIGN "$KH" 1 "$(b2 "$SHA256_MSG")0010${NULL_TICKET}00"
vt_raw_rc "sign raw: NULL scheme uses the key's (control)" 0x000 \
	$CC_SIGN "$KH" 1 "$(b2 "$SHA256_MSG")0010$NULL_TICKET"

use rsanull
vt_raw_rc "sign raw: key and request both NULL scheme -> TPM_RC_SCHEME+P2" 0x2d2 \
	$CC_SIGN "$KH" 1 "$(b2 "$SHA256_MSG")0010$NULL_TICKET"
vt_raw_rc "sign raw: ECDSA with an RSA key -> TPM_RC_SCHEME+P2" 0x2d2 \
	$CC_SIGN "$KH" 1 "$(b2 "$SHA256_MSG")0018000b$NULL_TICKET"
vt_check "sign: NULL-scheme key with -s rsapss (control)" \
	tpm2_sign -c "0x$KH" -g sha256 -s rsapss -o pss.sig msg
vt_check "verify: RSAPSS signature checks (control)" \
	tpm2_verifysignature -c "0x$KH" -g sha256 -m msg -s pss.sig

use rsadec
vt_check_rc "sign: decrypt-only key -> TPM_RC_KEY+H1" 0x19c \
	tpm2_sign -c "0x$KH" -g sha256 -s rsassa -o x.sig msg
vt_raw_rc "sign raw: decrypt-only key -> TPM_RC_KEY+H1" 0x19c \
	$CC_SIGN "$KH" 1 "$(b2 "$SHA256_MSG")0014000b$NULL_TICKET"
vt_check_rc "verify: key without sign -> TPM_RC_ATTRIBUTES+H1" 0x182 \
	tpm2_verifysignature -c "0x$KH" -g sha256 -m msg -s rsa.sig

use aescfb
vt_raw_rc "sign raw: symmetric key -> TPM_RC_KEY+H1" 0x19c \
	$CC_SIGN "$KH" 1 "$(b2 "$SHA256_MSG")0014000b$NULL_TICKET"

# restricted signing key: only with a hash-check ticket of this TPM
use rsarestr
vt_check_rc "sign: restricted key, no ticket -> TPM_RC_TICKET+P3" 0x3e0 \
	tpm2_sign -c "0x$KH" -g sha256 -d -o x.sig msg.sha256
vt_check "hash with a ticket (owner hierarchy)" \
	tpm2_hash -C o -g sha256 -o hash.dgst -t hash.tk msg
vt_check "sign: restricted key with the ticket (control)" \
	tpm2_sign -c "0x$KH" -g sha256 -d -t hash.tk -o r.sig hash.dgst
vt_check "verify: restricted key's signature (control)" \
	tpm2_verifysignature -c "0x$KH" -g sha256 -m msg -s r.sig
printf 'other' >other
vt_dgst sha256 other | xxd -r -p >other.sha256
vt_check_rc "sign: ticket of another digest -> TPM_RC_TICKET+P3" 0x3e0 \
	tpm2_sign -c "0x$KH" -g sha256 -d -t hash.tk -o x.sig other.sha256
printf '\xffTCGabc' >generated
vt_check "hash of data starting with TPM_GENERATED_VALUE" \
	tpm2_hash -C o -g sha256 -o gen.dgst -t gen.tk generated
vt_check_rc "sign: restricted key, TPM_GENERATED data's (null) ticket -> TPM_RC_TICKET+P3" \
	0x3e0 tpm2_sign -c "0x$KH" -g sha256 -d -t gen.tk -o x.sig gen.dgst

# ======================================================== VerifySignature
use rsasign
cp rsa.sig bad.sig
# flip one octet of the signature (after sigAlg, hash, size: offset 6)
printf '\x5a' | dd of=bad.sig bs=1 seek=40 conv=notrunc 2>/dev/null
vt_check_rc "verify: altered signature -> TPM_RC_SIGNATURE+P2" 0x2db \
	tpm2_verifysignature -c "0x$KH" -g sha256 -m msg -s bad.sig
vt_check_rc "verify: other message -> TPM_RC_SIGNATURE+P2" 0x2db \
	tpm2_verifysignature -c "0x$KH" -g sha256 -m other -s rsa.sig
SIG=$(hexof rsa.sig)
vt_raw_rc "verify raw: unknown sigAlg -> TPM_RC_SCHEME+P2" 0x2d2 \
	$CC_VERIFY "$KH" 0 "$(b2 "$SHA256_MSG")00ff${SIG:4}"
vt_raw_rc "verify raw: hash not implemented -> TPM_RC_HASH+P2" 0x2c3 \
	$CC_VERIFY "$KH" 0 "$(b2 "$SHA256_MSG")00140099${SIG:8}"
vt_raw_rc "verify raw: signature of the wrong length -> TPM_RC_SIGNATURE+P2" 0x2db \
	$CC_VERIFY "$KH" 0 "$(b2 "$SHA256_MSG")0014000b0004deadbeef"
vt_raw_rc "verify raw: RSA signature, truncated -> TPM_RC_INSUFFICIENT+P2" 0x2da \
	$CC_VERIFY "$KH" 0 "$(b2 "$SHA256_MSG")${SIG:0:100}"
vt_raw_rc "verify raw: the signature as is (control)" 0x000 \
	$CC_VERIFY "$KH" 0 "$(b2 "$SHA256_MSG")$SIG"

use eccsign
vt_check "sign: ECDSA key signs (control)" tpm2_sign -c "0x$KH" -g sha256 -o ecc.sig msg
vt_check "verify: ECDSA signature checks (control)" \
	tpm2_verifysignature -c "0x$KH" -g sha256 -m msg -s ecc.sig
vt_raw_rc "verify raw: RSA signature, ECC key -> TPM_RC_SCHEME+P2" 0x2d2 \
	$CC_VERIFY "$KH" 0 "$(b2 "$SHA256_MSG")$SIG"
ESIG=$(hexof ecc.sig)
# ECDSA: 0018 000b 0020 r(32) 0020 s(32): replace r by n+1 (not in range)
vt_raw_rc "verify raw: ECDSA r of zero length -> TPM_RC_SIGNATURE+P2" 0x2db \
	$CC_VERIFY "$KH" 0 "$(b2 "$SHA256_MSG")0018000b0000${ESIG:76}"
vt_check_rc "verify: ECDSA signature of another message -> TPM_RC_SIGNATURE+P2" 0x2db \
	tpm2_verifysignature -c "0x$KH" -g sha256 -m other -s ecc.sig
vt_raw_rc "sign raw: ECDSA key asked for RSASSA -> TPM_RC_SCHEME+P2" 0x2d2 \
	$CC_SIGN "$KH" 1 "$(b2 "$SHA256_MSG")0014000b$NULL_TICKET"

# ============================================================ RSA_Encrypt
use rsasign
vt_check_rc "rsaencrypt: key without decrypt -> TPM_RC_ATTRIBUTES+H1" 0x182 \
	tpm2_rsaencrypt -c "0x$KH" -s rsaes -o x.enc msg
use eccdec
vt_raw_rc "rsaencrypt raw: ECC key -> TPM_RC_KEY+H1" 0x19c \
	$CC_RSA_ENC "$KH" 0 "$(b2 "$(hexof msg)")00150000"
use rsaoaep
vt_check_rc "rsaencrypt: RSAES asked of an OAEP key -> TPM_RC_SCHEME+P2" 0x2d2 \
	tpm2_rsaencrypt -c "0x$KH" -s rsaes -o x.enc msg
head -c 300 /dev/zero >big.msg
if [ "$VT_TARGET" = swtpm ]; then
	# libtpms 0.9 goes into failure mode (TPM_RC_FAILURE from then on)
	vt_skip "rsaencrypt: message too long for OAEP" "swtpm enters failure mode"
else
	vt_check_rc "rsaencrypt: message too long for OAEP -> TPM_RC_VALUE+P1" 0x1c4 \
		tpm2_rsaencrypt -c "0x$KH" -s oaep -o x.enc big.msg
fi
vt_raw_rc "rsaencrypt raw: scheme RSASSA (not a decrypt scheme) -> TPM_RC_VALUE+P2" 0x2c4 \
	$CC_RSA_ENC "$KH" 0 "$(b2 "$(hexof msg)")0014000b0000"
vt_raw_rc "rsaencrypt raw: OAEP hash not implemented -> TPM_RC_HASH+P2" 0x2c3 \
	$CC_RSA_ENC "$KH" 0 "$(b2 "$(hexof msg)")001700990000"
vt_raw_rc "rsaencrypt raw: label over 66 octets -> TPM_RC_SIZE+P3" 0x3d5 \
	$CC_RSA_ENC "$KH" 0 "$(b2 "$(hexof msg)")0010$(b2 "$(printf '%0134d' 0)")"
vt_raw_rc "rsaencrypt raw: label not NUL-terminated -> TPM_RC_VALUE+P3" 0x3c4 \
	$CC_RSA_ENC "$KH" 0 "$(b2 "$(hexof msg)")0010$(b2 616263)"
vt_raw_rc "rsaencrypt raw: NUL-terminated label (control)" 0x000 \
	$CC_RSA_ENC "$KH" 0 "$(b2 "$(hexof msg)")0010$(b2 61626300)"
vt_raw_rc "rsadecrypt raw: label not NUL-terminated -> TPM_RC_VALUE+P3" 0x3c4 \
	$CC_RSA_DEC "$KH" 1 "$(b2 "$(printf '%0512d' 0)")0010$(b2 616263)"
vt_check "rsaencrypt: OAEP with a label (control)" \
	tpm2_rsaencrypt -c "0x$KH" -s oaep -l label1 -o oaep.enc msg
vt_check "rsadecrypt: same label (control)" \
	tpm2_rsadecrypt -c "0x$KH" -s oaep -l label1 -o oaep.dec oaep.enc
vt_check_eq "rsadecrypt: message comes back" "$(hexof msg)" "$(hexof oaep.dec)"
use rsaoaep
cp oaep.enc bad.enc
# flip the low bit of the last byte: always a change (setting the first
# byte to 0x01 left the ciphertext as it was in 1 run of 256), and the
# value stays below the modulus
last=$(($(stat -c %s oaep.enc) - 1))
printf "\\x$(printf '%02x' $((0x$(od -An -tx1 -j "$last" -N1 oaep.enc | tr -d ' ') ^ 1)))" |
	dd of=bad.enc bs=1 seek="$last" conv=notrunc 2>/dev/null
if [ "$VT_TARGET" = swtpm ]; then
	# libtpms 0.9 answers a failed OAEP decoding with TPM_RC_FAILURE
	vt_skip "rsadecrypt: other label / altered ciphertext" "swtpm enters failure mode"
else
	vt_check_rc "rsadecrypt: other label -> TPM_RC_VALUE" 0x084 \
		tpm2_rsadecrypt -c "0x$KH" -s oaep -l label2 -o x.dec oaep.enc
	vt_check_rc "rsadecrypt: altered ciphertext -> TPM_RC_VALUE" 0x084 \
		tpm2_rsadecrypt -c "0x$KH" -s oaep -l label1 -o x.dec bad.enc
fi
head -c 255 oaep.enc >short.enc
use rsaoaep
vt_check_rc "rsadecrypt: ciphertext shorter than the modulus -> TPM_RC_SIZE" 0x095 \
	tpm2_rsadecrypt -c "0x$KH" -s oaep -l label1 -o x.dec short.enc

use rsadec
# raw RSA (both schemes NULL): a value not below the modulus
if [ "$VT_TARGET" = swtpm ]; then
	vt_skip "rsaencrypt raw: raw RSA of a value >= n" "swtpm enters failure mode"
else
	vt_raw_rc "rsaencrypt raw: raw RSA of 0xff..ff (>= n) -> TPM_RC_VALUE+P1" 0x1c4 \
		$CC_RSA_ENC "$KH" 0 "0100$(printf 'ff%.0s' $(seq 256))00100000"
fi
vt_check "rsaencrypt: raw RSA (control)" tpm2_rsaencrypt -c "0x$KH" -s null -o raw.enc msg
vt_check "rsadecrypt: raw RSA (control)" tpm2_rsadecrypt -c "0x$KH" -s null -o raw.dec raw.enc

tpm2_flushcontext -t >/dev/null 2>&1
vt_check_rc "rsadecrypt: restricted (storage) key -> TPM_RC_ATTRIBUTES+H1" 0x182 \
	tpm2_rsadecrypt -c prim.ctx -s rsaes -o x.dec oaep.enc

# ==================================================================== ECC
use rsadec
vt_check_rc "ecdhkeygen: RSA key -> TPM_RC_KEY+H1" 0x19c \
	tpm2_ecdhkeygen -c "0x$KH" -u x.pub -o x.z
vt_raw_rc "ecdhkeygen raw: RSA key -> TPM_RC_KEY+H1" 0x19c $CC_ECDH_KEYGEN "$KH" 0 ""
use eccdec
vt_check "ecdhkeygen (control)" tpm2_ecdhkeygen -c "0x$KH" -u eph.pub -o z1
vt_check "ecdhzgen (control)" tpm2_ecdhzgen -c "0x$KH" -u eph.pub -o z2
vt_check_eq "ecdh: both sides compute the same Z" "$(hexof z1)" "$(hexof z2)"
# P-256 point (1, 1) is not on the curve
ONE=$(printf '%063d1' 0)
vt_raw_rc "ecdhzgen raw: point not on the curve -> TPM_RC_ECC_POINT+P1" 0x1e7 \
	$CC_ECDH_ZGEN "$KH" 1 "0044$(b2 "$ONE")$(b2 "$ONE")"
vt_raw_rc "ecdhzgen raw: empty point -> TPM_RC_SIZE+P1" 0x1d5 $CC_ECDH_ZGEN "$KH" 1 "0000"
vt_raw_rc "ecdhzgen raw: point size disagrees with contents -> TPM_RC_SIZE+P1" 0x1d5 \
	$CC_ECDH_ZGEN "$KH" 1 "0040$(b2 "$ONE")$(b2 "$ONE")"
use rsadec
vt_check_rc "ecdhzgen: RSA key -> TPM_RC_KEY+H1" 0x19c \
	tpm2_ecdhzgen -c "0x$KH" -u eph.pub -o x.z
use eccsign
vt_check_rc "ecdhzgen: signing-only ECC key -> TPM_RC_ATTRIBUTES+H1" 0x182 \
	tpm2_ecdhzgen -c "0x$KH" -u eph.pub -o x.z
vt_raw_rc "eccparameters raw: unknown curve -> TPM_RC_CURVE+P1" 0x1e6 $CC_ECC_PARAMS "" 0 "0999"
vt_raw_rc "eccparameters raw: trailing octet -> TPM_RC_SIZE" 0x095 $CC_ECC_PARAMS "" 0 "000300"
vt_raw_rc "eccparameters raw: NIST P-256 (control)" 0x000 $CC_ECC_PARAMS "" 0 "0003"
P256=$(raw_rsp "$(raw_cmd $CC_ECC_PARAMS "" 0 0003)")
# curveID 0003, keySize 0100, kdf and sign schemes (the implementation's), p
P256_P=0020ffffffff00000001000000000000000000000000ffffffffffffffffffffffff
vt_check_eq "eccparameters: P-256 curveID and keySize" 00030100 "${P256:20:8}"
case "$P256" in
*"$P256_P"*) vt_ok "eccparameters: P-256 p" ;;
*) vt_not_ok "eccparameters: P-256 p" "p not in $P256" ;;
esac

# ======================================================= EncryptDecrypt(2)
head -c 16 /dev/zero >iv16
head -c 8 /dev/zero >iv8
use aescfb
vt_check "encryptdecrypt: CFB round trip, encrypt (control)" \
	tpm2_encryptdecrypt -c "0x$KH" -t iv16 -o cfb.enc msg
vt_check "encryptdecrypt: CFB round trip, decrypt (control)" \
	tpm2_encryptdecrypt -d -c "0x$KH" -t iv16 -o cfb.dec cfb.enc
vt_check_eq "encryptdecrypt: CFB gives the message back" "$(hexof msg)" "$(hexof cfb.dec)"
vt_check_rc "encryptdecrypt: mode other than the key's -> TPM_RC_MODE+P3" 0x3c9 \
	tpm2_encryptdecrypt -c "0x$KH" -G cbc -t iv16 -o x.enc msg
M=$(hexof msg)
# EncryptDecrypt2: inData, decrypt, mode, ivIn
vt_raw_rc "encryptdecrypt2 raw: IV of 8 octets -> TPM_RC_SIZE+P4" 0x4d5 \
	$CC_ED2 "$KH" 1 "$(b2 "$M")000010$(b2 0000000000000000)"
vt_raw_rc "encryptdecrypt2 raw: IV of 17 octets -> TPM_RC_SIZE+P4" 0x4d5 \
	$CC_ED2 "$KH" 1 "$(b2 "$M")000010$(b2 "$(printf '%034d' 0)")"
vt_raw_rc "encryptdecrypt2 raw: decrypt = 2 -> TPM_RC_VALUE+P2" 0x2c4 \
	$CC_ED2 "$KH" 1 "$(b2 "$M")020010$(b2 "$(printf '%032d' 0)")"
vt_raw_rc "encryptdecrypt2 raw: mode SHA-256 -> TPM_RC_MODE+P3" 0x3c9 \
	$CC_ED2 "$KH" 1 "$(b2 "$M")00000b$(b2 "$(printf '%032d' 0)")"
vt_raw_rc "encryptdecrypt2 raw: data over 1024 octets -> TPM_RC_SIZE+P1" 0x1d5 \
	$CC_ED2 "$KH" 1 "0401$(printf '%02050d' 0)000010$(b2 "$(printf '%032d' 0)")"
# EncryptDecrypt: decrypt, mode, ivIn, inData
vt_raw_rc "encryptdecrypt raw: IV of 8 octets -> TPM_RC_SIZE+P3" 0x3d5 \
	$CC_ED "$KH" 1 "000010$(b2 0000000000000000)$(b2 "$M")"
vt_raw_rc "encryptdecrypt raw: decrypt = 7 -> TPM_RC_VALUE+P1" 0x1c4 \
	$CC_ED "$KH" 1 "070010$(b2 "$(printf '%032d' 0)")$(b2 "$M")"
vt_raw_rc "encryptdecrypt raw: CFB (control)" 0x000 \
	$CC_ED "$KH" 1 "000043$(b2 "$(printf '%032d' 0)")$(b2 "$M")"
use aesnull
vt_raw_rc "encryptdecrypt2 raw: NULL mode in key and command -> TPM_RC_MODE+P3" 0x3c9 \
	$CC_ED2 "$KH" 1 "$(b2 "$M")000010$(b2 "$(printf '%032d' 0)")"
vt_raw_rc "encryptdecrypt2 raw: CBC, data not whole blocks -> TPM_RC_SIZE+P1" 0x1d5 \
	$CC_ED2 "$KH" 1 "$(b2 "$M")000042$(b2 "$(printf '%032d' 0)")"
vt_raw_rc "encryptdecrypt2 raw: ECB with an IV -> TPM_RC_SIZE+P4" 0x4d5 \
	$CC_ED2 "$KH" 1 "$(b2 "$(printf '%032d' 0)")000044$(b2 "$(printf '%032d' 0)")"
vt_raw_rc "encryptdecrypt2 raw: ECB, one block, no IV (control)" 0x000 \
	$CC_ED2 "$KH" 1 "$(b2 "$(printf '%032d' 0)")0000440000"
use aesdec
vt_check_rc "encryptdecrypt: encrypt with a decrypt-only key -> TPM_RC_ATTRIBUTES+H1" 0x182 \
	tpm2_encryptdecrypt -c "0x$KH" -t iv16 -o x.enc msg
use rsadec
vt_raw_rc "encryptdecrypt2 raw: RSA key -> TPM_RC_KEY+H1" 0x19c \
	$CC_ED2 "$KH" 1 "$(b2 "$M")000043$(b2 "$(printf '%032d' 0)")"

# ============================================================ HMAC (+Start)
head -c 3000 /dev/urandom >big.bin
use hmac
vt_check "hmac: keyed-hash key (control)" tpm2_hmac -c "0x$KH" -g sha256 -o h1.bin msg
vt_check "hmac: sequence over 3000 octets (control)" tpm2_hmac -c "0x$KH" -g sha256 -o h2.bin big.bin
vt_check_rc "hmac: hash other than the key's -> TPM_RC_VALUE+P2" 0x2c4 \
	tpm2_hmac -c "0x$KH" -g sha384 -o x.bin msg
vt_check_rc "hmac_start: hash other than the key's -> TPM_RC_VALUE+P2" 0x2c4 \
	tpm2_hmac -c "0x$KH" -g sha384 -o x.bin big.bin
# libtpms serves TPM2_MAC (same command code) and reads a MAC scheme here,
# so its codes for these two differ (TPM_RC_SYMMETRIC / TPM_RC_SCHEME).
if [ "$VT_TARGET" = swtpm ]; then
	vt_skip "hmac raw: hash not implemented" "swtpm implements TPM2_MAC"
else
	vt_raw_rc "hmac raw: hash not implemented -> TPM_RC_HASH+P2" 0x2c3 \
		$CC_HMAC "$KH" 1 "$(b2 "$M")0099"
fi
vt_raw_rc "hmac_start raw: auth over 64 octets -> TPM_RC_SIZE+P1" 0x1d5 \
	$CC_HMAC_START "$KH" 1 "$(b2 "$(printf '%0130d' 0)")000b"
# one HMAC, two ways: TPM2_HMAC and HMAC_Start/SequenceUpdate/SequenceComplete
one=$(raw_rsp "$(raw_cmd $CC_HMAC "$KH" 1 "$(b2 "$M")000b")")
# The sequence lives on one connection (a server may flush a client's
# sequences when it goes): HMAC_Start, SequenceUpdate, SequenceComplete.
half=$((${#M} * 2 / 4))
# shellcheck disable=SC2086 # VT_RAW: "python3 rawtpm.py --proto P --port N"
set -- $VT_RAW
two=$("$VT_PYTHON" - "$VT_LIB_DIR" "${4}" "${6}" \
	"$(raw_cmd $CC_HMAC_START "$KH" 1 "0000000b")" \
	"$(raw_cmd 0x15c ffeeddcc 1 "$(b2 "${M:0:$half}")")" \
	"$(raw_cmd 0x13e ffeeddcc 1 "$(b2 "${M:$half}")40000001")" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import rawtpm
c = rawtpm.Conn(sys.argv[2], "127.0.0.1", int(sys.argv[3]), 10)
r = c.command(bytes.fromhex(sys.argv[4]))
seq = r[10:14].hex()
c.command(bytes.fromhex(sys.argv[5].replace("ffeeddcc", seq)))
print(c.command(bytes.fromhex(sys.argv[6].replace("ffeeddcc", seq))).hex())
c.close()
PY
)
set --
# responses (with sessions): header 10, parameterSize 4, then TPM2B_DIGEST
vt_check_eq "hmac: sequence gives the one-shot HMAC" "${one:28:68}" "${two:28:68}"
vt_check_eq "hmac: sequence's ticket is a NULL ticket" "8024400000070000" "${two:96:16}"
use rsasign
vt_raw_rc "hmac raw: RSA key -> TPM_RC_TYPE+H1" 0x18a $CC_HMAC "$KH" 1 "$(b2 "$M")000b"
vt_raw_rc "hmac_start raw: RSA key -> TPM_RC_TYPE+H1" 0x18a $CC_HMAC_START "$KH" 1 "0000000b"
use aescfb
if [ "$VT_TARGET" = swtpm ]; then
	vt_skip "hmac raw: AES key" "swtpm implements TPM2_MAC (CMAC with an AES key)"
else
	vt_raw_rc "hmac raw: AES key -> TPM_RC_TYPE+H1" 0x18a $CC_HMAC "$KH" 1 "$(b2 "$M")0010"
fi

tpm2_flushcontext -t >/dev/null 2>&1
vt_done
