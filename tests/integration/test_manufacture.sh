#!/bin/bash
# `vitrum manufacture` and `vitrum serve --manufacture`: EK certificates in
# the standard NV indices (0x01C00002 RSA 2048, 0x01C0000A ECC P-256), signed
# by a local CA kept in the state directory or by the owner's CA.  Checked
# with real clients: tpm2_getekcertificate / tpm2_nvread fetch them, openssl
# verify accepts them against the printed CA, and their public keys are the
# EKs tpm2_createek derives.  Existing certificates are refused without
# --force; a running server's directory is refused (its lock).
. "$(dirname "$0")/lib.sh"

if [ "$VT_TARGET" != vitrum ]; then
	vt_skip "vitrum manufacture" "vitrum only (swtpm has swtpm_setup)"
	vt_done
fi
vt__mktmp
T=$VT_TMP
ST=$VT_STATE
mfg() { "$VITRUM_BIN" manufacture "$@"; }

if mfg --help 2>&1 | grep -q "built without"; then
	vt_not_ok "vitrum manufacture is built in" "$VITRUM_BIN says it was built without tools/manufacture.c"
	vt_done
fi

# SHA-256 of the DER SubjectPublicKeyInfo of a PEM certificate / public key.
cert_spki() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1; }
pem_spki() { openssl pkey -pubin -in "$1" -outform der | sha256sum | cut -d' ' -f1; }
serial_of() { openssl x509 -in "$1" -noout -serial 2>/dev/null; }
# fetch both EK certificates from the running server into $1-rsa.pem / $1-ecc.pem
fetch() {
	rm -f "$T/$1-rsa.der" "$T/$1-ecc.der"
	vt_check "$2: tpm2_getekcertificate (RSA and ECC)" \
		tpm2_getekcertificate -o "$T/$1-rsa.der" -o "$T/$1-ecc.der" || return 1
	openssl x509 -inform der -in "$T/$1-rsa.der" -out "$T/$1-rsa.pem" &&
		openssl x509 -inform der -in "$T/$1-ecc.der" -out "$T/$1-ecc.pem"
}

# ------------------------------------------------------ local CA, both EKs
vt_check "manufacture a new state directory (local CA)" mfg --state "$ST" || vt_done
cp "$VT_LAST_OUT" "$T/mfg1.out"
vt_check_eq "local CA key is mode 0600" 600 "$(stat -c %a "$ST/ek-ca-key.pem" 2>&1)"
vt_check "local CA certificate is a CA" bash -c "openssl x509 -in '$ST/ek-ca.pem' -noout -ext basicConstraints | grep -q CA:TRUE"
fp=$(openssl x509 -in "$ST/ek-ca.pem" -noout -fingerprint -sha256 | cut -d= -f2)
vt_check "output names the CA file and its fingerprint" \
	bash -c "grep -qF '$ST/ek-ca.pem' '$T/mfg1.out' && grep -qF '$fp' '$T/mfg1.out'"
vt_check_eq "output prints the CA certificate's PEM" "$(cat "$ST/ek-ca.pem")" \
	"$(sed -n '/BEGIN CERTIFICATE/,/END CERTIFICATE/p' "$T/mfg1.out")"
vt_check_true "no key material in the output" [ "$(grep -c PRIVATE "$T/mfg1.out")" -eq 0 ]

vt_server_start || vt_done
if mfg --state "$ST" --force >"$T/busy.out" 2>&1; then
	vt_not_ok "manufacture refuses a directory a server holds" "$(cat "$T/busy.out")"
else
	vt_check "manufacture refuses a directory a server holds" grep -q "in use" "$T/busy.out"
fi

fetch a "local CA" || vt_done
vt_check "openssl verify -CAfile ek-ca.pem (RSA and ECC)" \
	openssl verify -CAfile "$ST/ek-ca.pem" "$T/a-rsa.pem" "$T/a-ecc.pem"
vt_check "openssl verify -x509_strict" \
	openssl verify -x509_strict -CAfile "$ST/ek-ca.pem" "$T/a-rsa.pem" "$T/a-ecc.pem"
