#!/bin/bash
# Signatures: tpm2_sign with rsassa, rsapss, ecdsa (and hmac keys),
# tpm2_verifysignature of each, openssl verifying TPM signatures
# (tpm2_sign -f plain) and tpm2_verifysignature verifying openssl's
# signatures with keys loaded by tpm2_loadexternal; the error codes of
# signing with the wrong key (decrypt-only, restricted without a ticket).
VT_SCRIPT_TIMEOUT=${VT_SCRIPT_TIMEOUT:-300} # slow on a loaded 2-core machine
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/keys/common.sh"

vt_server_start || vt_done
T=$VT_TMP
cd "$T" || vt_done

SIGN="fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign"
vt_check "createprimary" tpm2_createprimary -C o -G ecc256 -c prim.ctx
vt_check "create rsa2048 signing key (scheme null)" tpm2_create -C prim.ctx -G rsa2048 -a "$SIGN" -u rsa.pub -r rsa.priv -c rsa.ctx
vt_check "create ecc256 signing key (scheme null)" tpm2_create -C prim.ctx -G ecc256 -a "$SIGN" -u ecc.pub -r ecc.priv -c ecc.ctx
vt_check "create ecc384 ecdsa-sha384 key" tpm2_create -C prim.ctx -G ecc384:ecdsa-sha384 -a "$SIGN" -u ecc384.pub -r ecc384.priv -c ecc384.ctx
vt_check "create hmac key" tpm2_create -C prim.ctx -G hmac -u hmac.pub -r hmac.priv -c hmac.ctx
tpm2_readpublic -c rsa.ctx -f pem -o rsa.pem >/dev/null 2>&1
tpm2_readpublic -c ecc.ctx -f pem -o ecc.pem >/dev/null 2>&1
tpm2_readpublic -c ecc384.ctx -f pem -o ecc384.pem >/dev/null 2>&1
head -c 3000 /dev/urandom >msg.bin

# ---- sign / verify, TSS format, and plain format checked by openssl
# scheme KEY PEM OPENSSL-ARGS...
sign_verify() {
	local s=$1 key=$2 pem=$3 h=$4
	shift 4
	vt_check "sign $s ($key, $h)" tpm2_sign -c "$key.ctx" -g "$h" -s "$s" -o "$s.$key.sig" msg.bin
	vt_check "verifysignature of the $s signature (ticket out)" \
		tpm2_verifysignature -c "$key.ctx" -g "$h" -m msg.bin -s "$s.$key.sig" -t "$s.$key.tk"
	vt_check_true "verification ticket written" [ -s "$s.$key.tk" ]
	vt_check "sign $s -f plain" tpm2_sign -c "$key.ctx" -g "$h" -s "$s" -f plain -o "$s.$key.plain" msg.bin
	vt_check "openssl dgst -$h -verify accepts the $s signature" \
		openssl dgst "-$h" -verify "$pem" -signature "$s.$key.plain" "$@" msg.bin
	cp "$s.$key.plain" bad.plain
	printf '\x55' | dd of=bad.plain bs=1 seek=20 conv=notrunc 2>/dev/null
	vt_check_fails "openssl rejects the $s signature with one octet changed" \
		openssl dgst "-$h" -verify "$pem" -signature bad.plain "$@" msg.bin
}
sign_verify rsassa rsa rsa.pem sha256
sign_verify rsapss rsa rsa.pem sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:auto
sign_verify ecdsa ecc ecc.pem sha256
sign_verify ecdsa ecc384 ecc384.pem sha384
vt_check "openssl: the TPM's RSA-PSS salt is the digest length (32)" \
	openssl dgst -sha256 -verify rsa.pem -signature rsapss.rsa.plain -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 msg.bin
