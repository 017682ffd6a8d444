#!/bin/bash
# State at rest: a TPM started with --key keeps its state sealed (AES-256-GCM);
# every refusal (no key, wrong key, key for a plain state, modified,
# truncated, foreign or replayed slots) is one clear line, a non-zero exit,
# and leaves the files byte for byte as they were; `vitrum state
# check/export/import` round-trip a TPM with its clock and PCR allocation.
. "$(dirname "$0")/lib.sh"

if [ "$VT_TARGET" != vitrum ]; then
	vt_skip "state at rest" "vitrum only"
	vt_done
fi
vt__mktmp
K=$VT_TMP/key.raw
WRONG=$VT_TMP/key.hex
EK=$VT_TMP/export.pass
head -c 32 /dev/urandom >"$K"
openssl rand -hex 32 >"$WRONG"
echo "an export passphrase" >"$EK"
ORIG_STATE=$VT_STATE

declare -A CLK
readclock() {
	local k v
	CLK=()
	while read -r k v; do CLK[${k%:}]=$v; done < <(tpm2_readclock 2>/dev/null)
}
sums() { (cd "$1" && sha256sum state.0 state.1 kdf 2>/dev/null); }
vstate() { "$VITRUM_BIN" state "$@"; }

# A start that must be refused: vt_refused NAME REGEX DIR serve-args...
vt_refused() {
	local name=$1 re=$2 dir=$3 before after out rc port
	shift 3
	before=$(sums "$dir")
	port=$(vt__free_port) || port=23000
	# shellcheck disable=SC2086
	out=$(timeout -k 2 20 "$VITRUM_BIN" serve --state "$dir" --port "$port" --listen 127.0.0.1 \
		${VITRUM_ARGS:-} "$@" 2>&1 </dev/null)
	rc=$?
	after=$(sums "$dir")
	if [ $rc -eq 0 ] || [ $rc -ge 124 ]; then
		vt_not_ok "$name: start refused" "exit $rc: $out"
	elif [ "$(printf '%s\n' "$out" | wc -l)" -ne 1 ] || ! printf '%s' "$out" | grep -qE "$re"; then
		vt_not_ok "$name: one line saying /$re/" "got: $out"
	else
		vt_ok "$name: refused ($out)"
	fi
	vt_check_eq "$name: files unchanged" "$before" "$after"
}
flip() { # flip FILE OFFSET
	local b
	b=$(dd if="$1" bs=1 skip="$2" count=1 2>/dev/null | xxd -p)
	printf '%02x' $((0x$b ^ 0x10)) | xxd -r -p | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
restore() { rm -rf "$VT_STATE" && cp -a "$VT_TMP/good" "$VT_STATE"; }

# ------------------------------------------------ a sealed TPM in use
vt_server_start --key "$K" || vt_done
vt_check "tpm2_pcrallocate sha256+sha384 (persistent)" tpm2_pcrallocate sha256:all+sha384:all
readclock
target=$((${CLK[clock]:-0} + 86400000))
vt_check "tpm2_setclock one day ahead (persistent)" tpm2_setclock "$target"
vt_server_stop
cp -a "$VT_STATE" "$VT_TMP/first" # an older pair, for the replay case
vt_server_start --key "$K" || vt_done
vt_check "serves after a restart with the key" tpm2_getrandom --hex 8
readclock
clock1=${CLK[clock]:-0}
vt_server_stop
vt_check_eq "server exits 0 after SIGTERM" 0 "$VT_SERVER_STATUS"
cp -a "$VT_STATE" "$VT_TMP/good"
vt_check_true "no key or passphrase in the server log" bash -c "! grep -qiF -e '$(xxd -p -c 64 "$K")' -e 'passphrase' '$VT_LOG'"
vt_check_true "slot payloads are not plain engine state (no VTST magic)" bash -c "! grep -q VTST '$VT_STATE/state.0' '$VT_STATE/state.1'"

# ------------------------------------------------ refusals
vt_refused "no --key" "encrypted: give its key with --key" "$VT_STATE"
vt_refused "wrong key" "wrong key" "$VT_STATE" --key "$WRONG"
vt_refused "passphrase for a raw-key state" "sealed with a raw key" "$VT_STATE" --key "$EK"

flip "$VT_STATE/state.0" 30 # the sequence number, in the header
vt_refused "bit flip in a slot header" "state.0 .* modified" "$VT_STATE" --key "$K"
restore
flip "$VT_STATE/state.0" 100
flip "$VT_STATE/state.1" 2000
vt_refused "bit flips in both slots' payloads" "no valid state.*fails authentication" "$VT_STATE" --key "$K"
restore
flip "$VT_STATE/state.0" 9 # the TPM id
vt_refused "bit flip in a TPM id" "different TPMs" "$VT_STATE" --key "$K"
restore

newest=$(vstate check "$VT_STATE" --key "$K" | sed -n 's/^ *state\.\([01]\):.*(newest)$/\1/p')
older=$((1 - ${newest:-1}))
truncate -s 3000 "$VT_STATE/state.$older"
vt_refused "older slot truncated" "state.$older .*truncated" "$VT_STATE" --key "$K"
truncate -s 3000 "$VT_STATE/state.$newest"
vt_refused "both slots truncated" "no valid state.*truncated" "$VT_STATE" --key "$K"
restore
truncate -s 40 "$VT_STATE/state.$older"
vt_refused "slot cut inside its header" "state.$older .*truncated" "$VT_STATE" --key "$K"
restore

# another TPM with the same key: one of its slots copied in
mkdir -p "$VT_TMP/other"
VT_STATE=$VT_TMP/other
vt_server_start --key "$K" || vt_done
vt_server_stop
VT_STATE=$ORIG_STATE
cp "$VT_TMP/other/state.1" "$VT_STATE/state.1"
vt_refused "slot from another TPM" "different TPMs" "$VT_STATE" --key "$K"
restore
cp "$VT_TMP/first/state.$older" "$VT_STATE/state.$older"
vt_refused "older slot replayed" "replay" "$VT_STATE" --key "$K"
restore

# a damaged payload in one slot is what a commit cut short leaves: the
# server goes on from the other slot and says so
flip "$VT_STATE/state.$newest" 3000
vt_server_start --key "$K" || vt_done
vt_check "one damaged payload (an interrupted commit): serves" tpm2_getrandom --hex 8
vt_check_true "... and warns naming state.$newest" grep -q "warning: state.$newest .*interrupted commit" "$VT_LOG"
vt_server_stop
restore

# plain state, and --key given
vstate export "$VT_STATE" "$VT_TMP/sealed.vtex" --key "$K" >/dev/null 2>&1
vstate import "$VT_TMP/sealed.vtex" "$VT_TMP/plain" --export-key "$K" >/dev/null 2>&1
vt_refused "--key for a plain state" "not encrypted, but a key was given" "$VT_TMP/plain" --key "$K"
vt_check_eq "state unchanged by all the refused starts" "$(sums "$VT_TMP/good")" "$(sums "$VT_STATE")"

# ------------------------------------------------ check / export / import
vt_check "state check with the key" vstate check "$VT_STATE" --key "$K"
out=$(vt_last_output)
id=$(printf '%s\n' "$out" | sed -n 's/^ *TPM id \([0-9a-f]*\)$/\1/p')
vt_check_true "check names TPM id, encryption, sequences, clock" \
	bash -c "printf '%s' '$out' | grep -q 'encrypted: AES-256-GCM' && printf '%s' '$out' | grep -q 'sequence' && printf '%s' '$out' | grep -q 'clock' && [ -n '$id' ]"
vt_check_fails "state check without the key fails" vstate check "$VT_STATE"
vt_check_eq "state check changed nothing" "$(sums "$VT_TMP/good")" "$(sums "$VT_STATE")"

vt_check "export with an export passphrase" vstate export "$VT_STATE" "$VT_TMP/tpm.vtex" --key "$K" --export-key "$EK"
vt_check_fails "import with a wrong export key is refused" \
	vstate import "$VT_TMP/tpm.vtex" "$VT_TMP/bad" --export-key "$WRONG"
vt_check_true "... saying so" grep -q "raw key\|wrong key" "$VT_TMP/last.out"
echo "another passphrase" >"$VT_TMP/other.pass"
vt_check_fails "import with a wrong export passphrase is refused" \
	vstate import "$VT_TMP/tpm.vtex" "$VT_TMP/bad" --export-key "$VT_TMP/other.pass"
vt_check_true "... as a wrong key" grep -q "wrong key" "$VT_TMP/last.out"
cp "$VT_TMP/tpm.vtex" "$VT_TMP/flipped.vtex"
flip "$VT_TMP/flipped.vtex" 200
vt_check_fails "import of a modified export is refused" \
	vstate import "$VT_TMP/flipped.vtex" "$VT_TMP/bad" --export-key "$EK"
vt_check_fails "import into a non-empty directory is refused" \
	vstate import "$VT_TMP/tpm.vtex" "$VT_STATE" --export-key "$EK" --key "$K"
NEW=$VT_TMP/imported
vt_check "import with a new state key" vstate import "$VT_TMP/tpm.vtex" "$NEW" --export-key "$EK" --key "$WRONG"
vt_check "check of the imported state" vstate check "$NEW" --key "$WRONG"
vt_check_true "imported TPM keeps its id" grep -q "TPM id $id" "$VT_TMP/last.out"

VT_STATE=$NEW
vt_server_start --key "$WRONG" || vt_done
readclock
vt_check_true "imported TPM: clock kept (${clock1} <= ${CLK[clock]:-0})" [ "$clock1" -le "${CLK[clock]:-0}" ]
vt_check_true "imported TPM: clock beyond the value set ($target)" [ "$target" -le "${CLK[clock]:-0}" ]
vt_check_true "imported TPM: sha384 bank allocated" bash -c "tpm2_getcap pcrs | grep -A1 sha384 | grep -q '\[ *0'"
vt_check "imported TPM serves" tpm2_getrandom --hex 8
vt_server_stop

vt_done
