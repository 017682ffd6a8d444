#!/bin/bash
# Duplication and credentials, the error paths (TPM 2.0 Part 3 §12.5
# ActivateCredential, §12.6 MakeCredential, §13.2 Rewrap, §13.3 Import):
# tampered blobs and seeds, wrong parents and keys, bad attributes, each with
# the spec's response code and parameter/handle number, checked against
# swtpm (VT_TARGET=swtpm).  A few happy paths come first so that a failure
# below means the error path, not a broken set-up.  Raw commands (rawtpm.py)
# reach what tpm2-tools never sends: leftover bytes, unknown algorithms, a
# key without an algorithm, Rewrap.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/keys/common.sh"

vt_server_start || vt_done
cd "$VT_TMP" || vt_done

# flip one bit of a file at byte offset $2 (negative: from the end)
flip() {
	local f=$1 at=$2 size b
	size=$(stat -c %s "$f")
	[ "$at" -lt 0 ] && at=$((size + at))
	b=$(xxd -s "$at" -l 1 -p "$f")
	printf "%02x" $((0x$b ^ 0x01)) | xxd -r -p | dd of="$f" bs=1 seek="$at" conv=notrunc status=none
}

# ---- set-up: storage parents, OpenSSL keys, software duplicates
vt_check "rsa2048 storage primary" tpm2_createprimary -C o -g sha256 -G rsa2048:aes128cfb -c prim.ctx
vt_check "ecc256 storage primary" tpm2_createprimary -C o -g sha256 -G ecc256:aes128cfb -c eprim.ctx
vt_check "a second rsa2048 storage primary (another template)" \
	tpm2_createprimary -C o -g sha256 -G rsa2048:aes128cfb -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|decrypt|noda' -c prim2.ctx
vt_check "an ecc256 signing primary" \
	tpm2_createprimary -C o -g sha256 -G ecc256:ecdsa -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign' -c sig.ctx
tpm2_readpublic -c prim.ctx -o prim.pub >/dev/null 2>&1
tpm2_readpublic -c eprim.ctx -o eprim.pub >/dev/null 2>&1
tpm2_readpublic -c sig.ctx -o sig.pub -n sig.name >/dev/null 2>&1
openssl genrsa -out rsa.pem 2048 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out ec.pem 2>/dev/null
echo "dup test" >msg

vt_check "software duplicate of an OpenSSL RSA key for the rsa parent" \
	tpm2_duplicate -U prim.pub -G rsa -k rsa.pem -u d.pub -r d.dpriv -s d.seed
vt_check "software duplicate of an OpenSSL ECC key for the ecc parent" \
	tpm2_duplicate -U eprim.pub -G ecc -k ec.pem -u e.pub -r e.dpriv -s e.seed
vt_check "import the rsa duplicate" tpm2_import -C prim.ctx -u d.pub -i d.dpriv -s d.seed -r d.priv
vt_check "import the ecc duplicate" tpm2_import -C eprim.ctx -u e.pub -i e.dpriv -s e.seed -r e.priv
vt_check "load + sign with the imported ecc key" \
	bash -c 'tpm2_load -C eprim.ctx -u e.pub -r e.priv -c e.ctx >/dev/null && tpm2_sign -c e.ctx -g sha256 -f plain -o e.sig msg'
openssl ec -in ec.pem -pubout -out ecpub.pem 2>/dev/null
vt_check "openssl verifies the signature" openssl dgst -sha256 -verify ecpub.pem -signature e.sig msg

# An RSA secret that does not decrypt (OAEP padding or label wrong) is
# TPM_RC_VALUE (Part 3 §13.3, §12.5); swtpm (libtpms) answers TPM_RC_FAILURE
# there, so against swtpm only the failure is checked.
rsa_value_rc() { # rsa_value_rc NAME RC cmd...
	local name=$1 rc=$2
	shift 2
	if [ "$VT_TARGET" = swtpm ]; then
		vt_check_fails "$name (swtpm: any failure)" "$@"
	else
		vt_check_rc "$name" "$rc" "$@"
	fi
}

# ---- Import errors
cp d.dpriv bad.dpriv
flip bad.dpriv -1
vt_check_rc "import: one bit of the duplicate flipped: TPM_RC_INTEGRITY (parameter 3)" 0x3DF \
	tpm2_import -C prim.ctx -u d.pub -i bad.dpriv -s d.seed -r x.priv
