#!/bin/bash
# Seeds for fuzz_engine that reach the key commands: tpm2-tools scenarios
# run against record_engine (an mssim server on the harness's deterministic
# platform, tests/fuzz/record_engine.c), so each recorded sequence replays
# exactly in fuzz_engine: the context blobs, handles and session HMACs of the
# live run stay valid on replay.
#
#   tests/fuzz/record_key_corpus.sh [SCENARIO...]    default: all
#
# Writes tests/fuzz/corpus/fuzz_engine/keys-<scenario> (the raw recording,
# tpm2-tools' own HMAC sessions) and keys-<scenario>-sa (the same commands as
# structure-aware records with password sessions, so that mutated
# parameters still pass authorization).  Builds build-fuzz/record_engine.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD:-build-fuzz}
OUTDIR=$ROOT/tests/fuzz/corpus/fuzz_engine
REC=$ROOT/$BUILD/record_engine
make -s BUILD="$BUILD" "$BUILD/libvitrum.a" || exit 1
gcc -O1 -g -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Wno-missing-field-initializers \
    -Iinclude -Isrc -Itests/fuzz -o "$REC" tests/fuzz/record_engine.c "$BUILD/libvitrum.a" \
    -ltss2-mu -lcrypto -lseccomp -lpthread || exit 1

TMP=$(mktemp -d)
SRV=
trap '[ -n "$SRV" ] && kill $SRV 2>/dev/null; rm -rf "$TMP"' EXIT
export TSS2_LOG=all+none
unset TPM2TOOLS_ENABLE_ERRATA

# ---------------------------------------------------------------- scenarios
# Each runs in a fresh directory against a fresh deterministic engine; keep
# them under 64 TPM commands (tpm2-tools sends 3-6 per invocation).

