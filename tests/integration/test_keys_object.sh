#!/bin/bash
# Ordinary objects: tpm2_create (rsa, ecc, aes, hmac, sealed data), tpm2_load,
# tpm2_loadexternal (public PEM from openssl, private key with -r),
# tpm2_readpublic -f pem read by openssl, tpm2_flushcontext, tpm2_getcap
# handles-transient / handles-persistent, tpm2_evictcontrol across a
# restart, tpm2_changeauth of an object, tpm2_unseal, and the error codes
# of the usual mistakes.
VT_SCRIPT_TIMEOUT=${VT_SCRIPT_TIMEOUT:-300} # slow on a loaded 2-core machine
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/keys/common.sh"

vt_server_start || vt_done
T=$VT_TMP
cd "$T" || vt_done

vt_check "createprimary (owner, rsa2048 storage key)" tpm2_createprimary -C o -G rsa2048 -c prim.ctx
vt_check "createprimary (owner, ecc256 storage key)" tpm2_createprimary -C o -G ecc256 -c prim2.ctx

# ---- create + load of each kind
for alg in rsa2048 ecc256 aes128 aes256 hmac; do
	vt_check "create $alg under the rsa primary" tpm2_create -C prim.ctx -G $alg -u $alg.pub -r $alg.priv
	vt_check "load $alg" tpm2_load -C prim.ctx -u $alg.pub -r $alg.priv -c $alg.ctx
done
vt_check_eq "rsa2048 child: type rsa, not restricted" "rsa fixedtpm|fixedparent|sensitivedataorigin|userwithauth|decrypt|sign" \
	"$(pubfield rsa2048.ctx type) $(tpm2_readpublic -c rsa2048.ctx 2>/dev/null | awk '/^attributes:/ {getline; print $2; exit}')"
vt_check_eq "hmac child: keyedhash" keyedhash "$(pubfield hmac.ctx type)"
vt_check "create ecc256 under the ecc primary" tpm2_create -C prim2.ctx -G ecc256 -u e2.pub -r e2.priv
vt_check "load it" tpm2_load -C prim2.ctx -u e2.pub -r e2.priv -c e2.ctx
vt_check_true "two creates of the same template give different keys" \
	[ "$(pubfield ecc256.ctx x)" != "$(pubfield e2.ctx x)" ]
vt_check_eq "tpm2_load -n: the name file is the object's name" \
	"$(tpm2_readpublic -c ecc256.ctx 2>/dev/null | awk '/^name:/ {print $2; exit}')" \
	"$(tpm2_load -C prim.ctx -u ecc256.pub -r ecc256.priv -c x.ctx -n x.name >/dev/null 2>&1 && hexof x.name)"

# ---- sealed data, unseal with an auth value
head -c 48 /dev/urandom >secret.bin
vt_check "create sealed data (-i) with an auth value" \
	tpm2_create -C prim.ctx -i secret.bin -p sealpw -u seal.pub -r seal.priv
vt_check "load the sealed object" tpm2_load -C prim.ctx -u seal.pub -r seal.priv -c seal.ctx
vt_check_eq "sealed object: keyedhash" keyedhash "$(pubfield seal.ctx type)"
vt_check_eq "unseal with the auth value" "$(hexof secret.bin)" \
	"$(tpm2_unseal -c seal.ctx -p sealpw -o out.bin >/dev/null 2>&1 && hexof out.bin)"
vt_check_rc "unseal with a wrong auth value: TPM_RC_AUTH_FAIL (session 1)" 0x98E \
	tpm2_unseal -c seal.ctx -p wrong
vt_check "create sealed data from stdin, noda" \
	bash -c "printf 'seal me' | tpm2_create -C prim.ctx -i - -a 'fixedtpm|fixedparent|userwithauth|noda' -u s2.pub -r s2.priv -c s2.ctx"
vt_check_eq "unseal (stdin-sealed)" "seal me" "$(tpm2_unseal -c s2.ctx 2>/dev/null)"
vt_check_rc "unseal of a key (not a sealed data object): TPM_RC_TYPE (handle 1)" 0x18A tpm2_unseal -c rsa2048.ctx
vt_check_rc "create sealed data with sensitivedataorigin: TPM_RC_ATTRIBUTES" 0x2C2 \
	tpm2_create -C prim.ctx -i secret.bin -a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth" -u x.pub -r x.priv
head -c 200 /dev/urandom >big.bin
vt_check_fails "sealing more than 128 octets fails" tpm2_create -C prim.ctx -i big.bin -u x.pub -r x.priv

# ---- errors at load
vt_check_rc "load a private blob under another parent: TPM_RC_INTEGRITY (parameter 1)" 0x1DF \
	tpm2_load -C prim2.ctx -u rsa2048.pub -r rsa2048.priv -c x.ctx
