#!/bin/bash
# `vitrum verify IMAGE --bundle B --pcr N --eventlog FILE` (docs/TRANSPARENCY.md,
# "Host image verification"): the TPM's engine verifies a logged, witnessed
# release for IMAGE's digest; only then is IMAGE measured into PCR N in
# every active bank and an EV_IPL event appended to a TCG PC Client
# crypto-agile event log.  tpm2_eventlog parses the log; its replay, and an
# independent replay with openssl, equal tpm2_pcrread.  Refused images
# (tampered, unlogged, unenrolled key, malformed bundle) change no PCR and
# append nothing.
. "$(dirname "$0")/lib.sh"

if [ "$VT_TARGET" != vitrum ]; then
	vt_skip "vitrum verify" "needs vitrum's vendor commands"
	vt_done
fi
vt__mktmp
vt_server_start || vt_done
cd "$VT_TMP" || exit 2
V=$VITRUM_BIN
PCR=9

# refused NAME REGEX cmd...: cmd fails (exit 1) and its stderr matches REGEX
refused() {
	local name=$1 re=$2 out rc
	shift 2
	out=$("$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -eq 1 ] && grep -Eq "$re" <<<"$out"; then
		vt_ok "$name"
	else
		vt_not_ok "$name" "exit $rc, wanted 1 and a refusal matching /$re/: $out"
	fi
}

# the active banks of PCR $PCR, as tpm2_pcrread names them
banks() {
	tpm2_getcap pcrs | awk -v p=$PCR '/^ *- *[a-z0-9]+ *:/ { b = $2; sub(/:$/, "", b); l = $0; sub(/^[^[]*\[/, "", l); sub(/\].*$/, "", l); n = split(l, a, / *, */); for (i = 1; i <= n; i++) if (a[i] + 0 == p) { print b; break } }'
}
# all of PCR $PCR's values, "bank=hex" a line
pcr_values() {
	local b
	for b in $(banks); do echo "$b=$(vt_pcr "$b" $PCR)"; done
}
# replay the log with openssl: every EV_IPL event of PCR $PCR from zeros,
# per bank; prints "bank=hex" lines
replay() {
	tpm2_eventlog "$1" | awk -v p=$PCR '
		/PCRIndex:/ { pcr = $2 }
		/AlgorithmId:/ { alg = $3 }
		/^ *Digest: "/ && alg != "" { d = $2; gsub(/"/, "", d); if (pcr == p) print alg, d; alg = "" }' >"$VT_TMP/digests"
	local b z v d alg
	for b in $(banks); do
		z=$(vt_dgst "$b" /dev/null | sed 's/./0/g')
		v=$z
		while read -r alg d; do
			[ "$alg" = "$b" ] || continue
			v=$(vt_extend "$b" "$v" "$d")
		done <"$VT_TMP/digests"
		echo "$b=$v"
	done
}

# ---- keys, a logged and witnessed release of an image ----
"$V" release keygen rel.example/fw --out keys >/dev/null &&
	"$V" release keygen other --out other >/dev/null &&
	"$V" log init L --origin log.example/fw >/dev/null &&
	"$V" witness init W --name witness.example/w1 >/dev/null