cp d.dpriv bad.dpriv
flip bad.dpriv 10
vt_check_rc "import: one bit of the outer HMAC flipped: TPM_RC_INTEGRITY (parameter 3)" 0x3DF \
	tpm2_import -C prim.ctx -u d.pub -i bad.dpriv -s d.seed -r x.priv
cp d.seed bad.seed
flip bad.seed 100
rsa_value_rc "import: one bit of the RSA seed flipped: TPM_RC_VALUE (parameter 4)" 0x4C4 \
	tpm2_import -C prim.ctx -u d.pub -i d.dpriv -s bad.seed -r x.priv
rsa_value_rc "import under another rsa parent: TPM_RC_VALUE (parameter 4)" 0x4C4 \
	tpm2_import -C prim2.ctx -u d.pub -i d.dpriv -s d.seed -r x.priv
vt_check_rc "import with another object's public area: TPM_RC_INTEGRITY (parameter 3)" 0x3DF \
	tpm2_import -C eprim.ctx -u d.pub -i e.dpriv -s e.seed -r x.priv
cp e.seed bad.seed
flip bad.seed 20
vt_check_rc "import: the ephemeral ECC point off the curve: TPM_RC_ECC_POINT (parameter 4)" 0x4E7 \
	tpm2_import -C eprim.ctx -u e.pub -i e.dpriv -s bad.seed -r x.priv
head -c 16 /dev/urandom >inner.key
# The wrong key decrypts innerIntegrity's size field to noise: larger than a
# TPM2B_DIGEST, so TPM_RC_SIZE (as swtpm; 65 in 65536 keys would give
# TPM_RC_INTEGRITY instead).
vt_check_rc "import with an inner key the blob was not made with: TPM_RC_SIZE (parameter 3)" 0x3D5 \
	tpm2_import -C prim.ctx -u d.pub -i d.dpriv -s d.seed -k inner.key -r x.priv
vt_check_rc "import of a fixedTPM key: TPM_RC_ATTRIBUTES (parameter 2)" 0x2C2 \
	tpm2_import -C prim.ctx -G rsa -i rsa.pem -a 'fixedtpm|fixedparent|userwithauth|sign' -u x.pub -r x.priv
vt_check_rc "import of a fixedParent key: TPM_RC_ATTRIBUTES (parameter 2)" 0x2C2 \
	tpm2_import -C prim.ctx -G ecc -i ec.pem -a 'fixedparent|userwithauth|sign' -u x.pub -r x.priv

# ---- MakeCredential / ActivateCredential
vt_check "restricted rsa decryption primary in the endorsement hierarchy (the 'EK')" \
	tpm2_createprimary -C e -g sha256 -G rsa2048:aes128cfb -c ek.ctx
vt_check "restricted ecc decryption primary in the endorsement hierarchy" \
	tpm2_createprimary -C e -g sha256 -G ecc256:aes128cfb -c eek.ctx
tpm2_readpublic -c ek.ctx -o ek.pub >/dev/null 2>&1
tpm2_readpublic -c eek.ctx -o eek.pub >/dev/null 2>&1
N=$(hexof sig.name)
head -c 32 /dev/urandom >cred.bin
vt_check "makecredential (TPM) for the signing key's name" \
	tpm2_makecredential -u ek.pub -s cred.bin -n "$N" -o c.out
vt_check "makecredential (software, -T none)" \
	tpm2_makecredential -T none -u ek.pub -s cred.bin -n "$N" -o csw.out
vt_check "makecredential (software) with the ecc key" \
	tpm2_makecredential -T none -u eek.pub -s cred.bin -n "$N" -o ce.out
vt_check_eq "activatecredential of the TPM's blob gives the credential" "$(hexof cred.bin)" \
	"$(tpm2_activatecredential -c sig.ctx -C ek.ctx -i c.out -o a.out >/dev/null 2>&1 && hexof a.out)"
vt_check_eq "activatecredential of tpm2-tools' software blob gives the credential" "$(hexof cred.bin)" \
	"$(tpm2_activatecredential -c sig.ctx -C ek.ctx -i csw.out -o a2.out >/dev/null 2>&1 && hexof a2.out)"
vt_check_eq "activatecredential with the ecc key (ECDH + KDFe seed)" "$(hexof cred.bin)" \
	"$(tpm2_activatecredential -c sig.ctx -C eek.ctx -i ce.out -o a3.out >/dev/null 2>&1 && hexof a3.out)"