vt_check_rc "load with another object's private part: TPM_RC_INTEGRITY" 0x09F \
	tpm2_load -C prim.ctx -u rsa2048.pub -r ecc256.priv -c x.ctx
cp rsa2048.priv bad.priv
# flip one bit near the end of the encrypted private (in the sensitive area)
sz=$(stat -c %s bad.priv)
printf "$(printf '\\x%02x' $((0x$(xxd -s $((sz - 3)) -l 1 -p bad.priv) ^ 0x01)))" |
	dd of=bad.priv bs=1 seek=$((sz - 3)) conv=notrunc 2>/dev/null
vt_check_rc "load a private blob with one flipped bit: TPM_RC_INTEGRITY" 0x09F \
	tpm2_load -C prim.ctx -u rsa2048.pub -r bad.priv -c x.ctx
vt_check_rc "create under a non-parent: TPM_RC_TYPE (handle 1)" 0x18A \
	tpm2_create -C rsa2048.ctx -G ecc256 -u x.pub -r x.priv

# ---- readpublic -f pem, openssl reads it
vt_check "readpublic -f pem (rsa)" tpm2_readpublic -c rsa2048.ctx -f pem -o rsa.pem
vt_check "openssl pkey -pubin reads the rsa PEM" openssl pkey -pubin -in rsa.pem -noout
vt_check_eq "the PEM's modulus is the TPM's" "$(pubfield rsa2048.ctx rsa)" \
	"$(openssl rsa -pubin -in rsa.pem -noout -modulus 2>/dev/null | sed 's/^Modulus=//' | tr 'A-F' 'a-f')"
vt_check "readpublic -f pem (ecc)" tpm2_readpublic -c ecc256.ctx -f pem -o ecc.pem
vt_check_eq "the EC PEM's point is 04||x||y of the TPM key" "04$(pubfield ecc256.ctx x)$(pubfield ecc256.ctx y)" \
	"$(openssl pkey -pubin -in ecc.pem -noout -text 2>/dev/null | awk '/^pub:/ {p = 1; next} /^ASN1/ {p = 0} p' | tr -d ' :\n')"

# ---- loadexternal: a public PEM, and a private key with -r
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out ext.key 2>/dev/null
openssl pkey -in ext.key -pubout -out ext.pub.pem 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out extec.key 2>/dev/null
openssl pkey -in extec.key -pubout -out extec.pub.pem 2>/dev/null
vt_check "loadexternal an openssl RSA public key (PEM, owner hierarchy)" \
	tpm2_loadexternal -C o -G rsa -u ext.pub.pem -c ext.ctx
vt_check_eq "its modulus" "$(openssl rsa -pubin -in ext.pub.pem -noout -modulus 2>/dev/null | sed 's/^Modulus=//' | tr 'A-F' 'a-f')" \
	"$(pubfield ext.ctx rsa)"
vt_check "loadexternal an openssl EC public key (PEM)" tpm2_loadexternal -C n -G ecc -u extec.pub.pem -c extec.ctx
vt_check "loadexternal an RSA private key (-r, null hierarchy)" tpm2_loadexternal -C n -G rsa -r ext.key -c extpriv.ctx
echo "to be signed" >msg.txt
vt_check "sign with the loaded external private key" tpm2_sign -c extpriv.ctx -g sha256 -s rsassa -f plain -o extpriv.sig msg.txt
vt_check "openssl verifies that signature with the original public key" \
	openssl dgst -sha256 -verify ext.pub.pem -signature extpriv.sig msg.txt
vt_check "loadexternal an EC private key (-r)" tpm2_loadexternal -C n -G ecc -r extec.key -c extecpriv.ctx
vt_check_rc "a private key outside the null hierarchy: TPM_RC_HIERARCHY" 0x085 \
	tpm2_loadexternal -C o -G rsa -r ext.key -c x.ctx

# ---- flushcontext and getcap handles-transient
export VTK_AUTOFLUSH=0
tpm2_flushcontext -t >/dev/null 2>&1
vt_check_eq "no transient objects" "" "$(tpm2_getcap handles-transient 2>/dev/null)"
if [ "$VT_TARGET" = vitrum ]; then
	# vitrum flushes what a connection leaves loaded when it closes (like
	# /dev/tpmrm0), so a handle cannot outlive the tool that loaded it.
	tpm2_load -C prim.ctx -u ecc256.pub -r ecc256.priv -c l1.ctx >/dev/null 2>&1
	vt_check_eq "getcap handles-transient: the tool's objects went with it" 0 "$(n_transient)"
	vt_check_rc "flushcontext of a handle that is not loaded: TPM_RC_REFERENCE_H0" 0x910 \
		tpm2_flushcontext 0x80000001
	vt_check "flushcontext -t" tpm2_flushcontext -t