vt_check "sign rsassa sha384" tpm2_sign -c rsa.ctx -g sha384 -s rsassa -f plain -o rsassa384.plain msg.bin
vt_check "openssl verifies rsassa sha384" openssl dgst -sha384 -verify rsa.pem -signature rsassa384.plain msg.bin
vt_check "sign rsassa sha1" tpm2_sign -c rsa.ctx -g sha1 -s rsassa -f plain -o rsassa1.plain msg.bin
vt_check "openssl verifies rsassa sha1" openssl dgst -sha1 -verify rsa.pem -signature rsassa1.plain msg.bin
tpm2_sign -c rsa.ctx -g sha256 -s rsassa -f plain -o again.rsassa msg.bin >/dev/null 2>&1
vt_check_true "two RSASSA signatures of one message are equal (deterministic)" cmp -s rsassa.rsa.plain again.rsassa
tpm2_sign -c ecc.ctx -g sha256 -s ecdsa -f plain -o again.ecdsa msg.bin >/dev/null 2>&1
vt_check_true "two ECDSA signatures of one message differ (random k)" [ -s again.ecdsa ] && ! cmp -s ecdsa.ecc.plain again.ecdsa

# sign a digest (-d) with an unrestricted key
openssl dgst -sha256 -binary msg.bin >msg.dgst
vt_check "sign a digest (-d) rsassa" tpm2_sign -c rsa.ctx -g sha256 -s rsassa -d -f plain -o d.plain msg.dgst
vt_check_true "same signature as over the message" cmp -s d.plain rsassa.rsa.plain
vt_check "verifysignature -d" tpm2_verifysignature -c rsa.ctx -d msg.dgst -s rsassa.rsa.sig

# ---- verification failures
printf 'another message' >msg2.bin
vt_check_rc "verifysignature of another message: TPM_RC_SIGNATURE (parameter 2)" 0x2DB \
	tpm2_verifysignature -c rsa.ctx -g sha256 -m msg2.bin -s rsassa.rsa.sig
vt_check_rc "ecdsa signature over another message: TPM_RC_SIGNATURE (parameter 2)" 0x2DB \
	tpm2_verifysignature -c ecc.ctx -g sha256 -m msg2.bin -s ecdsa.ecc.sig
vt_check_fails "an rsa signature verified with the ecc key fails" \
	tpm2_verifysignature -c ecc.ctx -g sha256 -m msg.bin -s rsassa.rsa.sig

# ---- hmac keys: tpm2_hmac, and tpm2_sign / verifysignature with an hmac key
vt_check "tpm2_hmac" tpm2_hmac -c hmac.ctx --hex -o hmac1.hex msg.bin
vt_check_eq "tpm2_hmac: 32 octets" 64 "$(tr -d '\n' <hmac1.hex | wc -c)"
vt_check_eq "tpm2_hmac again: the same" "$(cat hmac1.hex)" "$(tpm2_hmac -c hmac.ctx --hex msg.bin 2>/dev/null)"
vt_check_true "another message: another hmac" [ "$(cat hmac1.hex)" != "$(tpm2_hmac -c hmac.ctx --hex msg2.bin 2>/dev/null)" ]
vt_check "sign with the hmac key" tpm2_sign -c hmac.ctx -g sha256 -o hmac.sig msg.bin
vt_check "verifysignature of the hmac signature" tpm2_verifysignature -c hmac.ctx -g sha256 -m msg.bin -s hmac.sig
vt_check_rc "hmac signature, another message: TPM_RC_SIGNATURE" 0x2DB \
	tpm2_verifysignature -c hmac.ctx -g sha256 -m msg2.bin -s hmac.sig
vt_check "sign with the hmac key -f plain" tpm2_sign -c hmac.ctx -g sha256 -f plain -o hmac.plain msg.bin
# Sign signs a digest: the signature is HMAC(key, SHA-256(message))
vt_check_eq "the hmac signature is tpm2_hmac of the message's digest" \
	"$(tpm2_hmac -c hmac.ctx --hex msg.dgst 2>/dev/null)" "$(hexof hmac.plain)"

# ---- openssl signs, the TPM verifies (tpm2_loadexternal of the public key)
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out o.key 2>/dev/null
openssl pkey -in o.key -pubout -out o.pub 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out oe.key 2>/dev/null
openssl pkey -in oe.key -pubout -out oe.pub 2>/dev/null
openssl dgst -sha256 -sign o.key -out o.rsassa msg.bin
openssl dgst -sha256 -sign o.key -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -out o.rsapss msg.bin
openssl dgst -sha256 -sign oe.key -out oe.ecdsa msg.bin
vt_check "loadexternal openssl rsa public key" tpm2_loadexternal -C o -G rsa -u o.pub -c o.ctx
vt_check "loadexternal openssl ec public key" tpm2_loadexternal -C o -G ecc -u oe.pub -c oe.ctx
vt_check "verifysignature of an openssl rsassa signature" \
	tpm2_verifysignature -c o.ctx -g sha256 -m msg.bin -f rsassa -s o.rsassa