# The credential file: a header (magic, version), TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET.
cp csw.out bad.out
flip bad.out 20
vt_check_rc "activate: one bit of the credential blob flipped: TPM_RC_INTEGRITY (parameter 1)" 0x1DF \
	tpm2_activatecredential -c sig.ctx -C ek.ctx -i bad.out -o x.out
cp csw.out bad.out
flip bad.out -10
rsa_value_rc "activate: one bit of the RSA secret flipped: TPM_RC_VALUE (parameter 2)" 0x2C4 \
	tpm2_activatecredential -c sig.ctx -C ek.ctx -i bad.out -o x.out
vt_check_rc "activate for another object (another Name): TPM_RC_INTEGRITY (parameter 1)" 0x1DF \
	tpm2_activatecredential -c prim.ctx -C ek.ctx -i csw.out -o x.out
vt_check_rc "activate with a signing key as the decryption key: TPM_RC_TYPE (handle 2)" 0x28A \
	tpm2_activatecredential -c sig.ctx -C sig.ctx -i csw.out -o x.out
head -c 48 /dev/urandom >cred48.bin
vt_check_rc "makecredential of 48 octets for a SHA-256 key: TPM_RC_SIZE (parameter 1)" 0x1D5 \
	tpm2_makecredential -u ek.pub -s cred48.bin -n "$N" -o x.out
vt_check_rc "makecredential with a signing key: TPM_RC_TYPE (handle 1)" 0x18A \
	tpm2_makecredential -u sig.pub -s cred.bin -n "$N" -o x.out

# ---- raw commands: what tpm2-tools never sends
vt_check "persist the rsa parent" tpm2_evictcontrol -C o -c prim.ctx 0x81000020
vt_check "persist the signing key" tpm2_evictcontrol -C o -c sig.ctx 0x81000021
PW=00000009400000090000010000 # one password session, empty password
# raw_rc CC HANDLES PARAMS: send the command (one password session), print its rc
raw_rc() {
	local body="$2$PW$3"
	# shellcheck disable=SC2086
	$VT_RAW send "$(printf '8002%08x%08x' $((10 + ${#body} / 2)) "$1")$body" 2>&1 |
		sed -n 's/^rc=\(0x[0-9a-f]*\).*/\1/p'
}
IMPORT=0x156
REWRAP=0x152
PUB=$(hexof d.pub)
DUP=$(hexof d.dpriv)
SEED=$(hexof d.seed)
NULLSYM=0010
vt_check_eq "raw import of the rsa duplicate (the frame is right)" 0x00000000 \
	"$(raw_rc $IMPORT 81000020 "0000$PUB$DUP$SEED$NULLSYM")"
vt_check_eq "raw import, one octet too many: TPM_RC_SIZE" 0x00000095 \
	"$(raw_rc $IMPORT 81000020 "0000$PUB$DUP$SEED${NULLSYM}00")"
vt_check_eq "raw import, an unknown symmetric algorithm: TPM_RC_SYMMETRIC (parameter 5)" 0x000005d6 \
	"$(raw_rc $IMPORT 81000020 "0000$PUB$DUP${SEED}0042")"
vt_check_eq "raw import, an encryption key without an algorithm: TPM_RC_SIZE (parameter 1)" 0x000001d5 \
	"$(raw_rc $IMPORT 81000020 "0010$(printf '%032d' 0)$PUB$DUP$SEED$NULLSYM")"
vt_check_eq "raw import, AES-128 without a key: TPM_RC_SIZE (parameter 1)" 0x000001d5 \
	"$(raw_rc $IMPORT 81000020 "0000$PUB$DUP${SEED}000600800043")"
vt_check_eq "raw import under the signing key: TPM_RC_TYPE (handle 1)" 0x0000018a \
	"$(raw_rc $IMPORT 81000021 "0000$PUB$DUP$SEED$NULLSYM")"
vt_check_eq "raw import, objectPublic empty: TPM_RC_SIZE (parameter 2)" 0x000002d5 \
	"$(raw_rc $IMPORT 81000020 "00000000$DUP$SEED$NULLSYM")"

# Rewrap: the Name is nameAlg || SHA-256(TPMT_PUBLIC), the public file without its size.
NAME=0022000b$(tail -c +3 d.pub | sha256sum | cut -c1-64)
vt_check_eq "raw rewrap from the rsa parent to no parent" 0x00000000 \
	"$(raw_rc $REWRAP 8100002040000007 "$DUP$NAME$SEED")"
