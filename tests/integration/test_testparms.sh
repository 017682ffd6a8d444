#!/bin/bash
# TPM2_TestParms through tpm2_testparms, with the algorithm specifiers from
# the tool's man page (tpm2-tools 5.4).
#
# tpm2_testparms exits 0 if the TPM accepts the parameters, 5 if the TPM
# says they are unsupported (a parameter error), 1 if the tool itself cannot
# turn the specifier into TPMT_PUBLIC_PARMS (hash-only or scheme-only
# specifiers: nothing is sent to the TPM).
. "$(dirname "$0")/lib.sh"

# What vitrum implements now (foundation: hashes, HMAC, keyed hash / XOR).
# Extend this list as vitrum grows (RSA, ECC, AES ...).
EXPECTED_SUPPORTED="hmac hmac:sha1 hmac:sha256 hmac:sha384 hmac:sha512
keyedhash xor xor:sha1 xor:sha256 xor:sha384 xor:sha512"

# swtpm (libtpms) implements these as well; asserted only against swtpm, so
# that a run against swtpm shows what a full TPM answers.
SWTPM_ALSO_SUPPORTED="rsa ecc aes camellia aes128 aes256 aes128cfb aes256ctr
aes128ofb aes128cbc aes128ecb ecc192 ecc224 ecc256 ecc384 ecc521 ecc_sm2
ecc_nist_p256 rsa1024 rsa2048 rsa3072 rsa2048:rsassa-sha256 rsa2048:rsapss
rsa2048:oaep-sha256 rsa2048:rsaes ecc256:ecdsa-sha256 ecc256:ecdaa4-sha256
ecc256:ecdsa:aes128ctr ecc256:ecdh ecc256:ecschnorr rsa2048:null:aes128cfb
camellia128cfb camellia256"

# Nobody is expected to implement SM4; a TPM refuses an unimplemented
# algorithm with a parameter error, which the tool reports as exit 5.
EXPECTED_UNSUPPORTED="sm4 sm4128"

# Every specifier the man page lists (simple and complex), each tried once;
# results other than the assertions above are only recorded.
ALL_SPECS="rsa ecc aes camellia sm4 sha1 sha256 sha384 sha512 sm3_256
sha3_256 sha3_384 sha3_512 hmac xor keyedhash rsassa rsapss ecdsa ecdaa
ecschnorr sm2 oaep rsaes ecdh ctr ofb cbc cfb ecb null aes128 aes192 aes256
aes128ctr aes128ofb aes128cbc aes128cfb aes128ecb aes192cfb aes256cfb
aes256ctr sm4128 sm4_128cfb ecc192 ecc224 ecc256 ecc384 ecc521 ecc_sm2
ecc_nist_p192 ecc_nist_p224 ecc_nist_p256 ecc_nist_p384 ecc_nist_p521
ecc_sm2_p256 rsa1024 rsa2048 rsa3072 rsa4096 rsa2048:rsassa rsa2048:rsapss
rsa2048:rsassa-sha256 rsa2048:rsapss-sha384 rsa2048:oaep rsa2048:oaep-sha256
rsa2048:rsaes rsa2048:null rsa2048:null:aes128cfb rsa3072:rsassa-sha384
ecc256:ecdsa ecc256:ecdsa-sha256 ecc384:ecdsa-sha384 ecc256:ecdaa
ecc256:ecdaa4-sha256 ecc256:ecschnorr ecc256:sm2 ecc256:ecdh
ecc256:ecdh-sha256 ecc256:ecdsa:aes128ctr ecc256:null:aes256cfb camellia128cfb
camellia256 hmac:sha1 hmac:sha256 hmac:sha384 hmac:sha512 xor:sha1 xor:sha256
xor:sha384 xor:sha512"

vt_server_start || vt_done

declare -A RC # exit status per spec
declare -A MSG
for s in $ALL_SPECS $EXPECTED_SUPPORTED $EXPECTED_UNSUPPORTED; do
	[ -n "${RC[$s]:-}" ] && continue
	out=$(tpm2_testparms "$s" 2>&1)
	RC[$s]=$?
	MSG[$s]=$(printf '%s' "$out" | grep -v 'Unable to run' | tr '\n' ' ' | cut -c1-120)
done

supported=
unsupported=
toolrej=
other=
for s in $ALL_SPECS; do
	case "${RC[$s]}" in
	0) supported="$supported $s" ;;
	5) unsupported="$unsupported $s" ;;
	1)
		if printf '%s' "${MSG[$s]}" | grep -q 'unsupported by the tool'; then
			toolrej="$toolrej $s"
		else
			other="$other $s(1:${MSG[$s]})"
		fi
		;;
	*) other="$other $s(${RC[$s]}:${MSG[$s]})" ;;
	esac
done
vt_note "TPM accepts:$supported"
vt_note "TPM refuses (exit 5):$unsupported"
vt_note "tool does not send (not a TPMT_PUBLIC_PARMS spec):$toolrej"
[ -n "$other" ] && vt_note "other results:$other"

for s in $EXPECTED_SUPPORTED; do
	if [ "${RC[$s]}" = 0 ]; then
		vt_ok "tpm2_testparms $s"
	else
		vt_not_ok "tpm2_testparms $s" "exit ${RC[$s]}: ${MSG[$s]}"
	fi
done
if [ "$VT_TARGET" = swtpm ]; then
	for s in $SWTPM_ALSO_SUPPORTED; do
		if [ "${RC[$s]:-x}" = 0 ]; then
			vt_ok "tpm2_testparms $s (swtpm)"
		else
			vt_not_ok "tpm2_testparms $s (swtpm)" "exit ${RC[$s]:-not run}: ${MSG[$s]:-}"
		fi
	done
fi
for s in $EXPECTED_UNSUPPORTED; do
	vt_check_eq "tpm2_testparms $s: unsupported (exit 5)" 5 "${RC[$s]}"
done

# whatever the answer, the TPM must have answered: no TCTI error (exit 4), no
# crash, no timeout
died=
for s in $ALL_SPECS; do
	case "${RC[$s]}" in 0 | 1 | 5) ;; *) died="$died $s(${RC[$s]})" ;; esac
done
vt_check_eq "every specifier got an answer (exit 0, 1 or 5)" "" "$died"
vt_check "server still answers after all specifiers" tpm2_getrandom --hex 8

vt_done
