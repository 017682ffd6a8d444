#!/bin/bash
# systemd-cryptenroll against vitrum: Debian's systemd 252 enrols a LUKS2
# image file (made here with cryptsetup luksFormat on a plain file) into
# the TPM with --tpm2-pcrs=7, reaching vitrum through a TCTI string
# (--tpm2-device=mssim:...).  The enrolled token's sealed key is unsealed
# through vitrum with the token's policy (systemd_token.py) and opens the
# keyslot (cryptsetup open --test-passphrase); after PCR 7 changes it no
# longer unseals.  The same with --tpm2-with-pin.
#
# systemd salts its session with the primary key, encrypts parameters and
# seals with PolicyPCR (+ PolicyAuthValue for the PIN): all of it goes
# through vitrum.  Runs against swtpm too (VT_TARGET=swtpm).
VT_SCRIPT_TIMEOUT=${VT_SCRIPT_TIMEOUT:-300}
. "$(dirname "$0")/lib.sh"

for tool in systemd-cryptenroll cryptsetup; do
	if ! command -v "$tool" >/dev/null; then
		vt_skip "systemd-cryptenroll enrolment" "$tool not installed (scripts/bootstrap.sh test installs it)"
		vt_done
	fi
done

vt_server_start || vt_done
T=$VT_TMP
cd "$T" || vt_done
set_dev() { # the TCTI string systemd gets (again after a restart: the port may change)
	case "$VT_TARGET" in
	vitrum) DEV="mssim:host=127.0.0.1,port=$VT_PORT" ;;
	swtpm) DEV="swtpm:host=127.0.0.1,port=$VT_PORT" ;;
	esac
}
set_dev
# No terminal: systemd must never wait on an agent or a prompt.
export SYSTEMD_ASK_PASSWORD_AGENT=0 SYSTEMD_LOG_LEVEL=${SYSTEMD_LOG_LEVEL:-info}

# A LUKS2 container in a plain file; the pbkdf is made cheap on purpose
# (the test measures the TPM path, not Argon2).
img=luks.img
truncate -s 20M "$img"
printf 'recovery-passphrase' >pass.txt
vt_check "cryptsetup luksFormat a 20 MiB image file" \
	cryptsetup luksFormat --batch-mode --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
	--key-file pass.txt "$img"

enrol() { # enrol [extra cryptenroll args]
	PASSWORD=recovery-passphrase timeout 120 systemd-cryptenroll --tpm2-device="$DEV" \
		--tpm2-pcrs=7 "$@" "$img"
}
# Open the image with the key the token seals.  systemd's own token plugin
# (cryptsetup --token-only) refuses to run without a kernel TPM device, so
# systemd_token.py does what it does through tpm2-tools: primary, load,
# PolicyPCR (+ PolicyAuthValue with the PIN), unseal, base64.
token_open() { # token_open [pin]
	rm -f key.txt
	python3 "$VT_LIB_DIR/systemd_token.py" "$img" key.txt "$@" &&
		cryptsetup open --test-passphrase --key-file key.txt "$img"
}
tokens() { cryptsetup luksDump --dump-json-metadata "$img" 2>/dev/null |
	python3 -c 'import json,sys; t=json.load(sys.stdin)["tokens"]; print(sum(1 for v in t.values() if v["type"]=="systemd-tpm2"))'; }

vt_check "systemd-cryptenroll --tpm2-device=$DEV --tpm2-pcrs=7" enrol
vt_check_eq "one systemd-tpm2 token in the LUKS2 header" 1 "$(tokens)"
vt_check "the token's sealed key opens the keyslot (cryptsetup open --test-passphrase)" token_open
vt_check "the recovery passphrase still opens it" \
	cryptsetup open --test-passphrase --key-file pass.txt "$img"
vt_check "PCR 7 changes (tpm2_pcrextend)" tpm2_pcrextend "7:sha256=$(printf '%064d' 7)"
vt_check_fails "after PCR 7 changed the token no longer unseals" token_open
# A TPM Reset puts PCR 7 back: the token unseals again.
vt_server_restart || vt_done
set_dev
vt_check "after a restart (PCR 7 back to its boot value) it unseals again" token_open

# ---- with a PIN: PolicyPCR + PolicyAuthValue
enrol_pin() { NEWPIN=4711 enrol --wipe-slot=tpm2 --tpm2-with-pin=yes; }
vt_check "systemd-cryptenroll --wipe-slot=tpm2 --tpm2-with-pin=yes (NEWPIN from the environment)" enrol_pin
vt_check_eq "still one systemd-tpm2 token" 1 "$(tokens)"
vt_check "the PIN token opens the keyslot with the right PIN" token_open 4711
vt_check_fails "a wrong PIN does not" token_open 1234
vt_check "PCR 7 changes" tpm2_pcrextend "7:sha256=$(printf '%064d' 7)"
vt_check_fails "the right PIN after PCR 7 changed does not" token_open 4711
vt_done
