#!/bin/bash
# tpm2-tss FAPI (Debian's libtss2-fapi1 through the tss2_* tools) against
# the server: Fapi_Provision with the ECC and the RSA profile, then create a
# signing key, sign, verify the signature with OpenSSL (and with
# tss2_verifysignature), seal and unseal, and a seal bound to a PCR
# policy that stops unsealing when the PCR moves.  FAPI always talks through salted HMAC sessions with
# parameter encryption, so this is the high-level path end to end.
# Runs against swtpm too (VT_TARGET=swtpm).
VT_SCRIPT_TIMEOUT=${VT_SCRIPT_TIMEOUT:-300}
. "$(dirname "$0")/lib.sh"

if ! command -v tss2_provision >/dev/null; then
	vt_skip "FAPI provisioning" "tss2_provision not installed (tpm2-tools)"
	vt_done
fi

vt_server_start || vt_done
T=$VT_TMP
cd "$T" || vt_done

# One FAPI configuration per profile, with its own key stores under $T.
# The EK certificate is not checked (ek_cert_less): the test CA that signs
# vitrum's EK certificates is not in FAPI's list of vendor roots.
fapi_conf() { # PROFILE
	mkdir -p "$T/$1/user" "$T/$1/system" "$T/$1/log"
	cat >"$T/$1.json" <<EOF
{
  "profile_name": "$1",
  "profile_dir": "/etc/tpm2-tss/fapi-profiles/",
  "user_dir": "$T/$1/user",
  "system_dir": "$T/$1/system",
  "tcti": "$TPM2TOOLS_TCTI",
  "system_pcrs": [],
  "log_dir": "$T/$1/log",
  "ek_cert_less": "yes"
}
EOF
}

printf 'sealed by FAPI through vitrum' >secret.txt
openssl dgst -sha256 -binary secret.txt >digest.bin

for profile in P_ECCP256SHA256 P_RSA2048SHA256; do
	fapi_conf "$profile"
	export TSS2_FAPICONF=$T/$profile.json
	vt_check "$profile: tss2_provision" tss2_provision
	vt_check "$profile: tss2_createkey sign key" \
		tss2_createkey --path=HS/SRK/signkey --type=sign --authValue=""
	vt_check "$profile: tss2_sign" \
		tss2_sign --keyPath=HS/SRK/signkey --digest=digest.bin --signature="$profile.sig" \
		--publicKey="$profile.pem" --force
	# The RSA profile signs with RSASSA-PSS, the ECC one with ECDSA.
	sigopt=()
	case $profile in P_RSA*) sigopt=(-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:-2) ;; esac
	vt_check "$profile: OpenSSL verifies the signature with the exported public key" \
		openssl dgst -sha256 "${sigopt[@]}" -verify "$profile.pem" -signature "$profile.sig" secret.txt
	vt_check "$profile: tss2_verifysignature" \
		tss2_verifysignature --keyPath=HS/SRK/signkey --digest=digest.bin --signature="$profile.sig"
	printf 'x' | cat - secret.txt >other.txt
	openssl dgst -sha256 -binary other.txt >other.bin
	vt_check_fails "$profile: tss2_verifysignature refuses another digest" \
		tss2_verifysignature --keyPath=HS/SRK/signkey --digest=other.bin --signature="$profile.sig"

	vt_check "$profile: tss2_createseal" \
		tss2_createseal --path=HS/SRK/seal --type=noDa --data=secret.txt --authValue=""
	vt_check "$profile: tss2_unseal" tss2_unseal --path=HS/SRK/seal --data="$profile.out" --force
	vt_check_eq "$profile: the unsealed data is the sealed data" \
		"$(xxd -p secret.txt)" "$(xxd -p "$profile.out" 2>/dev/null)"

	# A seal bound to PCR 7's current value by a FAPI policy (PolicyPCR).
	pcr7=$(tpm2_pcrread sha256:7 -o pcr7.bin >/dev/null && xxd -p -c 64 pcr7.bin)
	cat >pcr7.json <<EOF
{ "description": "PCR 7 as it is now",
  "policy": [ { "type": "POLICYPCR",
                "pcrs": [ { "pcr": 7, "hashAlg": "TPM2_ALG_SHA256", "digest": "$pcr7" } ] } ] }
EOF
	vt_check "$profile: tss2_import a PolicyPCR policy" \
		tss2_import --path=/policy/pcr7 --importData=pcr7.json
	vt_check "$profile: tss2_createseal bound to the PCR policy" \
		tss2_createseal --path=HS/SRK/pcrseal --policyPath=/policy/pcr7 --type=noDa --data=secret.txt --authValue=""
	vt_check "$profile: tss2_unseal through the policy" \
		tss2_unseal --path=HS/SRK/pcrseal --data="$profile.pcr.out" --force
	vt_check_eq "$profile: the policy-unsealed data is the sealed data" \
		"$(xxd -p secret.txt)" "$(xxd -p "$profile.pcr.out" 2>/dev/null)"
	vt_check "$profile: PCR 7 changes" tpm2_pcrextend "7:sha256=$(printf '%064d' 7)"
	vt_check_fails "$profile: tss2_unseal fails after PCR 7 changed" \
		tss2_unseal --path=HS/SRK/pcrseal --data="$profile.pcr2.out" --force

	vt_check "$profile: tss2_delete the keys" tss2_delete --path=HS/SRK/signkey
	tss2_delete --path=/ >/dev/null 2>&1
done
vt_done
