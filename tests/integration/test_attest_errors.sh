#!/bin/bash
# Attestation error paths (TPM 2.0 Part 3 §18 Quote / Certify /
# CertifyCreation / GetTime, §31.16 NV_Certify), sent as hand-made commands
# through rawtpm.py so each response code and its handle/parameter number is
# seen exactly; then the fields of a real tpm2_quote checked independently
# (Part 2 §10.12.12 TPMS_ATTEST, parsed in Python) and the obfuscation rule of
# Part 3 §18.1.  The expected codes are swtpm's: VT_TARGET=swtpm runs the
# same script against it.
. "$(dirname "$0")/lib.sh"

vt_server_start || vt_done
T=$VT_TMP
flush() { tpm2_flushcontext -t >/dev/null 2>&1; }

SIGN_O=0x81000010   # owner, restricted RSASSA-SHA256 signing key
SIGN_E=0x81000011   # endorsement, ECC signing key without a scheme
STORE=0x81000012    # owner, storage key (cannot sign)
RESTRICTED="fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign"
UNRESTRICTED="fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign"

flush
vt_check "owner signing key" tpm2_createprimary -C o -G rsa2048:rsassa-sha256:null -a "$RESTRICTED" \
	-c "$T/so.ctx" --creation-data "$T/so.cd" -d "$T/so.ch" -t "$T/so.tk"
tpm2_evictcontrol -C o -c "$T/so.ctx" $SIGN_O >/dev/null 2>&1
flush
vt_check "endorsement signing key (no scheme)" tpm2_createprimary -C e -G ecc256:null:null -a "$UNRESTRICTED" -c "$T/se.ctx"
tpm2_evictcontrol -C o -c "$T/se.ctx" $SIGN_E >/dev/null 2>&1
flush
vt_check "storage key" tpm2_createprimary -C o -c "$T/st.ctx"
tpm2_evictcontrol -C o -c "$T/st.ctx" $STORE >/dev/null 2>&1
flush
tpm2_readpublic -c $SIGN_O -o "$T/so.pem" -f pem >/dev/null 2>&1
tpm2_readpublic -c $SIGN_O -n "$T/so.name" >/dev/null 2>&1
tpm2_readpublic -c $SIGN_E -o "$T/se.pem" -f pem >/dev/null 2>&1
NAME_O=$(xxd -p "$T/so.name" | tr -d '\n')

# NV: 0x1500020 owner-read and auth-read, written; 0x1500021 never written;
# 0x1500022 auth-read only (no owner read); 0x1500023 read-locked
printf '0123456789abcdef' >"$T/nv16"
tpm2_nvdefine 0x1500020 -C o -s 16 -a "ownerread|ownerwrite|authread" >/dev/null 2>&1
tpm2_nvwrite 0x1500020 -C o -i "$T/nv16" >/dev/null 2>&1
tpm2_nvdefine 0x1500021 -C o -s 16 -a "ownerread|ownerwrite" >/dev/null 2>&1
tpm2_nvdefine 0x1500022 -C o -s 16 -a "authread|ownerwrite" >/dev/null 2>&1
tpm2_nvwrite 0x1500022 -C o -i "$T/nv16" >/dev/null 2>&1
tpm2_nvdefine 0x1500023 -C o -s 16 -a "ownerread|ownerwrite|read_stclear" >/dev/null 2>&1
tpm2_nvwrite 0x1500023 -C o -i "$T/nv16" >/dev/null 2>&1
tpm2_nvreadlock 0x1500023 -C o >/dev/null 2>&1

# ---- command builder: gen.py NAME [args] prints the command in hex
cat >"$T/gen.py" <<'EOF'
import struct, sys

def b2(data):
    return struct.pack(">H", len(data)) + data

def pw(n):
    s = struct.pack(">IHBH", 0x40000009, 0, 1, 0) * n
    return struct.pack(">I", len(s)) + s

def cmd(cc, handles, nauth, params):
    body = b"".join(struct.pack(">I", h) for h in handles) + pw(nauth) + params
    return struct.pack(">HII", 0x8002, 10 + len(body), cc) + body

NULL_SCHEME = struct.pack(">H", 0x0010)
def scheme(alg, h=0x000B):
    return struct.pack(">HH", alg, h)

def sel(alg=0x000B, size=3, bits=b"\x07\x00\x00", count=1):
    return struct.pack(">I", count) + (struct.pack(">HB", alg, size) + bits) * count