vt_check "RSA cert: keyEncipherment, CA:FALSE, tcg-kp-EKCertificate, TPM in subjectAltName" bash -c \
	"openssl x509 -in '$T/a-rsa.pem' -noout -text > '$T/a-rsa.txt' &&
	 grep -q 'Key Encipherment' '$T/a-rsa.txt' && grep -q 'CA:FALSE' '$T/a-rsa.txt' &&
	 grep -q '2.23.133.8.1' '$T/a-rsa.txt' && grep -q 'DirName:/2.23.133.2.1=id:' '$T/a-rsa.txt'"
vt_check "ECC cert: keyAgreement, P-256" bash -c \
	"openssl x509 -in '$T/a-ecc.pem' -noout -text > '$T/a-ecc.txt' &&
	 grep -q 'Key Agreement' '$T/a-ecc.txt' && grep -q 'prime256v1' '$T/a-ecc.txt'"

vt_check "tpm2_createek -G rsa" tpm2_createek -G rsa -c "$T/ekr.ctx" -u "$T/ekr.pub"
tpm2_readpublic -c "$T/ekr.ctx" -f pem -o "$T/ekr.pem" >/dev/null 2>&1
tpm2_flushcontext -t >/dev/null 2>&1
vt_check "tpm2_createek -G ecc" tpm2_createek -G ecc -c "$T/eke.ctx" -u "$T/eke.pub"
tpm2_readpublic -c "$T/eke.ctx" -f pem -o "$T/eke.pem" >/dev/null 2>&1
tpm2_flushcontext -t >/dev/null 2>&1
vt_check_eq "RSA cert's key is tpm2_createek's RSA EK" "$(pem_spki "$T/ekr.pem" 2>&1)" "$(cert_spki "$T/a-rsa.pem" 2>&1)"
vt_check_eq "ECC cert's key is tpm2_createek's ECC EK" "$(pem_spki "$T/eke.pem" 2>&1)" "$(cert_spki "$T/a-ecc.pem" 2>&1)"

for ix in 0x01c00002 0x01c0000a; do
	attrs=$(tpm2_nvreadpublic "$ix" 2>&1 | grep -oE 'value: 0x[0-9A-Fa-f]{8}$' | cut -d' ' -f2)
	# PPWRITE|WRITELOCKED|WRITEDEFINE|PPREAD|OWNERREAD|AUTHREAD|NO_DA|WRITTEN|PLATFORMCREATE
	vt_check_eq "$ix: EK profile NV attributes, written and write-locked" 0x62072801 "$attrs"
done
vt_check "tpm2_nvread 0x01c00002 with owner auth" tpm2_nvread 0x01c00002 -C o -o "$T/nvread.der"
vt_check "... gives the same certificate" cmp "$T/nvread.der" "$T/a-rsa.der"
echo garbage >"$T/garbage"
vt_check_fails "the owner cannot overwrite an EK certificate" tpm2_nvwrite 0x01c00002 -C o -i "$T/garbage"
vt_check_fails "nor the platform (write-locked)" tpm2_nvwrite 0x01c00002 -C p -i "$T/garbage"
vt_server_stop

# ------------------------------------------------ refusal without --force
if mfg --state "$ST" >"$T/again.out" 2>&1; then
	vt_not_ok "manufacture again without --force is refused" "$(cat "$T/again.out")"
else
	vt_check "manufacture again without --force is refused, saying --force" grep -q -- "--force" "$T/again.out"
fi
vt_check_true "... and prints no certificate" [ "$(grep -c "^EK certificate" "$T/again.out")" -eq 0 ]
vt_server_start || vt_done
fetch b "after the refusal"
vt_check_eq "RSA certificate unchanged" "$(serial_of "$T/a-rsa.pem")" "$(serial_of "$T/b-rsa.pem")"
vt_check_eq "ECC certificate unchanged" "$(serial_of "$T/a-ecc.pem")" "$(serial_of "$T/b-ecc.pem")"
vt_server_stop