vt_check "verifysignature of an openssl rsapss signature" \
	tpm2_verifysignature -c o.ctx -g sha256 -m msg.bin -f rsapss -s o.rsapss
vt_check "verifysignature of an openssl ecdsa signature (DER)" \
	tpm2_verifysignature -c oe.ctx -g sha256 -m msg.bin -f ecdsa -s oe.ecdsa
vt_check_rc "openssl rsassa signature, another message: TPM_RC_SIGNATURE" 0x2DB \
	tpm2_verifysignature -c o.ctx -g sha256 -m msg2.bin -f rsassa -s o.rsassa
vt_check_rc "openssl ecdsa signature, another message: TPM_RC_SIGNATURE" 0x2DB \
	tpm2_verifysignature -c oe.ctx -g sha256 -m msg2.bin -f ecdsa -s oe.ecdsa

# ---- keys with a fixed scheme
vt_check "create rsa key with scheme rsassa-sha256" tpm2_create -C prim.ctx -G rsa2048:rsassa-sha256 -a "$SIGN" \
	-u fx.pub -r fx.priv -c fx.ctx
vt_check "sign with the key's scheme (no -s)" tpm2_sign -c fx.ctx -g sha256 -f plain -o fx.plain msg.bin
tpm2_readpublic -c fx.ctx -f pem -o fx.pem >/dev/null 2>&1
vt_check "openssl verifies it as PKCS#1 v1.5" openssl dgst -sha256 -verify fx.pem -signature fx.plain msg.bin

# ---- negative: wrong kind of key
vt_check "create a decrypt-only rsa key" tpm2_create -C prim.ctx -G rsa2048 \
	-a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|decrypt" -u dec.pub -r dec.priv -c dec.ctx
vt_check_rc "sign with a decrypt-only key: TPM_RC_KEY (handle 1)" 0x19C \
	tpm2_sign -c dec.ctx -g sha256 -s rsassa -o x.sig msg.bin
vt_check_rc "sign with a storage key (restricted decrypt): TPM_RC_KEY (handle 1)" 0x19C \
	tpm2_sign -c prim.ctx -g sha256 -s ecdsa -o x.sig msg.bin
head -c 20 /dev/zero >d20.bin
vt_check_rc "a 20-octet digest for sha256 (-d): TPM_RC_SIZE (parameter 1)" 0x1D5 \
	tpm2_sign -c ecc.ctx -g sha256 -s ecdsa -d -o x.sig d20.bin

# ---- restricted signing keys need a hash-check ticket
vt_check "create a restricted signing key (rsassa-sha256)" tpm2_create -C prim.ctx -G rsa2048:rsassa-sha256:null \
	-a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign|restricted" -u rs.pub -r rs.priv -c rs.ctx
vt_check "restricted key signs a message the TPM hashed (ticket)" tpm2_sign -c rs.ctx -g sha256 -o rs.sig msg.bin
vt_check "verifysignature of it" tpm2_verifysignature -c rs.ctx -g sha256 -m msg.bin -s rs.sig
vt_check_rc "restricted key, a digest without a ticket: TPM_RC_TICKET (parameter 3)" 0x3E0 \
	tpm2_sign -c rs.ctx -g sha256 -d -o x.sig msg.dgst
{
	printf '\xffTCG'
	head -c 100 /dev/urandom
} >gen.bin
vt_check_rc "restricted key, a message starting with TPM_GENERATED_VALUE: TPM_RC_TICKET (parameter 3)" 0x3E0 \
	tpm2_sign -c rs.ctx -g sha256 -o x.sig gen.bin
vt_check "an unrestricted key signs that message" tpm2_sign -c rsa.ctx -g sha256 -s rsassa -o x.sig gen.bin
vt_done
