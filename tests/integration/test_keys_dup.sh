#!/bin/bash
# Moving keys: tpm2_import of OpenSSL-made RSA and ECC keys (then sign and
# verify with openssl), and tpm2_duplicate of a TPM key to another parent
# under a PolicyCommandCode(TPM2_CC_Duplicate) policy, imported back with
# tpm2_import (no inner wrapper, and an AES inner wrapper).
VT_SCRIPT_TIMEOUT=${VT_SCRIPT_TIMEOUT:-300}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/keys/common.sh"

vt_server_start || vt_done
T=$VT_TMP
cd "$T" || vt_done
head -c 1000 /dev/urandom >msg.bin

vt_check "createprimary (rsa2048, owner)" tpm2_createprimary -C o -G rsa2048 -c prim.ctx

# ---- import of openssl keys
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out r.key 2>/dev/null
openssl pkey -in r.key -pubout -out r.pem 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out e.key 2>/dev/null
openssl pkey -in e.key -pubout -out e.pem 2>/dev/null
vt_check "import an openssl RSA key with an auth value" tpm2_import -C prim.ctx -G rsa -i r.key -p rpass -u r.pub -r r.priv
vt_check "load it" tpm2_load -C prim.ctx -u r.pub -r r.priv -c r.ctx
vt_check_eq "the TPM's public modulus is openssl's" \
	"$(openssl rsa -pubin -in r.pem -noout -modulus 2>/dev/null | sed 's/^Modulus=//' | tr 'A-F' 'a-f')" "$(pubfield r.ctx rsa)"
vt_check "sign with the imported RSA key (rsassa)" tpm2_sign -c r.ctx -p rpass -g sha256 -s rsassa -f plain -o r.sig msg.bin
vt_check "openssl verifies it with the original public key" openssl dgst -sha256 -verify r.pem -signature r.sig msg.bin
vt_check "sign with the imported RSA key (rsapss)" tpm2_sign -c r.ctx -p rpass -g sha256 -s rsapss -f plain -o rp.sig msg.bin
vt_check "openssl verifies it" openssl dgst -sha256 -verify r.pem -signature rp.sig -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:auto msg.bin
vt_check_rc "imported key, wrong auth: TPM_RC_AUTH_FAIL" 0x98E tpm2_sign -c r.ctx -p nope -g sha256 -s rsassa -o x.sig msg.bin
vt_check "import an openssl EC key" tpm2_import -C prim.ctx -G ecc -i e.key -u e.pub -r e.priv
vt_check "load it" tpm2_load -C prim.ctx -u e.pub -r e.priv -c e.ctx
vt_check "sign with the imported EC key (ecdsa)" tpm2_sign -c e.ctx -g sha256 -s ecdsa -f plain -o e.sig msg.bin
vt_check "openssl verifies it" openssl dgst -sha256 -verify e.pem -signature e.sig msg.bin
vt_check "import an RSA key sign-only (-a)" tpm2_import -C prim.ctx -G rsa -i r.key -a "userwithauth|sign" -u rs.pub -r rs.priv
vt_check_eq "its attributes" "userwithauth|sign" "$(tpm2_load -C prim.ctx -u rs.pub -r rs.priv -c rs.ctx >/dev/null 2>&1 && pubfield rs.ctx attributes)"
vt_check_rc "rsadecrypt with it: TPM_RC_ATTRIBUTES" 0x082 \
	bash -c "printf abc | tpm2_rsaencrypt -c r.ctx -s rsaes -o c.bin && tpm2_rsadecrypt -c rs.ctx -s rsaes -o x.bin c.bin"
vt_check_rc "load an imported private under another parent: TPM_RC_INTEGRITY" 0x09F \
	bash -c "tpm2_createprimary -C o -G ecc256 -c other.ctx >/dev/null && tpm2_load -C other.ctx -u e.pub -r e.priv -c x.ctx"

# ---- duplicate to another parent
# policy: PolicyCommandCode(Duplicate), computed with a trial session
vt_check "trial session" tpm2_startauthsession -S trial.ctx
vt_check "policycommandcode TPM2_CC_Duplicate (trial)" tpm2_policycommandcode -S trial.ctx -L dup.policy TPM2_CC_Duplicate
tpm2_flushcontext trial.ctx >/dev/null 2>&1
vt_check_eq "policy digest = H(0^32 || TPM_CC_PolicyCommandCode || TPM_CC_Duplicate)" \
	"$(vt_dgst_hex sha256 "$(printf '%064d' 0)0000016c0000014b")" "$(hexof dup.policy)"
vt_check "create a duplicable ecc signing key with that policy" tpm2_create -C prim.ctx -G ecc256 -L dup.policy \
	-a "sensitivedataorigin|userwithauth|sign" -u k.pub -r k.priv