# --------------------------------------------- --force --rsa: only RSA
vt_check "manufacture --rsa --force" mfg --state "$ST" --rsa --force
vt_check_true "... reuses the local CA" grep -q "EK CA: the local CA" "$VT_LAST_OUT"
vt_server_start || vt_done
fetch c "after --rsa --force"
vt_check_true "RSA certificate replaced" [ "$(serial_of "$T/a-rsa.pem")" != "$(serial_of "$T/c-rsa.pem")" ]
vt_check_eq "ECC certificate kept" "$(serial_of "$T/a-ecc.pem")" "$(serial_of "$T/c-ecc.pem")"
vt_check "the new RSA certificate verifies" openssl verify -CAfile "$ST/ek-ca.pem" "$T/c-rsa.pem"
vt_server_stop

# ------------------------------------------------------------- owner CA
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/owner.key" -out "$T/owner.pem" \
	-subj "/O=Owner/CN=Owner EK CA" -days 3650 \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" >/dev/null 2>&1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/leaf.key" \
	-out "$T/leaf.pem" -subj "/CN=not a CA" -days 30 -addext "basicConstraints=critical,CA:FALSE" >/dev/null 2>&1
mfg --state "$ST" --ca-key "$T/owner.key" >/dev/null 2>&1
vt_check_eq "--ca-key without --ca-cert: usage error (exit 2)" 2 "$?"
vt_check_fails "a CA certificate that is not a CA is refused" \
	mfg --state "$ST" --force --ca-key "$T/leaf.key" --ca-cert "$T/leaf.pem"
vt_check_fails "a CA key that is not the certificate's is refused" \
	mfg --state "$ST" --force --ca-key "$T/leaf.key" --ca-cert "$T/owner.pem"
vt_check "manufacture --force with the owner's CA" \
	mfg --state "$ST" --force --ca-key "$T/owner.key" --ca-cert "$T/owner.pem"
vt_server_start || vt_done
fetch d "owner CA"
vt_check "openssl verify -CAfile owner.pem (RSA and ECC)" \
	openssl verify -CAfile "$T/owner.pem" "$T/d-rsa.pem" "$T/d-ecc.pem"
vt_check_fails "... and not against the local CA" openssl verify -CAfile "$ST/ek-ca.pem" "$T/d-rsa.pem"
vt_check_eq "same RSA EK" "$(cert_spki "$T/a-rsa.pem")" "$(cert_spki "$T/d-rsa.pem")"
vt_check_eq "same ECC EK" "$(cert_spki "$T/a-ecc.pem")" "$(cert_spki "$T/d-ecc.pem")"
vt_server_stop

# ------------------------------------------- serve --manufacture, first start
VT_STATE="$T/state2"
vt_server_start --manufacture || vt_done
fetch e "serve --manufacture"
vt_check "verifies against the new local CA" \
	openssl verify -CAfile "$VT_STATE/ek-ca.pem" "$T/e-rsa.pem" "$T/e-ecc.pem"
vt_check_fails "a different TPM: not against the first TPM's CA" \
	openssl verify -CAfile "$ST/ek-ca.pem" "$T/e-rsa.pem"
vt_server_restart --manufacture || vt_done
fetch f "serve --manufacture, second start"
vt_check_eq "second start keeps the RSA certificate" "$(serial_of "$T/e-rsa.pem")" "$(serial_of "$T/f-rsa.pem")"
vt_check_eq "second start keeps the ECC certificate" "$(serial_of "$T/e-ecc.pem")" "$(serial_of "$T/f-ecc.pem")"
vt_server_stop

# ------------------------------------------- a sealed state directory, ECC only
VT_STATE="$T/state3"
head -c 32 /dev/urandom >"$T/state.key"
vt_check "manufacture --ecc a sealed (--key) state directory" mfg --state "$VT_STATE" --key "$T/state.key" --ecc
vt_server_start --key "$T/state.key" || vt_done
vt_check "tpm2_nvread of its ECC EK certificate" tpm2_nvread 0x01c0000a -C o -o "$T/g-ecc.der"
vt_check "... verifies against its local CA" bash -c \
	"openssl x509 -inform der -in '$T/g-ecc.der' -out '$T/g-ecc.pem' && openssl verify -CAfile '$VT_STATE/ek-ca.pem' '$T/g-ecc.pem'"
vt_check_rc "--ecc only: no RSA EK certificate index" 0x18b tpm2_nvreadpublic 0x01c00002
vt_server_stop

vt_done