sc_primaries() {
    tpm2_createprimary -C o -G rsa2048 -c r.ctx
    tpm2_flushcontext -t
    tpm2_createprimary -C e -G ecc256 -c e.ctx
    tpm2_flushcontext -t
    tpm2_createprimary -C o -G aes128cfb -c a.ctx
    tpm2_flushcontext -t
    tpm2_createprimary -C n -G hmac -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign' -c h.ctx
    tpm2_flushcontext -t
    tpm2_createprimary -C o -G keyedhash -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|decrypt' -c k.ctx
    tpm2_flushcontext -t
    tpm2_createprimary -C o -G ecc384 -g sha384 -c e3.ctx
}
sc_primaries2() {
    tpm2_createprimary -C p -G rsa1024:rsassa -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign' -c r1.ctx
    tpm2_flushcontext -t
    tpm2_createprimary -C o -G ecc521:ecdsa -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign' -c e5.ctx
    tpm2_flushcontext -t
    tpm2_createprimary -C o -G aes256cbc -p pw -c a2.ctx
    tpm2_flushcontext -t
    tpm2_createprimary -C o -G rsa2048 -u unique.dat --creation-data cd.bin -d cd.dig -t cd.tk -c r2.ctx
    tpm2_readpublic -c r2.ctx -o r2.pub
}
sc_rsa_sign() {
    tpm2_createprimary -C o -G rsa2048 -c p.ctx
    tpm2_create -C p.ctx -G rsa2048 -u k.pub -r k.priv
    tpm2_load -C p.ctx -u k.pub -r k.priv -c k.ctx
    tpm2_sign -c k.ctx -g sha256 -s rsassa -o s1 msg
    tpm2_verifysignature -c k.ctx -g sha256 -m msg -s s1
    tpm2_sign -c k.ctx -g sha256 -s rsapss -o s2 msg
    tpm2_verifysignature -c k.ctx -g sha256 -m msg -s s2
    tpm2_readpublic -c k.ctx
}
sc_ecc_sign() {
    tpm2_createprimary -C o -G ecc256 -c p.ctx
    tpm2_create -C p.ctx -G ecc256:ecdsa -u k.pub -r k.priv
    tpm2_load -C p.ctx -u k.pub -r k.priv -c k.ctx
    tpm2_sign -c k.ctx -g sha256 -o s1 msg
    tpm2_verifysignature -c k.ctx -g sha256 -m msg -s s1
    tpm2_sign -c k.ctx -g sha384 -o s2 msg
    tpm2_verifysignature -c k.ctx -g sha384 -m msg -s s2
}
sc_ecdh() {
    tpm2_createprimary -C o -G ecc256 -c p.ctx
    tpm2_create -C p.ctx -G ecc256:ecdh -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|decrypt' -u k.pub -r k.priv
    tpm2_load -C p.ctx -u k.pub -r k.priv -c k.ctx
    tpm2_ecdhkeygen -c k.ctx -u eph.pub -o z1
    tpm2_ecdhzgen -c k.ctx -u eph.pub -o z2
}
sc_rsa_crypt() {
    tpm2_createprimary -C o -G rsa2048 -c p.ctx
    tpm2_create -C p.ctx -G rsa2048 -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|decrypt' -u k.pub -r k.priv
    tpm2_load -C p.ctx -u k.pub -r k.priv -c k.ctx
    tpm2_rsaencrypt -c k.ctx -s rsaes -o c1 small
    tpm2_rsadecrypt -c k.ctx -s rsaes -o d1 c1
    tpm2_rsaencrypt -c k.ctx -s oaep -o c2 small
    tpm2_rsadecrypt -c k.ctx -s oaep -o d2 c2
    tpm2_rsaencrypt -c k.ctx -s null -o c3 small
}
sc_sym() {
    tpm2_createprimary -C o -G rsa2048 -c p.ctx
    tpm2_create -C p.ctx -G aes128 -u k.pub -r k.priv
    tpm2_load -C p.ctx -u k.pub -r k.priv -c k.ctx
    tpm2_encryptdecrypt -c k.ctx -G cfb -t iv -o ct small
    tpm2_encryptdecrypt -d -c k.ctx -G cfb -t iv -o pt ct
    tpm2_encryptdecrypt -c k.ctx -G cbc -e -t iv -o ct2 small
    tpm2_encryptdecrypt -c k.ctx -G ctr -t iv -o ct3 small
    tpm2_encryptdecrypt -c k.ctx -G ecb -e -o ct4 small
}
sc_hmac() {
    tpm2_createprimary -C o -G rsa2048 -c p.ctx
    tpm2_create -C p.ctx -G hmac -c k.ctx
    tpm2_hmac -c k.ctx --hex -o h1 small
    tpm2_hmac -c k.ctx --hex -o h2 big
    tpm2_create -C p.ctx -G hmac:sha384 -c k2.ctx
    tpm2_hmac -c k2.ctx -g sha384 -o h3 small
}
sc_quote() {
    tpm2_createprimary -C e -G rsa2048 -c ek.ctx
    tpm2_create -C ek.ctx -G rsa2048:rsassa-sha256:null -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign' -u ak.pub -r ak.priv
    tpm2_load -C ek.ctx -u ak.pub -r ak.priv -c ak.ctx
    tpm2_quote -c ak.ctx -l sha256:0,1,2 -q 0102030405060708 -g sha256 -m q.msg -s q.sig -o q.pcr
    tpm2_certify -c ak.ctx -C ak.ctx -g sha256 -o c.att -s c.sig -f plain
    tpm2_gettime -c ak.ctx -q 0a0b -g sha256 -o t.sig -f plain --attestation t.att
}
sc_certify_creation() {
    tpm2_createprimary -C o -G ecc256 --creation-data pcd -d pc.dig -t pc.tk -c p.ctx
    tpm2_create -C p.ctx -G ecc256:ecdsa-sha256:null -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign' -u ak.pub -r ak.priv
    tpm2_load -C p.ctx -u ak.pub -r ak.priv -c ak.ctx
    tpm2_certifycreation -C ak.ctx -c p.ctx -d pc.dig -t pc.tk -g sha256 -o cc.sig -f plain --attestation cc.att
    tpm2_create -C p.ctx -G rsa2048 --creation-data kcd -d kc.dig -t kc.tk -u k.pub -r k.priv
    tpm2_load -C p.ctx -u k.pub -r k.priv -c k.ctx
    tpm2_certifycreation -C ak.ctx -c k.ctx -d kc.dig -t kc.tk -g sha256 -o cc2.sig -f plain
    tpm2_certify -c k.ctx -C ak.ctx -g sha256 -o c.att -s c.sig -f plain
}
sc_nvcertify() {
    tpm2_createprimary -C o -G ecc256 -c p.ctx
    tpm2_create -C p.ctx -G ecc256:ecdsa -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign' -u ak.pub -r ak.priv
    tpm2_load -C p.ctx -u ak.pub -r ak.priv -c ak.ctx
    tpm2_nvdefine 0x1500016 -C o -s 32 -a 'ownerread|ownerwrite|authread|authwrite'
    tpm2_nvwrite 0x1500016 -C o -i thirtytwo
    tpm2_nvcertify -C ak.ctx -g sha256 -f plain -o nv.sig --attestation nv.att --size 32 --offset 0 0x1500016
    tpm2_nvcertify -C ak.ctx -g sha256 -f plain -o nv2.sig --size 8 --offset 4 -c 0x1500016 0x1500016
}
sc_context_evict() {
    tpm2_createprimary -C o -G rsa2048 -c p.ctx
    tpm2_evictcontrol -C o -c p.ctx 0x81000001
    tpm2_readpublic -c 0x81000001
    tpm2_create -C 0x81000001 -G ecc256 -u k.pub -r k.priv
    tpm2_load -C 0x81000001 -u k.pub -r k.priv -c k.ctx
    tpm2_evictcontrol -C o -c k.ctx 0x81000002
    tpm2_evictcontrol -C o -c 0x81000002
    tpm2_evictcontrol -C o -c 0x81000001
    tpm2_getcap handles-persistent
}
sc_loadexternal() {
    tpm2_loadexternal -C n -G rsa -r rsa.pem -c r.ctx
    tpm2_sign -c r.ctx -g sha256 -o s msg
    tpm2_loadexternal -C o -G rsa -u rsa.pub.pem -c rp.ctx
    tpm2_verifysignature -c rp.ctx -g sha256 -m msg -s s
    tpm2_loadexternal -C n -G ecc -r ec.pem -c e.ctx
    tpm2_loadexternal -C n -G ecc -u ec.pub.pem -c ep.ctx
    tpm2_readpublic -c ep.ctx
}
sc_import() {
    tpm2_createprimary -C o -G rsa2048 -c p.ctx
    tpm2_import -C p.ctx -G rsa -i rsa.pem -u r.pub -r r.priv
    tpm2_load -C p.ctx -u r.pub -r r.priv -c r.ctx
    tpm2_import -C p.ctx -G ecc -i ec.pem -p pw -u e.pub -r e.priv
    tpm2_load -C p.ctx -u e.pub -r e.priv -c e.ctx
    tpm2_sign -c e.ctx -p pw -g sha256 -o s msg
    tpm2_import -C p.ctx -G aes -i aes.key -u a.pub -r a.priv
    tpm2_import -C p.ctx -G hmac -i aes.key -u h.pub -r h.priv
}
# TPM2_Duplicate needs a policy session (DUP role), and tpm2-tools keeps its
# sessions in files (ContextSave of a session), which vitrum does not do: the
# Duplicate goes over a raw mssim connection (dup_raw).  The key's authPolicy
# is H(0^32 || TPM_CC_PolicyCommandCode || TPM_CC_Duplicate).
dup_raw() { # OBJ NEWPARENT SYM(hex) OUTPREFIX
    python3 - "$@" <<'PY'
import os, socket, struct, sys
obj, np, sym, out = int(sys.argv[1], 16), int(sys.argv[2], 16), bytes.fromhex(sys.argv[3]), sys.argv[4]
s = socket.create_connection(("127.0.0.1", int(os.environ["RECPORT"])))
def rd(n):
    b = b""
    while len(b) < n:
        x = s.recv(n - len(b))
        if not x:
            raise SystemExit("closed")
        b += x
    return b
def cmd(c):
    s.sendall(struct.pack(">IBI", 8, 0, len(c)) + c)
    n = struct.unpack(">I", rd(4))[0]
    r = rd(n)
    rd(4)
    return r
body = struct.pack(">II", 0x40000007, 0x40000007) + struct.pack(">H", 16) + b"\x11" * 16 + \
    struct.pack(">HBHH", 0, 1, 0x0010, 0x000B)
r = cmd(struct.pack(">HII", 0x8001, 10 + len(body), 0x176) + body)
ses = struct.unpack(">I", r[10:14])[0]
cmd(struct.pack(">HIIII", 0x8001, 18, 0x16C, ses, 0x14B))  # PolicyCommandCode(Duplicate)
auth = struct.pack(">IH", ses, 16) + b"\x22" * 16 + b"\x00" + struct.pack(">H", 0)
params = struct.pack(">H", 0) + sym
body = struct.pack(">II", obj, np) + struct.pack(">I", len(auth)) + auth + params
r = cmd(struct.pack(">HII", 0x8002, 10 + len(body), 0x14B) + body)
if struct.unpack(">I", r[6:10])[0] == 0:
    off, parts = 14, []
    for i in range(3):
        n = struct.unpack(">H", r[off:off + 2])[0]
        parts.append(r[off:off + 2 + n]); off += 2 + n
    open(out + ".inner", "wb").write(parts[0][2:])
    open(out + ".dup", "wb").write(parts[1])
    open(out + ".seed", "wb").write(parts[2])
s.sendall(struct.pack(">I", 20))
s.close()
PY
}
sc_duplicate() {
    { head -c 32 /dev/zero; printf '\x00\x00\x01\x6c\x00\x00\x01\x4b'; } | openssl dgst -sha256 -binary >zero.policy
    tpm2_createprimary -C o -G rsa2048 -c p.ctx
    tpm2_create -C p.ctx -G ecc256 -L zero.policy -a 'sensitivedataorigin|userwithauth|sign' -u k.pub -r k.priv
    tpm2_load -C p.ctx -u k.pub -r k.priv -c k.ctx
    tpm2_create -C p.ctx -G rsa2048 -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|decrypt|noda' -u np.pub -r np.priv
    tpm2_load -C p.ctx -u np.pub -r np.priv -c np.ctx
    tpm2_evictcontrol -C o -c k.ctx 0x81000010
    tpm2_evictcontrol -C o -c np.ctx 0x81000011
    dup_raw 81000010 81000011 0010 d
    dup_raw 81000010 81000011 000600800043 da
    tpm2_import -C np.ctx -u k.pub -i d.dup -s d.seed -r k2.priv
    tpm2_import -C np.ctx -u k.pub -i da.dup -s da.seed -k da.inner -r k3.priv
}
sc_credential() {
    tpm2_createprimary -C e -G rsa2048 -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|decrypt' -c ek.ctx
    tpm2_readpublic -c ek.ctx -o ek.pub
    tpm2_create -C ek.ctx -G ecc256:ecdsa-sha256:null -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign' -u ak.pub -r ak.priv
    tpm2_load -C ek.ctx -u ak.pub -r ak.priv -c ak.ctx -n ak.name
    tpm2_makecredential -e ek.pub -s secret -n "$(xxd -p -c 256 ak.name)" -o cred
    tpm2_activatecredential -c ak.ctx -C ek.ctx -i cred -o got
}
sc_seal_changeauth() {
    tpm2_createprimary -C o -G ecc256 -c p.ctx
    tpm2_create -C p.ctx -i secret -u s.pub -r s.priv
    tpm2_load -C p.ctx -u s.pub -r s.priv -c s.ctx
    tpm2_unseal -c s.ctx -o out
    tpm2_create -C p.ctx -G rsa2048 -p old -u k.pub -r k.priv
    tpm2_load -C p.ctx -u k.pub -r k.priv -c k.ctx
    tpm2_changeauth -c k.ctx -C p.ctx -p old -r k.new.priv new
    tpm2_load -C p.ctx -u k.pub -r k.new.priv -c k2.ctx
}
sc_createloaded() {
    tpm2_createprimary -C o -G ecc256 -c p.ctx
    tpm2_create -C p.ctx -G rsa2048 -c k.ctx
    tpm2_create -C p.ctx -G ecc256 -c k2.ctx
    tpm2_create -C p.ctx -i secret -c s.ctx
    tpm2_unseal -c s.ctx
    tpm2_create -C p.ctx -G aes256cfb -c a.ctx
    tpm2_readpublic -c a.ctx
}
# Salted sessions (StartAuthSession with a tpmKey: the engine recovers the
# salt with vt_secret_recover) and the policy commands, over a raw
# connection: tpm2-tools keeps sessions in files (ContextSave of a session).
raw_py() { # python body using cmd(bytes) -> response
    python3 -c '
import os, socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(os.environ["RECPORT"])))
def rd(n):
    b = b""
    while len(b) < n:
        x = s.recv(n - len(b))
        if not x:
            raise SystemExit("closed")
        b += x
    return b