a = sys.argv[1:]
op, h = a[0], [int(x, 0) for x in a[1].split(",")] if len(a) > 1 else []
QUOTE, CERTIFY, CREATION, GETTIME, NVCERT = 0x158, 0x148, 0x14A, 0x14C, 0x184
if op == "quote":                     # quote H [qd_len] [scheme] [selection]
    qd = b"q" * int(a[2]) if len(a) > 2 else b"nonce"
    sch = {"null": NULL_SCHEME, "rsassa": scheme(0x14), "rsapss": scheme(0x16),
           "ecdsa": scheme(0x18)}[a[3] if len(a) > 3 else "null"]
    s = {"ok": sel(), "badhash": sel(alg=0x0099), "size5": sel(size=5, bits=b"\x07" + b"\x00" * 4),
         "sha512": sel(alg=0x000D)}[a[4] if len(a) > 4 else "ok"]
    extra = b"\x00" if len(a) > 5 else b""
    c = cmd(QUOTE, h, 1, b2(qd) + sch + s + extra)
elif op == "certify":                 # certify OBJ,SIGN
    c = cmd(CERTIFY, h, 2, b2(b"x") + NULL_SCHEME)
elif op == "creation":                # creation SIGN,OBJ HASHHEX TAG HIER TKHEX
    c = cmd(CREATION, h, 1, b2(b"x") + b2(bytes.fromhex(a[2])) + NULL_SCHEME +
            struct.pack(">HI", int(a[3], 0), int(a[4], 0)) + b2(bytes.fromhex(a[5])))
elif op == "gettime":                 # gettime ADMIN,SIGN [scheme]
    sch = scheme(0x18) if len(a) > 2 and a[2] == "ecdsa" else NULL_SCHEME
    c = cmd(GETTIME, h, 2, b2(b"t") + sch)
elif op == "nvcertify":               # nvcertify SIGN,AUTH,INDEX SIZE OFFSET
    c = cmd(NVCERT, h, 2, b2(b"n") + NULL_SCHEME + struct.pack(">HH", int(a[2]), int(a[3])))
print(c.hex())
EOF
gen() { "$VT_PYTHON" "$T/gen.py" "$@"; }
# response code of one raw command
rc_of() { # rc_of HEX  (one retry on TPM_RC_RETRY, which swtpm sometimes gives)
	local rc
	# shellcheck disable=SC2086
	rc=$($VT_RAW send "$1" 2>/dev/null | sed -n 's/^rc=\(0x[0-9a-f]*\).*/\1/p' | head -1)
	if [ "$rc" = 0x00000922 ]; then
		# shellcheck disable=SC2086
		rc=$($VT_RAW send "$1" 2>/dev/null | sed -n 's/^rc=\(0x[0-9a-f]*\).*/\1/p' | head -1)
	fi
	echo "$rc"
}
expect() { # expect NAME RC gen-args...
	local name=$1 want=$2
	shift 2
	vt_check_eq "$name" "$want" "$(rc_of "$(gen "$@")")"
	flush
}

# ---- Quote (Part 3 §18.4)
expect "quote: owner key, NULL inScheme: success" 0x00000000 quote $SIGN_O
expect "quote: a key without sign: TPM_RC_KEY, handle 1" 0x0000019c quote $STORE
expect "quote: neither key nor inScheme has a scheme: TPM_RC_SCHEME, parameter 2" 0x000002d2 quote $SIGN_E
expect "quote: restricted key, another scheme: TPM_RC_SCHEME, parameter 2" 0x000002d2 quote $SIGN_O 4 rsapss
expect "quote: ECC key with an RSA scheme: TPM_RC_SCHEME, parameter 2" 0x000002d2 quote $SIGN_E 4 rsassa
expect "quote: unrestricted key takes the caller's ECDSA scheme" 0x00000000 quote $SIGN_E 4 ecdsa
expect "quote: signHandle TPM_RH_NULL: no scheme to hash with, TPM_RC_SCHEME, parameter 2" 0x000002d2 quote 0x40000007
# TPM2B_DATA holds sizeof(TPMT_HA) = 66 octets by Part 2; tpm2-tss 3.2's
# TPM2B_DATA (which vitrum's TPMS_ATTEST uses) holds 64, so vitrum takes up
# to 64 (swtpm up to 66).  Both refuse 67.
expect "quote: qualifyingData of 64 octets (a SHA-512 nonce) is accepted" 0x00000000 quote $SIGN_O 64
expect "quote: qualifyingData of 67 octets: TPM_RC_SIZE, parameter 1" 0x000001d5 quote $SIGN_O 67
expect "quote: selection of an unknown hash: TPM_RC_HASH, parameter 3" 0x000003c3 quote $SIGN_O 4 null badhash
expect "quote: sizeofSelect 5 (> PCR_SELECT_MAX): TPM_RC_VALUE, parameter 3" 0x000003c4 quote $SIGN_O 4 null size5
expect "quote: an octet after the parameters: TPM_RC_SIZE" 0x00000095 quote $SIGN_O 4 null ok extra
expect "quote: no such key: TPM_RC_HANDLE, handle 1" 0x0000018b quote 0x81000099

