#!/bin/bash
# Salted and bound sessions and parameter encryption with tpm2-tools:
# sessions salted with an RSA and an ECC primary (tpm2_startauthsession
# --tpmkey-context), bound ones (--bind-context), AES-CFB decrypt/encrypt
# through tpm2_sessionconfig on GetRandom, Unseal, NV_Write/NV_Read,
# Create and CreatePrimary; then negative cases with their exact response
# codes, sent raw (tests/integration/session_raw.py).  Runs against swtpm
# too (VT_TARGET=swtpm).
VT_SCRIPT_TIMEOUT=${VT_SCRIPT_TIMEOUT:-300}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/keys/common.sh"

vt_server_start || vt_done
T=$VT_TMP
cd "$T" || vt_done
SESRAW="$VT_PYTHON $VT_LIB_DIR/session_raw.py --proto $([ "$VT_TARGET" = swtpm ] && echo raw || echo mssim) --port $VT_PORT"

vt_check "RSA primary (tpmKey)" tpm2_createprimary -C o -G rsa2048 -c rsa.ctx
vt_check "ECC primary (tpmKey)" tpm2_createprimary -C o -G ecc256 -c ecc.ctx
head -c 48 /dev/urandom >secret.bin
vt_check "seal a secret under the RSA primary" tpm2_create -C rsa.ctx -i secret.bin -u seal.pub -r seal.priv
vt_check "load it" tpm2_load -C rsa.ctx -u seal.pub -r seal.priv -c seal.ctx

# start [startauthsession args...]: a session in s.ctx
start() { rm -f s.ctx; tpm2_startauthsession -S s.ctx "$@"; }
endses() { tpm2_flushcontext s.ctx >/dev/null 2>&1; rm -f s.ctx; }

for key in rsa ecc; do
	vt_check "$key-salted HMAC session" start --hmac-session --tpmkey-context $key.ctx
	vt_check "$key-salted: encrypt + decrypt on" tpm2_sessionconfig s.ctx --enable-encrypt --enable-decrypt
	vt_check "$key-salted: unseal through it" tpm2_unseal -c seal.ctx -p session:s.ctx -o out.bin
	vt_check "$key-salted: unsealed data is what was sealed" cmp secret.bin out.bin
	vt_check "$key-salted: encrypt only, for GetRandom" tpm2_sessionconfig s.ctx --disable-decrypt
	vt_check "$key-salted: getrandom -S (encrypted response)" tpm2_getrandom -S s.ctx -o r1.bin 32
	vt_check "$key-salted: getrandom again" tpm2_getrandom -S s.ctx -o r2.bin 32
	vt_check_eq "$key-salted: 32 octets" 32 "$(stat -c %s r1.bin)"
	vt_check_fails "$key-salted: two draws differ" cmp -s r1.bin r2.bin
	endses
done

# a salted policy session with encryption unseals an object sealed to a
# PolicyCommandCode(Unseal) policy
vt_check "trial policy: commandcode Unseal" bash -c \
	'tpm2_startauthsession -S tr.ctx && tpm2_policycommandcode -S tr.ctx -L cc.pol TPM2_CC_Unseal; rc=$?; tpm2_flushcontext tr.ctx; exit $rc'
vt_check "seal under that policy" tpm2_create -C rsa.ctx -i secret.bin -L cc.pol -a "fixedtpm|fixedparent" \
	-u pseal.pub -r pseal.priv
vt_check "load it" tpm2_load -C rsa.ctx -u pseal.pub -r pseal.priv -c pseal.ctx
vt_check "salted policy session" start --policy-session --tpmkey-context rsa.ctx
vt_check "policycommandcode Unseal" tpm2_policycommandcode -S s.ctx TPM2_CC_Unseal
vt_check "encrypt on" tpm2_sessionconfig s.ctx --enable-encrypt
vt_check "unseal through the salted policy session" tpm2_unseal -c pseal.ctx -p session:s.ctx -o pout.bin
vt_check "policy-unsealed data is what was sealed" cmp secret.bin pout.bin
endses

# bound sessions: to the sealed object's parent (empty auth) and to an NV
# index with a password, which is then the session's and the HMAC's key
vt_check "bound + salted session (bind: RSA primary)" start --hmac-session --tpmkey-context rsa.ctx --bind-context rsa.ctx
vt_check "bound: encrypt + decrypt" tpm2_sessionconfig s.ctx --enable-encrypt --enable-decrypt
vt_check "bound: unseal" tpm2_unseal -c seal.ctx -p session:s.ctx -o out2.bin
vt_check "bound: unsealed data is what was sealed" cmp secret.bin out2.bin
endses