vt_check "load it" tpm2_load -C prim.ctx -u k.pub -r k.priv -c k.ctx
tpm2_readpublic -c k.ctx -f pem -o k.pem >/dev/null 2>&1
vt_check "createprimary (ecc256, endorsement) for the new parent" tpm2_createprimary -C e -G ecc256 -c eprim.ctx
vt_check "create the new parent (restricted decrypt rsa)" tpm2_create -C eprim.ctx -G rsa2048 \
	-a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|decrypt|noda" -u np.pub -r np.priv
vt_check "load the new parent" tpm2_load -C eprim.ctx -u np.pub -r np.priv -c np.ctx
duplicate() { # duplicate ARGS...: Duplicate with a PolicyCommandCode session
	local rc
	tpm2_startauthsession --policy-session -S dup.ctx >/dev/null 2>&1 || return 1
	tpm2_policycommandcode -S dup.ctx TPM2_CC_Duplicate >/dev/null 2>&1 || { tpm2_flushcontext dup.ctx >/dev/null 2>&1; return 1; }
	tpm2_duplicate -c k.ctx -p "session:dup.ctx" "$@"
	rc=$?
	tpm2_flushcontext dup.ctx >/dev/null 2>&1
	return $rc
}
vt_check "duplicate to the new parent (no inner wrapper)" duplicate -C np.ctx -G null -r dup.priv -s dup.seed
vt_check "import the duplicate under the new parent" tpm2_import -C np.ctx -u k.pub -i dup.priv -s dup.seed -r k2.priv
vt_check "load it there" tpm2_load -C np.ctx -u k.pub -r k2.priv -c k2.ctx
vt_check "sign with the moved key" tpm2_sign -c k2.ctx -g sha256 -s ecdsa -f plain -o k2.sig msg.bin
vt_check "openssl verifies it with the original key's public PEM" openssl dgst -sha256 -verify k.pem -signature k2.sig msg.bin
vt_check "duplicate with an AES inner wrapper (-G aes)" duplicate -C np.ctx -G aes -o inner.key -r dupa.priv -s dupa.seed
vt_check "import it with the inner key (-k)" tpm2_import -C np.ctx -u k.pub -i dupa.priv -s dupa.seed -k inner.key -r k3.priv
vt_check "load and sign" bash -c "tpm2_load -C np.ctx -u k.pub -r k3.priv -c k3.ctx >/dev/null && tpm2_sign -c k3.ctx -g sha256 -s ecdsa -f plain -o k3.sig msg.bin"
vt_check "openssl verifies it" openssl dgst -sha256 -verify k.pem -signature k3.sig msg.bin
head -c 16 /dev/urandom >wrong.key
# a wrong inner key decrypts the inner blob to garbage: its integrity size
# field is wrong (TPM_RC_SIZE, swtpm: 0x3D5) or the digest is (TPM_RC_INTEGRITY)
vt_check_fails "import with a wrong inner key fails" \
	tpm2_import -C np.ctx -u k.pub -i dupa.priv -s dupa.seed -k wrong.key -r x.priv
vt_check_true "... with TPM_RC_SIZE or TPM_RC_INTEGRITY for parameter 3 (got $(last_rc))" \
	bash -c "case '$(last_rc)' in 0x3D5 | 0x39F | 0x3d5 | 0x39f) exit 0 ;; *) exit 1 ;; esac"
vt_check_fails "import of the duplicate under the old parent fails" \
	tpm2_import -C prim.ctx -u k.pub -i dup.priv -s dup.seed -r x.priv
vt_note "import under the wrong parent: $(last_rc)"
vt_check "duplicate to an outside parent (public only, loadexternal)" \
	bash -c "tpm2_readpublic -c np.ctx -o np.tpmpub >/dev/null && tpm2_loadexternal -C o -u np.tpmpub -c npx.ctx >/dev/null"
vt_check "duplicate to it" duplicate -C npx.ctx -G null -r dupx.priv -s dupx.seed
vt_check "the real parent imports that duplicate" tpm2_import -C np.ctx -u k.pub -i dupx.priv -s dupx.seed -r k4.priv

# ---- duplicate errors
vt_check_rc "duplicate with a password instead of the policy: TPM_RC_AUTH_TYPE (session 1)" 0x124 \
	tpm2_duplicate -c k.ctx -C np.ctx -G null -r x.priv -s x.seed
vt_check "create a fixedparent key with the same policy" tpm2_create -C prim.ctx -G ecc256 -L dup.policy \
	-a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign" -u f.pub -r f.priv -c f.ctx
vt_check_rc "duplicate of a fixedparent key: TPM_RC_ATTRIBUTES (handle 1)" 0x182 bash -c '
	tpm2_startauthsession --policy-session -S d2.ctx >/dev/null 2>&1 &&
	tpm2_policycommandcode -S d2.ctx TPM2_CC_Duplicate >/dev/null 2>&1 &&
	tpm2_duplicate -c f.ctx -p session:d2.ctx -C np.ctx -G null -r x.priv -s x.seed; rc=$?
	tpm2_flushcontext d2.ctx >/dev/null 2>&1; exit $rc'

vt_done
