#!/bin/bash
# Update slots (docs/TRANSPARENCY.md, "Update slots"): a release of vitrum
# (the payload: the vitrum binary under test, identity 9.9.9 SVN 7 from the
# manifest) signed, logged, witness-cosigned and proved; the owner enrols
# the keys; `vitrum update apply` stages it; after a restart the server runs
# the slot (from a sealed memfd) and reports the release: TPM_PT_FIRMWARE_
# VERSION, and a quote (tpm2_checkquote) whose TPMS_ATTEST carries it.  A
# lower SVN is refused; a release whose selftest fails, a tampered next
# slot and a tampered current slot are not run (fallback, logged).
VT_SCRIPT_TIMEOUT=${VT_SCRIPT_TIMEOUT:-300}
. "$(dirname "$0")/lib.sh"

if [ "$VT_TARGET" != vitrum ]; then
	vt_skip "vitrum update" "needs vitrum's vendor commands and launcher"
	vt_done
fi
vt__mktmp
vt_server_start || vt_done
cd "$VT_TMP" || exit 2
V=$VITRUM_BIN

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
# fw_version: "0xHIGH 0xLOW" of TPM_PT_FIRMWARE_VERSION_1/2
fw_version() {
	tpm2_getcap properties-fixed | awk '/TPM2_PT_FIRMWARE_VERSION_[12]:/ { getline; printf "%s ", $2 }' | sed 's/ $//'
}
server_exe() { readlink "/proc/$VT_SERVER_PID/exe"; }
# check_exe NAME REGEX [!]: the server's /proc/PID/exe matches REGEX (or, with
# !, does not); skipped when it cannot be read (the server is not dumpable:
# only root reads it)
check_exe() {
	local exe
	if ! exe=$(server_exe 2>/dev/null) || [ -z "$exe" ]; then
		vt_skip "$1" "/proc/$VT_SERVER_PID/exe is not readable by this user"
	elif [ "${3:-}" = "!" ]; then
		# shellcheck disable=SC2016 # expanded by the inner bash
		vt_check_true "$1 ($exe)" bash -c '! grep -Eq "$1" <<<"$2"' _ "$2" "$exe"
	else
		vt_check_true "$1 ($exe)" grep -Eq "$2" <<<"$exe"
	fi
}
# lines the server logged since mark
log_since() { tail -c +$(($1 + 1)) "$VT_LOG"; }
mark() { stat -c %s "$VT_LOG"; }

# ---- keys, the log, the witness ----
"$V" release keygen rel.example/vitrum --out keys >/dev/null &&
	"$V" log init L --origin log.example/vitrum >/dev/null &&
	"$V" witness init W --name witness.example/w1 >/dev/null