else
	tpm2_load -C prim.ctx -u ecc256.pub -r ecc256.priv -c l1.ctx >/dev/null 2>&1
	vt_check_eq "getcap handles-transient: primary + loaded key" 2 "$(n_transient)"
	h=$(tpm2_getcap handles-transient 2>/dev/null | awk '{print $2}' | tail -1)
	vt_check "flushcontext $h (a handle)" tpm2_flushcontext "$h"
	vt_check_eq "one left" 1 "$(n_transient)"
	# (the tool first reads the public area: TPM_RC_REFERENCE_H0)
	vt_check_rc "flush it again: TPM_RC_REFERENCE_H0" 0x910 tpm2_flushcontext "$h"
	tpm2_load -C prim.ctx -u aes128.pub -r aes128.priv -c l2.ctx >/dev/null 2>&1
	vt_check "flushcontext -t" tpm2_flushcontext -t
	vt_check_eq "getcap handles-transient: none" 0 "$(n_transient)"
fi
export VTK_AUTOFLUSH=1

# ---- changeauth of an object
vt_check "create an ecc signing key with auth 'old' (noda)" tpm2_create -C prim.ctx -G ecc256 -p old \
	-a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign|noda" -u ca.pub -r ca.priv -c ca.ctx
vt_check "changeauth -c key -C parent" tpm2_changeauth -c ca.ctx -C prim.ctx -p old -r ca.new.priv new
vt_check "load the new private blob" tpm2_load -C prim.ctx -u ca.pub -r ca.new.priv -c ca.new.ctx
vt_check "sign with the new auth" tpm2_sign -c ca.new.ctx -p new -g sha256 -o ca.sig msg.txt
vt_check_rc "sign with the old auth: TPM_RC_BAD_AUTH (noda, session 1)" 0x9A2 \
	tpm2_sign -c ca.new.ctx -p old -g sha256 -o ca.sig msg.txt
vt_check "the old private blob still has the old auth" tpm2_sign -c ca.ctx -p old -g sha256 -o ca.sig msg.txt
vt_check_rc "changeauth with a wrong current auth: TPM_RC_BAD_AUTH" 0x9A2 \
	tpm2_changeauth -c ca.ctx -C prim.ctx -p nope -r x.priv newer

# ---- evictcontrol: persist, restart, sign, evict
vt_check "create an rsa signing key" tpm2_create -C prim.ctx -G rsa2048 -u p.pub -r p.priv -c p.ctx \
	-a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign"
vt_check "evictcontrol -C o -c key 0x81000001" tpm2_evictcontrol -C o -c p.ctx 0x81000001
vt_check "persist the primary too (0x81000002)" tpm2_evictcontrol -C o -c prim.ctx 0x81000002
vt_check_eq "getcap handles-persistent" "- 0x81000001 - 0x81000002" "$(tpm2_getcap handles-persistent 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"
vt_check_rc "evictcontrol to a taken handle: TPM_RC_NV_DEFINED" 0x14C tpm2_evictcontrol -C o -c ca.ctx 0x81000001
vt_check_rc "evictcontrol of an owner key to a platform handle: TPM_RC_RANGE" 0x08D \
	tpm2_evictcontrol -C o -c p.ctx 0x81800001
tpm2_readpublic -c p.ctx -f pem -o p.pem >/dev/null 2>&1
vt_server_restart || vt_done
vt_check_eq "after restart: persistent handles are there" "- 0x81000001 - 0x81000002" \
	"$(tpm2_getcap handles-persistent 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"
vt_check_eq "after restart: no transient objects" 0 "$(n_transient)"
vt_check "after restart: sign with the persistent key" tpm2_sign -c 0x81000001 -g sha256 -f plain -o p.sig msg.txt
vt_check "openssl verifies it" openssl dgst -sha256 -verify p.pem -signature p.sig msg.txt
vt_check "after restart: load a child under the persistent primary" \
	tpm2_load -C 0x81000002 -u ecc256.pub -r ecc256.priv -c ecc256.b.ctx
vt_check "evictcontrol removes 0x81000001" tpm2_evictcontrol -C o -c 0x81000001
vt_check_eq "it is gone from handles-persistent" "- 0x81000002" "$(tpm2_getcap handles-persistent 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"
vt_check_rc "readpublic of the evicted handle: TPM_RC_HANDLE (handle 1)" 0x18B tpm2_readpublic -c 0x81000001
vt_check_rc "evict it again: TPM_RC_HANDLE" 0x08B tpm2_evictcontrol -C o -c 0x81000001
vt_check "evictcontrol removes 0x81000002" tpm2_evictcontrol -C o -c 0x81000002
vt_check_eq "no persistent handles" "" "$(tpm2_getcap handles-persistent 2>/dev/null)"

vt_done
