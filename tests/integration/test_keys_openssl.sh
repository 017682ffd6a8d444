#!/bin/bash
# The tpm2-openssl provider (Debian package tpm2-openssl) against the
# server: openssl genpkey -provider tpm2 (EC P-256, RSA 2048), a CSR made
# with the TPM key (openssl req -new -provider tpm2), openssl req -verify,
# signatures with the TPM key verified by openssl with the public key.
# TPM2OPENSSL_TCTI points the provider at the server.
VT_SCRIPT_TIMEOUT=${VT_SCRIPT_TIMEOUT:-300}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/keys/common.sh"

vt_server_start || vt_done
T=$VT_TMP
cd "$T" || vt_done

# the provider connects to the TPM when it is loaded
export TPM2OPENSSL_TCTI="$TPM2TOOLS_TCTI"
moddir=$(openssl version -m 2>/dev/null | sed -n 's/^MODULESDIR: "\(.*\)"$/\1/p')
if [ ! -e "$moddir/tpm2.so" ]; then
	vt_skip "tpm2-openssl provider" "not installed ($moddir/tpm2.so; Debian package tpm2-openssl)"
	vt_done
fi
P=(-provider tpm2 -provider default)
# (the provider's own keys: prefer its implementations where it has one)
Q=(-propquery "?provider=tpm2")
head -c 500 /dev/urandom >msg.bin

vt_check "openssl list -providers shows tpm2" bash -c "openssl list -providers -provider tpm2 | grep -qi tpm2"
vt_check "openssl rand from the TPM" bash -c "openssl rand -provider tpm2 -hex 16 | grep -qE '^[0-9a-f]{32}$'"
for alg in EC RSA; do
	case $alg in
	EC) opt=(-pkeyopt group:P-256) ;;
	RSA) opt=(-pkeyopt bits:2048) ;;
	esac
	vt_check "genpkey -provider tpm2 -algorithm $alg" openssl genpkey "${P[@]}" -algorithm $alg "${opt[@]}" -out $alg.key
	vtk_flush
	vt_check_true "$alg: the key file is a TSS2 PRIVATE KEY (a TPM-wrapped blob)" grep -q 'BEGIN TSS2 PRIVATE KEY' $alg.key
	vt_check "$alg: public key out (pkey -pubout)" openssl pkey "${P[@]}" -in $alg.key -pubout -out $alg.pub
	vtk_flush
	vt_check "$alg: openssl req -new with the TPM key" openssl req -new "${P[@]}" -key $alg.key -subj /CN=x -out $alg.csr
	vtk_flush
	vt_check "$alg: openssl req -verify accepts the CSR" openssl req -verify -in $alg.csr -noout
	vt_check_eq "$alg: the CSR's public key is the TPM key's" "$(openssl pkey -pubin -in $alg.pub -outform DER | xxd -p | tr -d '\n')" \
		"$(openssl req -in $alg.csr -pubkey -noout | openssl pkey -pubin -outform DER | xxd -p | tr -d '\n')"
	vt_check "$alg: dgst -sign with the TPM key" openssl dgst "${P[@]}" "${Q[@]}" -sha256 -sign $alg.key -out $alg.sig msg.bin
	vtk_flush
	vt_check "$alg: openssl verifies the signature" openssl dgst -sha256 -verify $alg.pub -signature $alg.sig msg.bin
	printf 'x' >>msg2.bin
	vt_check_fails "$alg: not for another message" openssl dgst -sha256 -verify $alg.pub -signature $alg.sig msg2.bin
done
vt_check "self-signed certificate with the TPM key (req -x509)" \
	openssl req -new -x509 "${P[@]}" -key EC.key -subj /CN=tpm -days 1 -out EC.crt
vtk_flush
vt_check "openssl verify of the self-signed certificate" openssl verify -CAfile EC.crt EC.crt
vt_server_restart || vt_done
export TPM2OPENSSL_TCTI="$TPM2TOOLS_TCTI"
vt_check "after restart: sign with the EC key" openssl dgst "${P[@]}" "${Q[@]}" -sha256 -sign EC.key -out EC2.sig msg.bin
vtk_flush
vt_check "openssl verifies it" openssl dgst -sha256 -verify EC.pub -signature EC2.sig msg.bin

vt_done