vt_check_true "keys made (release, log, witness)" test -s keys/rel.example_fw.pub -a -s L/log.pub -a -s W/witness.pub
RK=keys/rel.example_fw.key
RP=keys/rel.example_fw.pub
head -c 70000 /dev/urandom >image.bin
head -c 1000 /dev/urandom >image2.bin
# sign_log IMAGE VERSION SVN OUT [KEY]: sign, add to the log, checkpoint,
# witness-cosign (with a consistency proof from the last size), prove
OLD=0
sign_log() {
	local key=${5:-$RK} new
	"$V" release sign "$1" --name fwimage --version "$2" --svn "$3" --key "$key" --out "$4.raw" >/dev/null || return 1
	"$V" log add L "$4.raw" >/dev/null || return 1
	"$V" log checkpoint L >cp.new || return 1
	new=$(sed -n 2p cp.new)
	if [ "$OLD" -gt 0 ]; then
		"$V" log prove L --consistency "$OLD" "$new" >cons || return 1
		"$V" witness cosign W --log-key L/log.pub cp.new --proof cons --out cp.cosigned >/dev/null || return 1
	else
		"$V" witness cosign W --log-key L/log.pub cp.new --out cp.cosigned >/dev/null || return 1
	fi
	OLD=$new
	cp cp.cosigned L/checkpoint
	"$V" log prove L --bundle "$4.raw" --out "$4" >/dev/null
}
vt_check "release 1 signed, logged, cosigned, proved" sign_log image.bin 2.1.0 3 rel1.bundle
vt_check "release 2 signed, logged, cosigned, proved" sign_log image2.bin 2.2.0 4 rel2.bundle
"$V" release sign image.bin --name fwimage --version 2.1.0 --svn 3 --key other/other.key --out foreign.bundle >/dev/null

# ---- the owner enrols the keys: release, log, one witness of quorum 1 ----
vt_check "owner enrols the release key" "$V" owner add --release "$RP"
vt_check "owner enrols the log key" "$V" owner add --log L/log.pub
vt_check "owner enrols the witness key" "$V" owner add --witness W/witness.pub
vt_check "owner policy: log + 1 witness" "$V" owner policy --log yes --witnesses 1

before=$(pcr_values)
vt_check_true "PCR $PCR is allocated in at least one bank" [ -n "$before" ]

# ---- refusals: no extend, no log entry ----
cp image.bin tampered.bin
printf 'X' | dd of=tampered.bin bs=1 seek=1000 conv=notrunc 2>/dev/null
refused "a tampered image is refused" "refused: .*SHA-256" "$V" verify tampered.bin --bundle rel1.bundle --pcr $PCR --eventlog ev.log
refused "an image with another release's bundle is refused" "refused: .*SHA-256" "$V" verify image2.bin --bundle rel1.bundle --pcr $PCR --eventlog ev.log
refused "an unlogged bundle is refused (policy: log)" "refused: .*(log|checkpoint)" "$V" verify image.bin --bundle rel1.bundle.raw --pcr $PCR --eventlog ev.log
refused "a bundle signed by an unenrolled key is refused" "refused: .*enrolled release key" "$V" verify image.bin --bundle foreign.bundle --pcr $PCR --eventlog ev.log
head -c 200 rel1.bundle >trunc.bundle
refused "a truncated bundle is refused" "refused: malformed or truncated" "$V" verify image.bin --bundle trunc.bundle --pcr $PCR --eventlog ev.log
vt_check_eq "refusals changed no PCR" "$before" "$(pcr_values)"
vt_check_true "refusals created no event log" [ ! -e ev.log ]
vt_check_rc_usage() { "$@" >/dev/null 2>&1; [ $? -eq 2 ]; }
vt_check "--pcr 17 (D-RTM) is a usage error" vt_check_rc_usage "$V" verify image.bin --bundle rel1.bundle --pcr 17
vt_check "no --bundle is a usage error" vt_check_rc_usage "$V" verify image.bin