vt_check_eq "raw rewrap with another Name: TPM_RC_INTEGRITY (parameter 1)" 0x000001df \
	"$(raw_rc $REWRAP 8100002040000007 "${DUP}0022$(hexof sig.name)$SEED")"
vt_check_eq "raw rewrap from a signing key: TPM_RC_TYPE (handle 1)" 0x0000018a \
	"$(raw_rc $REWRAP 8100002140000007 "$DUP$NAME$SEED")"
vt_check_eq "raw rewrap to a signing key: TPM_RC_TYPE (handle 2)" 0x0000028a \
	"$(raw_rc $REWRAP 8100002081000021 "$DUP$NAME$SEED")"
vt_check_eq "raw rewrap, one octet too many: TPM_RC_SIZE" 0x00000095 \
	"$(raw_rc $REWRAP 8100002040000007 "$DUP$NAME${SEED}00")"

# ---- TPM2_Duplicate: the DUP role takes a policy session only.  tpm2-tools
# saves every session to a file (ContextSave of a session), so the policy
# session, its PolicyCommandCode(TPM_CC_Duplicate) and the Duplicate go over
# one raw connection here.  The objects' authPolicy is that policy's digest.
# dup_raw OBJ NEWPARENT SYM OUTPREFIX: prints the rc; on success writes
# OUTPREFIX.inner (raw key), .dup (TPM2B_PRIVATE), .seed (TPM2B_ENCRYPTED_SECRET)
dup_raw() {
	"$VT_PYTHON" - "$@" <<'PY'
import os, struct, sys
sys.path.insert(0, os.path.dirname(os.environ["VT_RAWTPM"]))
import rawtpm
obj, np, sym, out = int(sys.argv[1], 16), int(sys.argv[2], 16), bytes.fromhex(sys.argv[3]), sys.argv[4]
proto, port = os.environ["VT_PROTO"], int(os.environ["VT_PORT"])
c = rawtpm.Conn(proto, "127.0.0.1", port, 10)
# StartAuthSession(tpmKey NULL, bind NULL, 16-octet nonce, no salt, POLICY, sym NULL, SHA-256)
body = struct.pack(">II", 0x40000007, 0x40000007) + struct.pack(">H", 16) + b"\x11" * 16 + \
    struct.pack(">HBHH", 0, 1, 0x0010, 0x000B)
rsp = c.command(struct.pack(">HII", 0x8001, 10 + len(body), 0x176) + body)
rc = struct.unpack(">I", rsp[6:10])[0]
if rc:
    print("0x%08x" % rc); sys.exit(0)
ses = struct.unpack(">I", rsp[10:14])[0]
# PolicyCommandCode(Duplicate), as tpm2_duplicate's policy has it
rsp = c.command(struct.pack(">HIIII", 0x8001, 18, 0x16C, ses, 0x14B))
rc = struct.unpack(">I", rsp[6:10])[0]
if rc:
    print("policy:0x%08x" % rc)
    c.command(struct.pack(">HIII", 0x8001, 14, 0x165, ses)); sys.exit(0)
auth = struct.pack(">IH", ses, 16) + b"\x22" * 16 + b"\x01" + struct.pack(">H", 0)
params = struct.pack(">H", 0) + sym
body = struct.pack(">II", obj, np) + struct.pack(">I", len(auth)) + auth + params
rsp = c.command(struct.pack(">HII", 0x8002, 10 + len(body), 0x14B) + body)
rc = struct.unpack(">I", rsp[6:10])[0]
print("0x%08x" % rc)
if rc == 0:
    off = 14  # header, parameterSize
    parts = []
    for i in range(3):
        n = struct.unpack(">H", rsp[off:off + 2])[0]
        parts.append(rsp[off:off + 2 + n]); off += 2 + n
    open(out + ".inner", "wb").write(parts[0][2:])
    open(out + ".dup", "wb").write(parts[1])
    open(out + ".seed", "wb").write(parts[2])
# the session is flushed when it is not continued (attributes 0x01 keep it)
c.command(struct.pack(">HIII", 0x8001, 14, 0x165, ses))
c.close()
PY
}
export VT_RAWTPM VT_PORT
if [ "$VT_TARGET" = swtpm ]; then export VT_PROTO=raw; else export VT_PROTO=mssim; fi
# authPolicy = SHA-256(zeros || TPM_CC_PolicyCommandCode || TPM_CC_Duplicate)
{ head -c 32 /dev/zero; printf '\x00\x00\x01\x6c\x00\x00\x01\x4b'; } | openssl dgst -sha256 -binary >zero.policy
AES128CFB=000600800043
vt_check "a duplicable ecc key whose policy is PolicyCommandCode(Duplicate)" \
	tpm2_create -C prim.ctx -G ecc256 -L zero.policy -a 'sensitivedataorigin|userwithauth|sign' -u k.pub -r k.priv
