#!/bin/bash
# Attestation: tpm2_createek / tpm2_createak, tpm2_makecredential (TPM and
# software -T none) / tpm2_activatecredential, tpm2_quote + tpm2_checkquote,
# tpm2_certify, tpm2_certifycreation, tpm2_gettime and tpm2_nvcertify, each
# signature checked with openssl over the TPMS_ATTEST blob (Part 2 §10.12:
# magic TPM_GENERATED_VALUE 0xff544347, then the TPMI_ST_ATTEST type).
VT_SCRIPT_TIMEOUT=${VT_SCRIPT_TIMEOUT:-300}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/keys/common.sh"

vt_server_start || vt_done
T=$VT_TMP
cd "$T" || vt_done

# the first 6 octets of a TPMS_ATTEST: magic and type
attest_head() { xxd -p -l 6 "$1"; }

vt_check "createek (rsa)" tpm2_createek -c ek.ctx -G rsa -u ek.pub
# (createak uses the EK as parent: it needs a PolicySecret session)
vt_check "createak (rsa, rsassa sha256)" tpm2_createak -C ek.ctx -c eak.ctx -G rsa -g sha256 -s rsassa \
	-u eak.pub -n eak.name -r eak.priv
vt_check_eq "AK: restricted signing key" "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign" \
	"$(pubfield eak.ctx attributes)"
# quotes and certifications below use a restricted signing key in the owner
# hierarchy, so that they do not depend on the EK's policy
vt_check "createprimary (owner)" tpm2_createprimary -C o -G ecc256 -c prim.ctx --creation-data pc.dat -d pc.dig -t pc.tk
vt_check "create a restricted signing key (rsassa-sha256) as the attestation key" \
	tpm2_create -C prim.ctx -G rsa2048:rsassa-sha256:null -a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign" \
	-u ak.pub -r ak.priv -c ak.ctx
vt_check "readpublic -f pem of it" tpm2_readpublic -c ak.ctx -f pem -o ak.pem
vt_check_eq "EK: the default EK template's attributes (TCG EK profile)" \
	"fixedtpm|fixedparent|sensitivedataorigin|adminwithpolicy|restricted|decrypt" "$(pubfield ek.ctx attributes)"
vt_check "createek again" tpm2_createek -c ek2.ctx -G rsa -u ek2.pub
vt_check_true "the EK is the same key again (primary, deterministic)" cmp -s ek.pub ek2.pub

# ---- makecredential / activatecredential
printf 'credential secret 0123456789' >secret.bin
vt_check "makecredential (with the TPM)" tpm2_makecredential -e ek.pub -s secret.bin -n "$(hexof eak.name)" -o cred.tpm
vt_check "makecredential -T none (software)" tpm2_makecredential -T none -e ek.pub -s secret.bin -n "$(hexof eak.name)" -o cred.sw
activate() { # activate CREDFILE OUTFILE: EK use needs PolicySecret(endorsement)
	local rc
	tpm2_startauthsession --policy-session -S s.ctx >/dev/null 2>&1 || return 1
	tpm2_policysecret -S s.ctx -c e >/dev/null 2>&1 || { tpm2_flushcontext s.ctx >/dev/null 2>&1; return 1; }
	tpm2_activatecredential -c eak.ctx -C ek.ctx -i "$1" -o "$2" -P "session:s.ctx"
	rc=$?
	tpm2_flushcontext s.ctx >/dev/null 2>&1
	return $rc
}
vt_check "activatecredential of the TPM-made credential" activate cred.tpm act1.bin
vt_check_eq "it gives the secret back" "$(hexof secret.bin)" "$(hexof act1.bin 2>/dev/null)"
vt_check "activatecredential of the software-made credential" activate cred.sw act2.bin
vt_check_eq "it gives the secret back" "$(hexof secret.bin)" "$(hexof act2.bin 2>/dev/null)"
# a credential for another name does not open with the AK
vt_check "makecredential for another name" tpm2_makecredential -T none -e ek.pub -s secret.bin \
	-n "000b$(printf '%064d' 0)" -o cred.other