# ---- verified: extended and logged ----
vt_check "vitrum verify image.bin (release 1)" "$V" verify image.bin --bundle rel1.bundle --pcr $PCR --eventlog ev.log
vt_check_true "it says what it verified" grep -q "verified fwimage 2.1.0 svn 3" "$VT_LAST_OUT"
vt_check "tpm2_eventlog parses the log" tpm2_eventlog ev.log
cp "$VT_LAST_OUT" ev.yaml
vt_check_true "first event: Spec ID Event03 header" grep -q "Signature: Spec ID Event03" ev.yaml
vt_check_true "the event is EV_IPL on PCR $PCR" grep -q "EventType: EV_IPL" ev.yaml
vt_check_true "the event names the release" grep -q "name=fwimage version=2.1.0 svn=3 log-index=0" ev.yaml
vt_check_true "the sha256 digest is the image's (openssl)" grep -q "\"$(vt_dgst sha256 image.bin)\"" ev.yaml
for b in $(banks); do
	vt_check_true "the $b digest in the event is the image's (openssl)" grep -q "\"$(vt_dgst "$b" image.bin)\"" ev.yaml
	vt_check_eq "PCR $PCR ($b) = H(0 || H(image)) by openssl" \
		"$(vt_extend "$b" "$(vt_dgst "$b" /dev/null | sed 's/./0/g')" "$(vt_dgst "$b" image.bin)")" "$(vt_pcr "$b" $PCR)"
done
vt_check_eq "openssl replay of the event log = tpm2_pcrread" "$(pcr_values)" "$(replay ev.log)"

# a second image appends to the same log
vt_check "vitrum verify image2.bin (release 2) appends" "$V" verify image2.bin --bundle rel2.bundle --pcr $PCR --eventlog ev.log
tpm2_eventlog ev.log >ev2.yaml
vt_check_eq "the log has the header and two events" 3 "$(grep -c 'EventNum:' ev2.yaml)"
vt_check_eq "openssl replay of both events = tpm2_pcrread" "$(pcr_values)" "$(replay ev.log)"
# tpm2_eventlog's own replay (its pcrs: section)
tool_replay=$(awk '/^pcrs:/ { on = 1; next } on && /^  [a-z0-9]+:/ { b = $1; sub(/:$/, "", b) } on && /^    [0-9]+ *:/ { i = $1; v = $3; if (i + 0 == '$PCR') print b "=" tolower(substr(v, 3)) }' ev2.yaml | sort)
vt_check_eq "tpm2_eventlog's replay = tpm2_pcrread" "$(pcr_values | sort)" "$tool_replay"

# refusals after: the log and the PCRs stay as they are
cp ev.log ev.before
before=$(pcr_values)
refused "a tampered image is refused (log exists)" "refused" "$V" verify tampered.bin --bundle rel1.bundle --pcr $PCR --eventlog ev.log
vt_check "a refusal appends nothing" cmp ev.log ev.before
vt_check_eq "a refusal changes no PCR" "$before" "$(pcr_values)"
# a file that is not an event log is not appended to, and nothing is extended
echo "not a log" >notalog
refused "a file that is not an event log is refused" "not a TCG event log" "$V" verify image.bin --bundle rel1.bundle --pcr $PCR --eventlog notalog
vt_check_eq "... and no PCR changed" "$before" "$(pcr_values)"
vt_check_eq "... and it is left as it was" "not a log" "$(cat notalog)"
# an event cut short by a crash (never acknowledged) is dropped at the next
# append; the log stays parseable
head -c $(($(stat -c %s ev.log) - 20)) ev.log >cut.log
vt_check "verify appends to a log whose last event was cut short" "$V" verify image.bin --bundle rel1.bundle --pcr $PCR --eventlog cut.log
vt_check "tpm2_eventlog parses the repaired log" tpm2_eventlog cut.log
vt_check_eq "the cut event is gone, the new one is there" 3 "$(grep -c 'EventNum:' "$VT_LAST_OUT")"

# without --eventlog: extend only
before=$(pcr_values)
vt_check "vitrum verify without --eventlog" "$V" verify image.bin --bundle rel1.bundle --pcr $PCR
vt_check_true "... extends PCR $PCR" [ "$before" != "$(pcr_values)" ]

# no TPM answering: one line, exit 1
refused "no TPM at the TCTI: one-line error" "cannot reach|TCTI|connect" "$V" verify image.bin --bundle rel1.bundle --tcti mssim:host=127.0.0.1,port=1

vt_done