vt_check "a fixedParent key with that policy" \
	tpm2_create -C prim.ctx -G ecc256 -L zero.policy -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign' -u kf.pub -r kf.priv
vt_check "an encryptedDuplication key with that policy" \
	tpm2_create -C prim.ctx -G ecc256 -L zero.policy -a 'encryptedduplication|sensitivedataorigin|userwithauth|sign' -u ke.pub -r ke.priv
tpm2_load -C prim.ctx -u k.pub -r k.priv -c k.ctx >/dev/null 2>&1
tpm2_load -C prim.ctx -u kf.pub -r kf.priv -c kf.ctx >/dev/null 2>&1
tpm2_load -C prim.ctx -u ke.pub -r ke.priv -c ke.ctx >/dev/null 2>&1
vt_check "persist them and the ecc parent" bash -c '
	tpm2_evictcontrol -C o -c k.ctx 0x81000030 && tpm2_evictcontrol -C o -c kf.ctx 0x81000031 &&
	tpm2_evictcontrol -C o -c ke.ctx 0x81000032 && tpm2_evictcontrol -C o -c eprim.ctx 0x81000033'
first=$(dup_raw 81000030 81000033 $AES128CFB k)
case "$first" in
policy:*)
	vt_skip "TPM2_Duplicate with a policy session" "PolicyCommandCode answers ${first#policy:}"
	;;
*)
vt_check_eq "duplicate to the ecc parent, inner wrapper with a TPM-made key" 0x00000000 "$first"
vt_check_eq "the TPM returned a 16-octet inner key" 16 "$(stat -c %s k.inner 2>/dev/null)"
vt_check "import the duplicate under the ecc parent (tpm2_import -k)" \
	tpm2_import -C eprim.ctx -u k.pub -i k.dup -s k.seed -k k.inner -r k2.priv
vt_check "the moved key signs, and the signature verifies" bash -c '
	tpm2_load -C eprim.ctx -u k.pub -r k2.priv -c k2.ctx >/dev/null &&
	tpm2_sign -c k2.ctx -g sha256 -o k2.sig msg && tpm2_verifysignature -c k2.ctx -g sha256 -m msg -s k2.sig'
vt_check_eq "duplicate with no wrapper at all (new parent NULL, no inner)" 0x00000000 \
	"$(dup_raw 81000030 40000007 0010 kn)"
vt_check "import of the clear duplicate (empty seed)" bash -c '
	printf "\0\0" >empty.seed && tpm2_import -C prim.ctx -u k.pub -i kn.dup -s empty.seed -r k3.priv'
vt_check_eq "duplicate of a fixedParent key: TPM_RC_ATTRIBUTES (handle 1)" 0x00000182 \
	"$(dup_raw 81000031 81000033 $AES128CFB x)"
vt_check_eq "encryptedDuplication without an inner wrapper: TPM_RC_SYMMETRIC (parameter 2)" 0x000002d6 \
	"$(dup_raw 81000032 81000033 0010 x)"
vt_check_eq "encryptedDuplication to no parent: TPM_RC_HIERARCHY (handle 2)" 0x00000285 \
	"$(dup_raw 81000032 40000007 $AES128CFB x)"
vt_check_eq "duplicate to a signing key: TPM_RC_TYPE (handle 2)" 0x0000028a \
	"$(dup_raw 81000030 81000021 $AES128CFB x)"
	;;
esac
for h in 0x81000030 0x81000031 0x81000032 0x81000033; do
	tpm2_evictcontrol -C o -c $h >/dev/null 2>&1
done
tpm2_evictcontrol -C o -c 0x81000020 >/dev/null 2>&1
tpm2_evictcontrol -C o -c 0x81000021 >/dev/null 2>&1

vt_done