NV=0x1500016
printf 'nv secret contents 0123456789abc' >nvdata.bin
vt_check "define an NV index with a password" tpm2_nvdefine $NV -C o -s 32 -a "authread|authwrite" -p nvpass
vt_check "unbound salted session for the index" start --hmac-session --tpmkey-context rsa.ctx
vt_check "encrypt + decrypt" tpm2_sessionconfig s.ctx --enable-encrypt --enable-decrypt
vt_check "nvwrite, data encrypted (key: session key || password)" tpm2_nvwrite $NV -i nvdata.bin -P session:s.ctx+nvpass
vt_check "nvread, response encrypted" tpm2_nvread $NV -s 32 -P session:s.ctx+nvpass -o nvout.bin
vt_check "NV data read back is what was written" cmp nvdata.bin nvout.bin
vt_check_fails "nvread with a wrong password fails" tpm2_nvread $NV -s 32 -P session:s.ctx+wrong -o /dev/null
endses
vt_check "password read agrees (no sessions)" tpm2_nvread $NV -s 32 -P nvpass -o nvout3.bin
vt_check "NV data in the clear" cmp nvdata.bin nvout3.bin
vt_check "session bound to the (written) index, salted" start --hmac-session --tpmkey-context ecc.ctx \
	--bind-context $NV --bind-auth nvpass
vt_check "encrypt on" tpm2_sessionconfig s.ctx --enable-encrypt
vt_check "nvread through the bound session" tpm2_nvread $NV -s 32 -P session:s.ctx+nvpass -o nvout2.bin
vt_check "NV data again" cmp nvdata.bin nvout2.bin
endses
tpm2_nvundefine $NV -C o >/dev/null 2>&1
# bound to an index before it is written: NV_Write sets TPMA_NV_WRITTEN,
# which changes the index's Name, so afterwards the session no longer counts
# as bound to it and its HMAC key takes the password again (swtpm agrees)
vt_check "define the index again" tpm2_nvdefine $NV -C o -s 32 -a "authread|authwrite" -p nvpass
vt_check "session bound to the unwritten index" start --hmac-session --bind-context $NV --bind-auth nvpass
vt_check "nvwrite through it" tpm2_nvwrite $NV -i nvdata.bin -P session:s.ctx+nvpass
vt_check "nvread through it: bound no more" tpm2_nvread $NV -s 32 -P session:s.ctx+nvpass -o nvout4.bin
vt_check "NV data after the Name changed" cmp nvdata.bin nvout4.bin
endses
tpm2_nvundefine $NV -C o >/dev/null 2>&1

# Create with an encrypted sensitive (the new key's password) and an
# encrypted outPrivate; the key then signs with that password
vt_check "salted session for Create" start --hmac-session --tpmkey-context rsa.ctx
vt_check "encrypt + decrypt" tpm2_sessionconfig s.ctx --enable-encrypt --enable-decrypt
vt_check "create a signing key through it" tpm2_create -C rsa.ctx -P session:s.ctx -G ecc256 -p keypass \
	-u k.pub -r k.priv
endses
vt_check "load the key" tpm2_load -C rsa.ctx -u k.pub -r k.priv -c k.ctx
echo "to be signed" >msg.txt
vt_check "sign with the password set through the encrypted parameter" \
	tpm2_sign -c k.ctx -p keypass -g sha256 -o sig.bin msg.txt
vt_check "the signature verifies" tpm2_verifysignature -c k.ctx -g sha256 -m msg.txt -s sig.bin

# ---- negative cases, raw commands (exact response codes)
# (each code as swtpm gives it)
raw() { $SESRAW "$1" 2>&1 | tail -1; }
vt_check_eq "bad command HMAC: TPM_RC_BAD_AUTH + S1" 0x000009a2 "$(raw badhmac)"
vt_check_eq "bad HMAC on a session that only encrypts: TPM_RC_BAD_AUTH + S1" 0x000009a2 "$(raw encbadhmac)"
vt_check_eq "a session twice in one command: TPM_RC_HANDLE + S2" 0x00000a8b "$(raw twice)"
vt_check_eq "decrypt on GetRandom (first parameter no TPM2B): TPM_RC_ATTRIBUTES + S1" 0x00000982 "$(raw decnot2b)"
vt_check_eq "encrypt on StirRandom (no response parameter): TPM_RC_ATTRIBUTES + S1" 0x00000982 "$(raw encnot2b)"
vt_check_eq "two decrypt sessions: TPM_RC_ATTRIBUTES + S2" 0x00000a82 "$(raw twodec)"
vt_check_eq "a session that neither authorizes, audits nor encrypts: TPM_RC_ATTRIBUTES + S1" 0x00000982 "$(raw idle)"
vt_check_eq "decrypt on a session without a symmetric: TPM_RC_SYMMETRIC + S1" 0x00000996 "$(raw nosym)"
vt_check_eq "decrypted TPM2B longer than the parameters: TPM_RC_SIZE + S1" 0x00000995 "$(raw decsize)"
vt_check_eq "salted with a signing key (not decrypt): TPM_RC_ATTRIBUTES + H1" 0x00000182 "$(raw salt_signkey)"
vt_check_eq "encryptedSalt of the wrong size for an ECC key: TPM_RC_VALUE + P2" 0x000002c4 "$(raw salt_size)"
vt_check_eq "encryptedSalt without a tpmKey: TPM_RC_VALUE + P2" 0x000002c4 "$(raw salt_nokey)"
vt_check_eq "AES in CBC mode for a session: TPM_RC_MODE + P4" 0x000004c9 "$(raw badmode)"
vt_check_eq "XOR-obfuscated Hash round trip through an unkeyed session" ok "$(raw xorhash)"
vt_check_eq "AES-CFB-encrypted Hash round trip through an unkeyed session" ok "$(raw cfbhash)"

vt_done