vt_check_true "keys made (release, log, witness)" test -s keys/rel.example_vitrum.pub -a -s L/log.pub -a -s W/witness.pub
RK=keys/rel.example_vitrum.key
OLD=0
# release PAYLOAD VERSION SVN OUT: signed, logged, cosigned, proved
release() {
	local new
	"$V" release sign "$1" --name vitrum --version "$2" --svn "$3" --key "$RK" --out "$4.raw" \
		--build "test_update.sh" >/dev/null || return 1
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
cp "$V" vitrum-new
vt_check "release 9.9.9 svn 7 (payload: the vitrum binary)" release vitrum-new 9.9.9 7 r999.bundle
vt_check "release 9.9.5 svn 5" release vitrum-new 9.9.5 5 r995.bundle
vt_check "release 9.9.10 svn 8" release vitrum-new 9.9.10 8 r9910.bundle
printf '#!/bin/sh\nexit 3\n' >broken
vt_check "release 9.9.11 svn 9 (a build whose selftest fails)" release broken 9.9.11 9 r9911.bundle

vt_check "vitrum selftest passes" "$V" selftest
vt_check "update status with nothing staged" "$V" update status --state "$VT_STATE"
vt_check_true "... says the installed build runs" grep -q "no update staged" "$VT_LAST_OUT"
installed=$(fw_version)
vt_check_true "the installed build reports its compiled-in version ($installed)" [ -n "$installed" ]

# ---- nothing enrolled: refused ----
refused "apply before the owner enrols keys is refused" "refused: .*enrolled release key" \
	"$V" update apply r999.bundle --state "$VT_STATE"
vt_check_true "... and nothing is staged" [ ! -e "$VT_STATE/slots/state" ]

vt_check "owner enrols the release key" "$V" owner add --release keys/rel.example_vitrum.pub
vt_check "owner enrols the log key" "$V" owner add --log L/log.pub
vt_check "owner enrols the witness key" "$V" owner add --witness W/witness.pub
vt_check "owner policy: log + 1 witness" "$V" owner policy --log yes --witnesses 1

refused "an unlogged bundle is refused" "refused: .*(log|checkpoint)" "$V" update apply r999.bundle.raw --state "$VT_STATE"
"$V" release sign vitrum-new --name vitrum --version 9.9.9 --svn 7 --key "$RK" --out det.bundle --detached >/dev/null
refused "a bundle without its payload is refused" "no payload" "$V" update apply det.bundle --state "$VT_STATE"

# ---- apply through the running server, restart, the slot runs ----
vt_check "update apply 9.9.9 (through the server holding the state)" "$V" update apply r999.bundle --state "$VT_STATE"
vt_check_true "it says the server verified it and the slot" grep -q "staged in slot a" "$VT_LAST_OUT"
vt_check "update status" "$V" update status --state "$VT_STATE"
vt_check_true "status: next is slot a, 9.9.9 svn 7, binary matches" grep -Eq "^next +a +vitrum 9.9.9 svn 7.*matches" "$VT_LAST_OUT"
vt_check "the staged binary is the release's payload" cmp "$VT_STATE/slots/a/vitrum" vitrum-new

m=$(mark)
vt_check "server restarts" vt_server_restart
vt_check_true "the launcher logged running slot a" grep -q "running update slot a: vitrum 9.9.9 (svn 7)" <(log_since "$m")
check_exe "the server runs from the sealed copy of slot a" "memfd:vitrum-slot-a"
vt_check_eq "TPM_PT_FIRMWARE_VERSION_1/2 = 9.9.9" "0x90009 0x9" "$(fw_version)"
vt_check "update status" "$V" update status --state "$VT_STATE"
vt_check_true "status: current is slot a" grep -Eq "^current +a +vitrum 9.9.9 svn 7" "$VT_LAST_OUT"

# a quote carries the firmware version
tpm2_createek -c ek.ctx -G rsa -u ek.pub >/dev/null 2>&1
tpm2_createak -C ek.ctx -c ak.ctx -G rsa -g sha256 -s rsassa -u ak.pub -f pem >/dev/null 2>&1
vt_check "tpm2_quote" tpm2_quote -c ak.ctx -l sha256:0,1,2 -q 0badc0de -m quote.msg -s quote.sig -o quote.pcrs -g sha256
vt_check "tpm2_checkquote verifies it" tpm2_checkquote -u ak.pub -m quote.msg -s quote.sig -f quote.pcrs -g sha256 -q 0badc0de
vt_check "tpm2_print -t TPMS_ATTEST" tpm2_print -t TPMS_ATTEST quote.msg
# 0x0009000900000009; tpm2_print 5.4 prints the uint64's bytes in host
# (little-endian) order
vt_check_true "the attest's firmwareVersion is 9.9.9" grep -Eiq "^firmwareVersion: *(0x)?(0009000900000009|0900000009000900)$" "$VT_LAST_OUT"

# ---- a lower SVN than the booted one is refused ----
refused "an update with a lower SVN (5 < 7) is refused" "refused: .*SVN.*floor" "$V" update apply r995.bundle --state "$VT_STATE"
vt_check_true "... and nothing is staged" bash -c "! grep -Eq '^next +[ab]' <('$V' update status --state '$VT_STATE')"

# ---- a build whose selftest fails is not run ----
vt_check "update apply 9.9.11 (selftest fails)" "$V" update apply r9911.bundle --state "$VT_STATE"
vt_check_true "staged in slot b" grep -q "staged in slot b" "$VT_LAST_OUT"
m=$(mark)
vt_check "server restarts" vt_server_restart
vt_check_true "logged: slot b verified but its selftest failed, fallback" grep -Eq "update slot b \(next\) not run: verified, but its selftest .*falling back to slot a" <(log_since "$m")
vt_check_eq "slot a (9.9.9) runs" "0x90009 0x9" "$(fw_version)"

# ---- a tampered next slot is not run; staged with no server (engine in process) ----
vt_server_stop
vt_check "update apply 9.9.10 with no server (the engine in this process)" "$V" update apply r9910.bundle --state "$VT_STATE"
vt_check_true "verified by the engine on the state directory" grep -q "verified by the engine on" "$VT_LAST_OUT"
printf 'X' | dd of="$VT_STATE/slots/b/vitrum" bs=1 seek=4096 conv=notrunc 2>/dev/null
"$V" update status --state "$VT_STATE" >status.out
vt_check_true "status says the binary differs" grep -Eq "^next +b .*DIFFERS" status.out
m=$(mark)
vt_check "server starts" vt_server_start
vt_check_true "logged: slot b refused (digest), fallback" grep -Eq "update slot b \(next\) not run: the engine refused.*SHA-256.*falling back to slot a" <(log_since "$m")
vt_check_eq "slot a (9.9.9) runs" "0x90009 0x9" "$(fw_version)"
check_exe "... from its sealed copy" "memfd:vitrum-slot-a"

# ---- a tampered current slot is not run: the installed build ----
printf 'X' | dd of="$VT_STATE/slots/a/vitrum" bs=1 seek=4096 conv=notrunc 2>/dev/null
m=$(mark)
vt_check "server restarts" vt_server_restart
vt_check_true "logged: slot a refused, fallback to the installed build" grep -Eq "update slot a \(current\) not run: the engine refused.*installed build" <(log_since "$m")
vt_check_eq "the installed build runs (compiled-in version)" "$installed" "$(fw_version)"
check_exe "... not from a slot" "memfd" !
vt_check "the TPM still answers" tpm2_getrandom 8 --hex

# ---- an encrypted state directory, key from the environment: the slot
# process gets the key again across exec ----
vt_server_stop
VT_STATE="$VT_TMP/state-enc"
mkdir -p "$VT_STATE"
export VT_UPD_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
vt_check "server on a new encrypted state (--key env:VT_UPD_KEY)" vt_server_start --key env:VT_UPD_KEY
"$V" owner add --release keys/rel.example_vitrum.pub >/dev/null &&
	"$V" owner add --log L/log.pub >/dev/null && "$V" owner add --witness W/witness.pub >/dev/null &&
	"$V" owner policy --log yes --witnesses 1 >/dev/null
vt_server_stop
refused "apply on an encrypted state without its key" "encrypted" "$V" update apply r999.bundle --state "$VT_STATE"
vt_check "apply on an encrypted state with --key env:VT_UPD_KEY (in-process engine)" \
	"$V" update apply r999.bundle --state "$VT_STATE" --key env:VT_UPD_KEY
m=$(mark)
vt_check "server starts with --key env:VT_UPD_KEY" vt_server_start --key env:VT_UPD_KEY
vt_check_true "the launcher ran slot a" grep -q "running update slot a: vitrum 9.9.9" <(log_since "$m")
vt_check_eq "the slot process opened the encrypted state: 9.9.9" "0x90009 0x9" "$(fw_version)"
printf 'X' | dd of="$VT_STATE/slots/a/vitrum" bs=1 seek=4096 conv=notrunc 2>/dev/null
m=$(mark)
vt_check "server restarts with a tampered slot (--key env:VT_UPD_KEY)" vt_server_restart --key env:VT_UPD_KEY
vt_check_true "logged: slot a refused, fallback" grep -q "update slot a (current) not run" <(log_since "$m")
vt_check_eq "the installed build opened the encrypted state with the key" "$installed" "$(fw_version)"

vt_done
