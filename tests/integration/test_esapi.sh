#!/bin/bash
# tpm2-pytss (ESAPI) against the server: salted AES-CFB and XOR sessions on
# CreatePrimary/Create/Load/Sign/Hash/Unseal, session and command audit with
# the digests recomputed and the attestations verified (test_esapi.py).
# Needs Debian's python3-tpm2-pytss; runs against swtpm too.
. "$(dirname "$0")/lib.sh"

if ! "$VT_PYTHON" -c 'import tpm2_pytss, cryptography' 2>/dev/null; then
	vt_skip "tpm2-pytss" "python3-tpm2-pytss is not installed"
	vt_done
fi
vt_server_start || vt_done
# each "ok"/"not ok" line of the script becomes one of ours
while IFS= read -r line; do
	case "$line" in
	"ok "*) vt_ok "${line#ok * - }" ;;
	"not ok "*) vt_not_ok "${line#not ok * - }" ;;
	"#"*) echo "$line" ;;
	esac
done < <(timeout -k 2 120 "$VT_PYTHON" "$VT_LIB_DIR/test_esapi.py" "$TPM2TOOLS_TCTI" 2>&1)
vt_done