# ---- Certify (Part 3 §18.2)
expect "certify: a key certifies itself" 0x00000000 certify $SIGN_O,$SIGN_O
expect "certify: signing key cannot sign: TPM_RC_KEY, handle 2" 0x0000029c certify $SIGN_O,$STORE
expect "certify: unknown object: TPM_RC_HANDLE, handle 1" 0x0000018b certify 0x81000099,$SIGN_O
expect "certify: NULL signHandle: unsigned, success" 0x00000000 certify $STORE,0x40000007

# ---- CertifyCreation (Part 3 §18.3): the ticket binds Name and creationHash
CH=$(xxd -p "$T/so.ch" | tr -d '\n')
CH=${CH:4}   # the file is a TPM2B_DIGEST: drop the size
TK=$(xxd -p "$T/so.tk" | tr -d '\n')
TK_HIER=0x${TK:4:8}
TK_DIG=${TK:16}
BADCH=$(printf '%s' "$CH" | sed 's/^./f/;s/^ff/0f/')
expect "certifycreation: ticket, hash and object agree" 0x00000000 creation $SIGN_O,$SIGN_O "$CH" 0x8021 "$TK_HIER" "$TK_DIG"
expect "certifycreation: another creationHash: TPM_RC_TICKET, parameter 4" 0x000004e0 creation $SIGN_O,$SIGN_O "$BADCH" 0x8021 "$TK_HIER" "$TK_DIG"
expect "certifycreation: the ticket of another object: TPM_RC_TICKET, parameter 4" 0x000004e0 creation $SIGN_O,$SIGN_E "$CH" 0x8021 "$TK_HIER" "$TK_DIG"
expect "certifycreation: a ticket with tag TPM_ST_HASHCHECK: TPM_RC_TAG, parameter 4" 0x000004d7 creation $SIGN_O,$SIGN_O "$CH" 0x8024 "$TK_HIER" "$TK_DIG"
expect "certifycreation: a NULL ticket: TPM_RC_TICKET, parameter 4" 0x000004e0 creation $SIGN_O,$SIGN_O "$CH" 0x8021 0x40000007 ""
expect "certifycreation: a key without sign: TPM_RC_KEY, handle 1" 0x0000019c creation $STORE,$SIGN_O "$CH" 0x8021 "$TK_HIER" "$TK_DIG"

# ---- GetTime (Part 3 §18.7): privacyAdminHandle is TPMI_RH_ENDORSEMENT
expect "gettime: endorsement, NULL signHandle: success" 0x00000000 gettime 0x4000000B,0x40000007
expect "gettime: owner as privacy admin: TPM_RC_VALUE, handle 1" 0x00000184 gettime 0x40000001,$SIGN_O
expect "gettime: a key without sign: TPM_RC_KEY, handle 2" 0x0000029c gettime 0x4000000B,$STORE
expect "gettime: unrestricted key with ECDSA" 0x00000000 gettime 0x4000000B,$SIGN_E ecdsa

# ---- NV_Certify (Part 3 §31.16): the read rules of NV_Read
OWNER=0x40000001
expect "nvcertify: owner reads 8 octets at 4" 0x00000000 nvcertify $SIGN_O,$OWNER,0x1500020 8 4
expect "nvcertify: the index authorizes itself (AUTHREAD only)" 0x00000000 nvcertify $SIGN_O,0x1500022,0x1500022 8 0
expect "nvcertify: whole-index digest form (size 0, offset 0)" 0x00000000 nvcertify $SIGN_O,$OWNER,0x1500020 0 0
expect "nvcertify: beyond the index: TPM_RC_NV_RANGE" 0x00000146 nvcertify $SIGN_O,$OWNER,0x1500020 8 9
expect "nvcertify: never written: TPM_RC_NV_UNINITIALIZED" 0x0000014a nvcertify $SIGN_O,$OWNER,0x1500021 4 0
expect "nvcertify: owner may not read this index: TPM_RC_NV_AUTHORIZATION" 0x00000149 nvcertify $SIGN_O,$OWNER,0x1500022 4 0
expect "nvcertify: read-locked: TPM_RC_NV_LOCKED" 0x00000148 nvcertify $SIGN_O,$OWNER,0x1500023 4 0
expect "nvcertify: a key without sign: TPM_RC_KEY, handle 1" 0x0000019c nvcertify $STORE,$OWNER,0x1500020 4 0
expect "nvcertify: NULL signHandle: unsigned, success" 0x00000000 nvcertify 0x40000007,$OWNER,0x1500020 4 0