def cmd(c):
    s.sendall(struct.pack(">IBI", 8, 0, len(c)) + c)
    r = rd(struct.unpack(">I", rd(4))[0])
    rd(4)
    return r
def C(tag, cc, body):
    return struct.pack(">HII", tag, 10 + len(body), cc) + body
def b2(b):
    return struct.pack(">H", len(b)) + b
def sas(tpmkey, salt, typ=0, sym=b"\x00\x10", bind=0x40000007):
    body = struct.pack(">II", tpmkey, bind) + b2(b"\x11" * 32) + b2(salt) + bytes([typ]) + sym + b"\x00\x0b"
    r = cmd(C(0x8001, 0x176, body))
    return struct.unpack(">I", r[10:14])[0] if struct.unpack(">I", r[6:10])[0] == 0 else None
def flush(h):
    if h is not None:
        cmd(C(0x8001, 0x165, struct.pack(">I", h)))
'"$1"'
s.sendall(struct.pack(">I", 20))
'
}
sc_salted() {
    tpm2_createprimary -C o -G rsa2048 -c r.ctx
    tpm2_readpublic -c r.ctx -f pem -o r.pem
    tpm2_evictcontrol -C o -c r.ctx 0x81000020
    tpm2_createprimary -C o -G ecc256 -c e.ctx
    tpm2_readpublic -c e.ctx -o e.pub
    tpm2_evictcontrol -C o -c e.ctx 0x81000021
    head -c 32 /dev/urandom >salt
    openssl pkeyutl -encrypt -pubin -inkey r.pem -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 \
        -pkeyopt rsa_oaep_label:53454352455400 -in salt -out salt.enc
    # the ECC "salt" is a point on the curve (here the key's own public point)
    python3 -c '
import struct
d = open("e.pub", "rb").read()
# TPM2B_PUBLIC: size, type, nameAlg, attributes, authPolicy, parameters (ecc: sym 2+2+2 or 2, scheme, curve, kdf), unique
off = 2 + 2 + 2 + 4
off += 2 + struct.unpack(">H", d[off:off + 2])[0]
off += 6 if d[off:off + 2] != b"\x00\x10" else 2   # symmetric
off += 4 if d[off:off + 2] != b"\x00\x10" else 2   # scheme
off += 2                                           # curve
off += 4 if d[off:off + 2] != b"\x00\x10" else 2   # kdf
nx = struct.unpack(">H", d[off:off + 2])[0]
x = d[off:off + 2 + nx]
ny = struct.unpack(">H", d[off + 2 + nx:off + 4 + nx])[0]
y = d[off + 2 + nx:off + 4 + nx + ny]
open("point", "wb").write(x + y)'
    SALT=$(xxd -p -c 1000 salt.enc) POINT=$(xxd -p -c 1000 point) raw_py '
h = sas(0x81000020, bytes.fromhex(os.environ["SALT"]), sym=b"\x00\x06\x00\x80\x00\x43")
r = cmd(C(0x8001, 0x17B, b"\x00\x10"))
flush(h)
h = sas(0x81000021, bytes.fromhex(os.environ["POINT"]), typ=0)
flush(h)
h = sas(0x81000020, bytes.fromhex(os.environ["SALT"]), typ=1, bind=0x40000001)
flush(h)'
    tpm2_evictcontrol -C o -c 0x81000020
    tpm2_evictcontrol -C o -c 0x81000021
}
sc_policy() {
    raw_py '
for typ in (3, 1):  # trial, policy
    h = sas(0x40000007, b"", typ=typ)
    H = struct.pack(">I", h)
    cmd(C(0x8001, 0x16C, H + struct.pack(">I", 0x153)))                 # PolicyCommandCode(Sign)
    sel = struct.pack(">IHB", 1, 0x000B, 3) + bytes([7, 0, 0])
    cmd(C(0x8001, 0x17F, H + b2(b"") + sel))                            # PolicyPCR
    cmd(C(0x8001, 0x16B, H))                                            # PolicyAuthValue
    cmd(C(0x8001, 0x18C, H))                                            # PolicyPassword
    r = cmd(C(0x8001, 0x189, H))                                        # PolicyGetDigest
    dg = r[10:]
    cmd(C(0x8001, 0x171, H + struct.pack(">I", 2) + dg + b2(b"\x01" * 32)))  # PolicyOR
    auth = struct.pack(">IH", 0x40000009, 0) + b"\x01" + struct.pack(">H", 0)
    body = struct.pack(">II", 0x40000001, h) + struct.pack(">I", len(auth)) + auth
    cmd(C(0x8002, 0x151, body + b2(b"") + b2(b"") + b2(b"") + struct.pack(">i", 0)))  # PolicySecret
    cmd(C(0x8001, 0x180, H))                                            # PolicyRestart
    flush(h)'
}
sc_rsa4096() {
    tpm2_createprimary -C o -G rsa4096 -c p.ctx
    tpm2_create -C p.ctx -G rsa3072 -u k.pub -r k.priv
    tpm2_load -C p.ctx -u k.pub -r k.priv -c k.ctx
    tpm2_sign -c k.ctx -g sha512 -o s msg
}