vt_check_rc "activatecredential with the wrong name: TPM_RC_INTEGRITY" 0x09F activate cred.other act3.bin
vt_check_rc "activatecredential without the EK policy (password): TPM_RC_AUTH_UNAVAILABLE" 0x12F \
	tpm2_activatecredential -c eak.ctx -C ek.ctx -i cred.tpm -o act4.bin

# ---- quote + checkquote
head -c 16 /dev/urandom >nonce.bin
nonce=$(hexof nonce.bin)
vt_check "pcrextend sha256:1 (so the PCRs are not all zero)" \
	tpm2_pcrextend "1:sha256=$(printf '%064d' 7)"
vt_check "quote sha256:0,1,2 with a nonce" tpm2_quote -c ak.ctx -l sha256:0,1,2 -q "$nonce" -g sha256 \
	-m quote.msg -s quote.sig -o quote.pcrs
vt_check "checkquote accepts it" tpm2_checkquote -u ak.pub -m quote.msg -s quote.sig -f quote.pcrs -g sha256 -q "$nonce"
vt_check "checkquote with the PEM public key" tpm2_checkquote -u ak.pem -m quote.msg -s quote.sig -f quote.pcrs -g sha256 -q "$nonce"
vt_check_fails "checkquote with another nonce fails" \
	tpm2_checkquote -u ak.pub -m quote.msg -s quote.sig -f quote.pcrs -g sha256 -q "00$nonce"
vt_check_eq "quote: TPMS_ATTEST magic and TPM_ST_ATTEST_QUOTE" ff5443478018 "$(attest_head quote.msg)"
tpm2_quote -c ak.ctx -l sha256:0,1,2 -q "$nonce" -g sha256 -m quote.msg2 -s quote.sig2 -f plain -o quote.pcrs2 >/dev/null 2>&1
vt_check "openssl verifies the quote signature over the attest blob" \
	openssl dgst -sha256 -verify ak.pem -signature quote.sig2 quote.msg2
tpm2_readpublic -c eak.ctx -f pem -o eak.pem >/dev/null 2>&1
vt_check "quote with the createak AK" tpm2_quote -c eak.ctx -l sha256:0,1,2 -q "$nonce" -g sha256 -m eq.msg -s eq.sig -f plain -o eq.pcrs
vt_check "openssl verifies the createak AK's quote" openssl dgst -sha256 -verify eak.pem -signature eq.sig eq.msg
vt_check "extend PCR 2" tpm2_pcrextend "2:sha256=$(printf '%064d' 9)"
vt_check_fails "checkquote with the new PCR values fails" bash -c \
	"tpm2_pcrread sha256:0,1,2 -o now.pcrs >/dev/null && tpm2_checkquote -u ak.pub -m quote.msg -s quote.sig -f now.pcrs -g sha256 -q $nonce"

# ---- certify
vt_check "createprimary (owner)" tpm2_createprimary -C o -G ecc256 -c prim.ctx --creation-data pc.dat -d pc.dig -t pc.tk
# (with -c the tool uses CreateLoaded, which returns no creation data)
vt_check "create an ecc key (with creation data)" tpm2_create -C prim.ctx -G ecc256 -u k.pub -r k.priv \
	--creation-data kc.dat -d kc.dig -t kc.tk
vt_check "load it" tpm2_load -C prim.ctx -u k.pub -r k.priv -c k.ctx
vt_check "certify the key with the AK" tpm2_certify -c k.ctx -C ak.ctx -g sha256 -o cert.att -s cert.sig -f plain
vt_check_eq "certify: TPM_ST_ATTEST_CERTIFY" ff5443478017 "$(attest_head cert.att)"
vt_check "openssl verifies the certify signature" openssl dgst -sha256 -verify ak.pem -signature cert.sig cert.att
vt_check_true "the attest blob holds the certified key's name" \
	grep -q "$(tpm2_readpublic -c k.ctx 2>/dev/null | awk '/^name:/ {print $2; exit}')" <(hexof cert.att)