# ---- the fields of a real quote, parsed independently of the TPM
cat >"$T/parse.py" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
o = 0
def take(n):
    global o
    v = d[o:o + n]; o += n
    return v
def b2():
    (n,) = struct.unpack(">H", take(2)); return take(n)
magic, typ = struct.unpack(">IH", take(6))
qs = b2(); extra = b2()
clock, reset, restart, safe = struct.unpack(">QIIB", take(17))
(fw,) = struct.unpack(">Q", take(8))
(count,) = struct.unpack(">I", take(4))
sels = []
for _ in range(count):
    alg, sz = struct.unpack(">HB", take(3)); sels.append("%04x:%s" % (alg, take(sz).hex()))
dig = b2()
print("magic=%08x type=%04x qs=%s extra=%s sels=%s digest=%s rest=%d reset=%d fw=%016x clock=%d"
      % (magic, typ, qs.hex(), extra.hex(), ",".join(sels), dig.hex(), len(d) - o, reset, fw, clock))
EOF
parse() { "$VT_PYTHON" "$T/parse.py" "$1"; }
field_of() { # field_of FIELDS NAME
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}
tpm2_pcrextend "1:sha256=$(printf '5%.0s' $(seq 64))" >/dev/null 2>&1
if vt_check "tpm2_quote (owner key, sha256:0,1,2 + sha1:3)" tpm2_quote -c $SIGN_O -l sha256:0,1,2+sha1:3 \
	-q 0badc0de -m "$T/q.msg" -s "$T/q.sig" -o "$T/q.pcrs" -g sha256; then
	vt_check "tpm2_checkquote accepts it" tpm2_checkquote -u "$T/so.pem" -m "$T/q.msg" -s "$T/q.sig" \
		-f "$T/q.pcrs" -g sha256 -q 0badc0de
	P="$(vt_pcr sha256 0)$(vt_pcr sha256 1)$(vt_pcr sha256 2)$(vt_pcr sha1 3)"
	fields=$(parse "$T/q.msg")
	vt_note "$fields"
	get() { field_of "$fields" "$1"; }
	vt_check_eq "quote: magic is TPM_GENERATED_VALUE" ff544347 "$(get magic)"
	vt_check_eq "quote: type is TPM_ST_ATTEST_QUOTE" 8018 "$(get type)"
	vt_check_eq "quote: extraData is the qualifying data" 0badc0de "$(get extra)"
	vt_check_eq "quote: selection as asked, in order" "000b:070000,0004:080000" "$(get sels)"
	vt_check_eq "quote: pcrDigest = SHA-256 of the PCR values in selection order" \
		"$(vt_dgst_hex sha256 "$P")" "$(get digest)"
	vt_check_eq "quote: nothing after the quote info" 0 "$(get rest)"
	qs=$(get qs)
	vt_check_true "quote: qualifiedSigner is a SHA-256 Qualified Name (not the Name)" \
		[ "${qs:0:4}" = 000b ] && [ ${#qs} = 68 ] && [ "$qs" != "$NAME_O" ]
	real_reset=$(vt_clock_field reset_count)
	vt_check_true "quote by an owner key: resetCount is obfuscated (Part 3 §18.1)" [ "$(get reset)" != "$real_reset" ]
	tpm2_quote -c $SIGN_O -l sha256:0 -q 00 -m "$T/q2.msg" -s "$T/q2.sig" -g sha256 >/dev/null 2>&1
	flush
	vt_check_eq "quote: the obfuscated firmwareVersion is the same for the same key" \
		"$(get fw)" "$(field_of "$(parse "$T/q2.msg")" fw)"
fi
flush
# an endorsement key shows the real counts
if tpm2_quote -c $SIGN_E -l sha256:0 -q 00 -m "$T/qe.msg" -s "$T/qe.sig" -g sha256 >/dev/null 2>&1; then
	vt_check_eq "quote by an endorsement key: resetCount in the clear" \
		"$(vt_clock_field reset_count)" "$(field_of "$(parse "$T/qe.msg")" reset)"
else
	vt_not_ok "tpm2_quote with the endorsement key (ECDSA)" "$(tail -3 "$VT_LAST_OUT" 2>/dev/null)"
fi
flush

vt_done