ALL="primaries primaries2 rsa_sign ecc_sign ecdh rsa_crypt sym hmac quote certify_creation nvcertify
     context_evict loadexternal import duplicate credential seal_changeauth createloaded rsa4096
     salted policy"

# ---------------------------------------------------------------- driver
mkinputs() {
    head -c 100 /dev/zero | tr '\0' 'a' >small
    head -c 3000 /dev/zero | tr '\0' 'b' >big
    printf 'message to sign\n' >msg
    printf 'seal me' >secret
    printf '0123456789abcdef0123456789abcdef' >thirtytwo
    head -c 16 /dev/zero >iv
    printf '0123456789abcdef' >aes.key
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
    openssl pkey -in rsa.pem -pubout -out rsa.pub.pem 2>/dev/null
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>/dev/null
    openssl pkey -in ec.pem -pubout -out ec.pub.pem 2>/dev/null
}

run_one() { # scenario
    local s=$1 port=$((25000 + RANDOM % 5000)) d=$TMP/$1
    mkdir -p "$d"
    cd "$d" || return 1
    mkinputs
    "$REC" "$port" "$d/rec.bin" 2>"$d/rec.log" &
    SRV=$!
    for _ in $(seq 50); do
        python3 -c "import socket;socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null && break
        sleep 0.1
    done
    export TPM2TOOLS_TCTI="mssim:host=127.0.0.1,port=$port" RECPORT=$port
    set -x
    "sc_$s" >"$d/tools.log" 2>&1
    set +x
    sleep 0.5 # let the server flush what the last client left
    kill $SRV 2>/dev/null
    wait $SRV 2>/dev/null
    SRV=
    cd "$ROOT" || return 1
    cp "$d/rec.bin" "$OUTDIR/keys-${s//_/-}"
    python3 - "$d/rec.bin" "$OUTDIR/keys-${s//_/-}-sa" <<'PY'
import re, struct, sys
# number of handles per command code, from the command table
cc = {}
for m in re.finditer(r"#define\s+TPM2_CC_(\w+)\s+\(\(TPM2_CC\)\s*(0x[0-9a-fA-F]+)\)",
                     open("/usr/include/tss2/tss2_tpm2_types.h").read()):
    cc[m.group(1)] = int(m.group(2), 16)
nh = {}
for m in re.finditer(r"\{\s*TPM2_CC_(\w+),\s*\"\w+\",\s*(\d+),", open("src/engine/cmd_table.c").read()):
    if m.group(1) in cc:
        nh[cc[m.group(1)]] = int(m.group(2))
d = open(sys.argv[1], "rb").read()
out = bytearray(b"\x03")
off = 1
while off + 3 <= len(d):
    ctl = d[off]
    n = struct.unpack_from(">H", d, off + 1)[0]
    c = d[off + 3:off + 3 + n]
    off += 3 + n
    tag, _, code = struct.unpack_from(">HII", c, 0)
    body = None
    if code in nh:
        h = 10 + 4 * nh[code]
        if tag == 0x8002 and len(c) >= h + 4:
            a = struct.unpack_from(">I", c, h)[0]
            body = b"\x00" + struct.pack(">I", code) + c[10:h] + c[h + 4 + a:]
        elif tag == 0x8001:
            body = b"\x10" + struct.pack(">I", code) + c[10:]
    if body is None:
        out += bytes([ctl]) + struct.pack(">H", len(c)) + c
    else:
        out += bytes([0x10 | ctl]) + struct.pack(">H", len(body)) + body
open(sys.argv[2], "wb").write(out)
PY
    echo "== $s: $(grep -Ec 'rc 0x0( |$)' "$d/rec.log") ok, $(grep -Evc 'rc 0x0( |$)' "$d/rec.log") failed of $(grep -c 'cc 0x' "$d/rec.log")"
    grep -Ev 'rc 0x0( |$)' "$d/rec.log" | head -5
    [ -n "${KEEP:-}" ] && cp "$d/tools.log" "/tmp/record-$s.log"
}

for s in ${@:-$ALL}; do
    run_one "$s"
done