vt_check "certify the AK itself (self)" tpm2_certify -c ak.ctx -C ak.ctx -g sha256 -o cself.att -s cself.sig -f plain
vt_check "openssl verifies it" openssl dgst -sha256 -verify ak.pem -signature cself.sig cself.att
vt_check_rc "certify with a non-signing key (the primary) as signer: TPM_RC_KEY (handle 2)" 0x29C \
	tpm2_certify -c k.ctx -C prim.ctx -g sha256 -o x.att -s x.sig

# ---- certifycreation
vt_check "certifycreation of the key" tpm2_certifycreation -C ak.ctx -c k.ctx -d kc.dig -t kc.tk -g sha256 \
	-o cc.sig --attestation cc.att -f plain -s rsassa
vt_check_eq "certifycreation: TPM_ST_ATTEST_CREATION" ff544347801a "$(attest_head cc.att)"
vt_check "openssl verifies the certifycreation signature" openssl dgst -sha256 -verify ak.pem -signature cc.sig cc.att
vt_check_true "the attest blob holds the creation hash" grep -q "$(hexof kc.dig)" <(hexof cc.att)
vt_check "certifycreation of the primary" tpm2_certifycreation -C ak.ctx -c prim.ctx -d pc.dig -t pc.tk -g sha256 \
	-o pcc.sig --attestation pcc.att -f plain -s rsassa
vt_check_rc "certifycreation with another key's ticket: TPM_RC_TICKET (parameter 4)" 0x4E0 \
	tpm2_certifycreation -C ak.ctx -c prim.ctx -d kc.dig -t kc.tk -g sha256 -o x.sig --attestation x.att -s rsassa

# ---- gettime
vt_check "gettime signed by the AK" tpm2_gettime -c ak.ctx -q "$nonce" -g sha256 -o time.sig -f plain --attestation time.att
vt_check_eq "gettime: TPM_ST_ATTEST_TIME" ff5443478019 "$(attest_head time.att)"
vt_check "openssl verifies the gettime signature" openssl dgst -sha256 -verify ak.pem -signature time.sig time.att
vt_check_true "the attest blob holds the nonce" grep -q "$nonce" <(hexof time.att)

# ---- nvcertify
vt_check "nvdefine" tpm2_nvdefine 0x1500100 -C o -s 32 -a "ownerread|ownerwrite|authread|authwrite"
printf 'certified NV contents 0123456789' >nv.bin
vt_check "nvwrite" tpm2_nvwrite 0x1500100 -C o -i nv.bin
vt_check "nvcertify 32 octets" tpm2_nvcertify -C ak.ctx -g sha256 -f plain -o nv.sig --attestation nv.att \
	-q "$nonce" --size 32 --offset 0 -c o 0x1500100
vt_check_eq "nvcertify: TPM_ST_ATTEST_NV" ff5443478014 "$(attest_head nv.att)"
vt_check "openssl verifies the nvcertify signature" openssl dgst -sha256 -verify ak.pem -signature nv.sig nv.att
vt_check_true "the attest blob holds the NV data" grep -q "$(hexof nv.bin)" <(hexof nv.att)
vt_check "nvcertify 8 octets at 4 (index auth)" tpm2_nvcertify -C ak.ctx -g sha256 -f plain -o nv2.sig \
	--attestation nv2.att --size 8 --offset 4 -c 0x1500100 0x1500100
vt_check_true "that blob holds octets 4..11" grep -q "$(xxd -p -s 4 -l 8 nv.bin)" <(hexof nv2.att)
vt_check "nvdefine another index, never written" tpm2_nvdefine 0x1500101 -C o -s 8 -a "ownerread|ownerwrite"
vt_check_rc "nvcertify of an unwritten index: TPM_RC_NV_UNINITIALIZED" 0x14A \
	tpm2_nvcertify -C ak.ctx -g sha256 -o x.sig --attestation x.att --size 8 --offset 0 -c o 0x1500101

vt_done
