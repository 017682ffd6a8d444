#!/bin/bash
# QEMU end-to-end: a guest (qemu-system-x86_64, TCG, SeaBIOS, a Debian cloud
# kernel from apt-get download, the busybox initramfs of tests/qemu/) boots
# with a vTPM served over the swtpm socket protocol and checks it from the
# inside: /dev/tpm0 and /dev/tpmrm0, TPM version 2, the SHA-256 PCRs 0-7 and
# the firmware event log, tpm2-tools persisting a key.
#
#   1. reference boot with swtpm on a fresh state dir (never cached: the
#      PCRs are compared with those of this very run), in the background
#      beside boot 1
#   2. boot 1 with the server under test (VT_QEMU_TPM: vitrum, the default,
#      "vitrum swtpm socket ...", or swtpm) on a fresh state dir: PCRs 0-7
#      equal the reference; the event log replays to them
#      (tests/qemu/eventlog.py); a key is created and made persistent at
#      0x81000001; the server exits by itself when QEMU does (--terminate)
#   3. the server and the VM start again on the same state dir: same PCRs,
#      the persistent key is still there with the same name and signs; the
#      guest then reboots inside the same QEMU run (QEMU sends STOP,
#      SET_BUFFERSIZE, INIT again): same PCRs again, both keys there
#   In boots 1 and 2 the guest kernel must log no TPM error (its resource
#   manager behind /dev/tpmrm0 relies on exact response codes).
#
# Environment: VT_QEMU_TPM (vitrum | swtpm), VITRUM_BIN, VT_QEMU_CACHE
# (downloads and initramfs, default ~/.cache/vitrum-qemu), VT_QEMU_TIMEOUT
# (seconds per boot), VT_KEEP=1 (keep the logs), VT_QEMU_ASAN=1 (run under
# the ASan pass of tests/run.sh too, which it otherwise skips).
VT_SCRIPT_TIMEOUT=${VT_SCRIPT_TIMEOUT:-300}
. "$(dirname "$0")/lib.sh"
. "$VT_ROOT/tests/qemu/lib.sh"

SUBJECT=${VT_QEMU_TPM:-vitrum}
HANDLE=0x81000001
T0=$SECONDS

skip_all() { # skip_all REASON
	vt_skip "QEMU end-to-end vTPM test ($SUBJECT)" "$1"
	vt_done
}

case "$SUBJECT" in
vitrum | swtpm) ;;
*)
	echo "Bail out! VT_QEMU_TPM must be vitrum or swtpm, not '$SUBJECT'"
	exit 2
	;;
esac

# The ASan pass of tests/run.sh (VT_ASAN_BUILD set, VITRUM_BIN inside it):
# three TCG boots are slow and exercise QEMU more than vitrum.
if [ -n "${VT_ASAN_BUILD:-}" ] && [ "${VT_QEMU_ASAN:-0}" != 1 ]; then
	asan_dir=$(cd "$VT_ASAN_BUILD" 2>/dev/null && pwd)
	case "$VITRUM_BIN" in
	"$asan_dir"/* | "$VT_ASAN_BUILD"/*)
		skip_all "ASan build: three TCG boots are too slow for the sanitizer pass (VT_QEMU_ASAN=1 runs it)"
		;;
	esac
fi

command -v "$VQ_QEMU" >/dev/null || skip_all "no $VQ_QEMU (scripts/bootstrap.sh test installs qemu-system-x86)"
command -v swtpm >/dev/null || skip_all "no swtpm for the reference boot"
[ -e /usr/share/seabios/bios-256k.bin ] || [ -e /usr/share/qemu/bios-256k.bin ] ||
	skip_all "no SeaBIOS (apt-get install seabios)"
[ -x /bin/busybox ] || skip_all "no /bin/busybox (apt-get install busybox-static)"
command -v tpm2 >/dev/null || skip_all "no tpm2-tools to put in the guest"

if [ "$SUBJECT" = vitrum ]; then
	if [ ! -x "$VITRUM_BIN" ]; then
		vt_not_ok "vitrum binary" "$VITRUM_BIN not found (build it or set VITRUM_BIN)"
		vt_done
	fi
	# The swtpm mode is the drop-in the test is for; until vitrum has it
	# there is nothing to test (VT_QEMU_TPM=swtpm runs the guest side).
	if ! "$VITRUM_BIN" swtpm socket --help >/dev/null 2>&1 &&
		! "$VITRUM_BIN" swtpm --help >/dev/null 2>&1; then
		skip_all "$VITRUM_BIN has no 'swtpm socket' mode yet (issue #7); VT_QEMU_TPM=swtpm runs the test against swtpm"
	fi
fi

VT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/vitrum-qemu.XXXXXX") || {
	echo "Bail out! cannot create a temporary directory"
	exit 2
}
on_exit() {
	local f
	vq_cleanup
	# a boot_run in the background (the reference) may still be running
	for f in "$VT_TMP"/*/qemu.pid "$VT_TMP"/*/tpm.pid; do
		[ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null
	done
	if [ "$VT_FAILED" -ne 0 ] && [ -n "$VT_TMP" ] && [ "${VT_KEEP:-0}" != 1 ]; then
		VT_KEEP=1 # keep the logs of a failed run
	fi
	vt_cleanup
}
trap on_exit EXIT

if ! vq_kernel; then
	skip_all "no guest kernel: $VQ_WHY"
fi
vt_note "kernel $VQ_KERNEL"
t=$SECONDS
if ! vq_initramfs "$VT_TMP"; then
	vt_not_ok "build the initramfs" "$VQ_WHY"
	vt_done
fi
vt_note "initramfs $VQ_INITRD ($((SECONDS - t)) s)"

# ---------------------------------------------------------------- helpers

boot_run() { # boot_run KIND STATE NAME [reboot|notools]: one server + one VM run
	# No TAP output: results go to $VT_TMP/NAME (summary, status), so that
	# the reference boot can run in the background beside boot 1.
	local kind=$1 state=$2 name=$3 ctrl="$VT_TMP/$3.ctrl" d="$VT_TMP/$3" tpm
	mkdir -p "$state" "$d"
	if ! vq_tpm_start "$kind" "$state" "$ctrl" "$d/tpm.log"; then
		echo "start=$VQ_WHY" >"$d/status"
		return 1
	fi
	echo "$VQ_TPM_PID" >"$d/tpm.pid"
	vq_boot "$ctrl" "$d" "${4:-}"
	# QEMU sends CMD_SHUTDOWN on exit; with --terminate the server ends
	if vq_tpm_wait_exit 5; then tpm=$VQ_TPM_STATUS; else
		tpm=running
		vq_tpm_kill
	fi
	rm -f "$d/tpm.pid"
	printf 'start=ok\nqemu=%s\nseconds=%s\ntpm=%s\n' "$VQ_BOOT_STATUS" "$VQ_BOOT_SECONDS" "$tpm" >"$d/status"
}

boot_check() { # boot_check KIND NAME [reboot|notools]: TAP for what boot_run saw
	local kind=$1 name=$2 d="$VT_TMP/$2" want=1 p pre st
	st=$(sed -n 's/^start=//p' "$d/status" 2>/dev/null)
	if [ "$st" != ok ]; then
		vt_not_ok "$name: start $kind" "${st:-no status}"
		vt__comment 20 <"$d/tpm.log.out"
		return 1
	fi
	[ "${3:-}" = reboot ] && want=2
	for ((p = 1; p <= want; p++)); do
		pre=$([ $p -gt 1 ] && echo "pass${p}_")
		vt_note "$name ($kind) pass $p: guest uptime at /init $(vq_get "$d" "${pre}time_init")," \
			"checks done $(vq_get "$d" "${pre}time_evlog"), tpm2-tools done $(vq_get "$d" "${pre}time_tools")"
	done
	st=$(sed -n 's/^qemu=//p' "$d/status")
	vt_note "$name ($kind): QEMU exit $st after $(sed -n 's/^seconds=//p' "$d/status") s"
	if [ "$st" = 0 ] && [ "$(vq_get "$d" passes)" = "$want" ] &&
		[ "$(vq_get "$d" "$([ $want -gt 1 ] && echo "pass${want}_")end")" = yes ]; then
		if [ $want -gt 1 ]; then
			vt_ok "$name ($kind): guest booted, rebooted, ran its checks and powered off"
		else
			vt_ok "$name ($kind): guest booted, ran its checks and powered off"
		fi
	else
		vt_not_ok "$name ($kind): guest did not finish ($(vq_get "$d" passes) of $want passes, QEMU exit $st)"
		vt__comment 20 <"$d/qemu.out"
		tail -n 25 "$d/console.log" | vt__comment 25
		grep -a '^VT-' "$d/data.log" | tr -d '\r' | grep -v '^VT-PCR' | vt__comment 25
	fi
	st=$(sed -n 's/^tpm=//p' "$d/status")
	if [ "$st" = running ]; then
		vt_not_ok "$name ($kind): server still running 5 s after QEMU exited (--terminate)"
	else
		vt_check_eq "$name ($kind): server exited with QEMU, status 0" 0 "$st"
	fi
	if [ "$st" != 0 ]; then vt__comment 20 <"$d/tpm.log.out"; fi
	grep -a '^VT-FAIL' "$d/data.log" | tr -d '\r' | vt__comment 20
	return 0
}

boot() { # boot KIND STATE NAME [reboot|notools]: boot_run, then boot_check
	boot_run "$@"
	boot_check "$1" "$3" "${4:-}"
}

check_guest() { # check_guest NAME REFNAME [PASS]: the guest-side assertions
	local d="$VT_TMP/$1" r="$VT_TMP/$2" pre="" what=$1 n i bad="" rbad="" v log=evlog.bin
	if [ "${3:-1}" -gt 1 ]; then
		pre="pass${3}_"
		what="$1 pass $3"
		log="evlog$3.bin"
	fi
	vt_check_eq "$what: /dev/tpm0 exists" yes "$(vq_get "$d" "${pre}dev_tpm0")"
	vt_check_eq "$what: /dev/tpmrm0 exists" yes "$(vq_get "$d" "${pre}dev_tpmrm0")"
	vt_check_eq "$what: tpm_version_major is 2" 2 "$(vq_get "$d" "${pre}version")"
	for i in 0 1 2 3 4 5 6 7; do
		v=$(vq_get "$d" "${pre}pcr$i")
		if [ -z "$v" ] || [ "$v" != "$(vq_get "$r" "pcr$i")" ]; then
			bad="$bad $i"
			vt_note "PCR $i: $what '$v', $2 '$(vq_get "$r" "pcr$i")'"
		fi
		if [ "$v" != "$(vq_get "$d" "${pre}replay_pcr$i")" ]; then rbad="$rbad $i"; fi
	done
	if [ -z "$bad" ]; then
		vt_ok "$what: sha256 PCRs 0-7 equal the swtpm reference boot's"
	else
		vt_not_ok "$what: sha256 PCRs differ from the swtpm reference boot's:$bad"
	fi
	vt_check_eq "$what: event log read in full" yes "$(vq_get "$d" "${pre}evlog_ok")"
	v=$(vq_get "$d" "${pre}replay")
	if [ "$v" != ok ]; then
		vt_not_ok "$what: event log replays to PCRs 0-7" "replay: $v"
	elif [ -n "$rbad" ]; then
		vt_not_ok "$what: event log replays to PCRs 0-7" "PCRs$rbad differ from the replayed log"
		"$VQ_PY" "$VQ_DIR/eventlog.py" "$d/$log" --events 2>&1 | vt__comment 40
	else
		# not vacuous: SeaBIOS measures into PCRs 0-7 (at least the
		# separators), so the log extends them and PCR 0 is not its reset value
		n=$(vq_get "$d" "${pre}replay_events")
		v=$(vq_get "$d" "${pre}pcr0")
		if [ "${n:-0}" -ge 8 ] && [ -n "$v" ] && [ "$v" != "$(printf '0%.0s' $(seq 64))" ]; then
			vt_ok "$what: event log ($n measurements) replays to PCRs 0-7"
		else
			vt_not_ok "$what: event log replays to PCRs 0-7" "only $n measurements, PCR0 $v"
		fi
	fi
}

check_kernel_log() { # check_kernel_log NAME: the guest kernel reported no TPM error
	local errs
	# e.g. "tpm tpm0: A TPM error (459) occurred flushing context",
	# "tpm tpm0: tpm2_commit_space: error -14" (its resource manager)
	errs=$(grep -aiE 'tpm.*(error|fail)|tpm_tis.*(error|fail)' "$VT_TMP/$1/console.log" | tr -d '\r')
	if [ -z "$errs" ]; then
		vt_ok "$1: the guest kernel logged no TPM error"
	else
		vt_not_ok "$1: the guest kernel logged no TPM error"
		echo "$errs" | vt__comment 10
	fi
}

# ---------------------------------------------------------------- the boots

# 1. reference: swtpm, fresh state, in the background beside boot 1 (TCG
# runs one vCPU on one host core; this machine has two)
boot_run swtpm "$VT_TMP/ref-state" ref notools >/dev/null 2>&1 &
ref_pid=$!

# 2. the server under test, fresh state: make a key persistent
STATE="$VT_TMP/state"
boot_run "$SUBJECT" "$STATE" boot1
wait "$ref_pid"

boot_check swtpm ref notools
ref_ok=$([ "$(vq_get "$VT_TMP/ref" end)" = yes ] && echo yes)
v=$(vq_get "$VT_TMP/ref" replay)
if [ "$v" = ok ] && [ "$(vq_get "$VT_TMP/ref" pcr0)" = "$(vq_get "$VT_TMP/ref" replay_pcr0)" ]; then
	vt_ok "ref (swtpm): event log replays (eventlog.py agrees with swtpm)"
else
	vt_not_ok "ref (swtpm): event log replays (eventlog.py agrees with swtpm)" "replay: $v"
fi
[ "$ref_ok" = yes ] || vt_note "no reference PCRs: the comparisons below will fail"
# the replayer refuses a damaged log rather than replaying part of it
if [ -s "$VT_TMP/ref/evlog.bin" ]; then
	head -c -7 "$VT_TMP/ref/evlog.bin" >"$VT_TMP/ref/evlog.cut"
	vt_check_fails "eventlog.py refuses a truncated log" \
		"$VQ_PY" "$VQ_DIR/eventlog.py" "$VT_TMP/ref/evlog.cut"
fi

boot_check "$SUBJECT" boot1
check_guest boot1 ref
check_kernel_log boot1
vt_check_eq "boot1: tpm2-tools created and persisted a key at $HANDLE" \
	"ABSENT,PERSISTED" "$(vq_get "$VT_TMP/boot1" key)"
name1=$(vq_get "$VT_TMP/boot1" key_name)
vt_check_true "boot1: tpm2_readpublic reads the persistent key" [ -n "$name1" ]

# 3. both restart on the same state: the key is still there.  The guest
# then reboots once inside this QEMU run (QEMU's STOP / SET_BUFFERSIZE /
# INIT on the control channel): PCRs are reset and measured anew, the key
# and a second one made before the reboot are there.
boot "$SUBJECT" "$STATE" boot2 reboot
check_guest boot2 ref
if [ "$(vq_get "$VT_TMP/boot2" passes)" -ge 2 ] 2>/dev/null; then
	check_guest boot2 ref 2
else
	vt_not_ok "boot2 pass 2: the guest came back after its reboot" \
		"$(vq_get "$VT_TMP/boot2" passes) pass(es) seen"
fi
check_kernel_log boot2
vt_check_true "boot2: tpm2_getcap handles-persistent lists $HANDLE" \
	grep -qi "^cap_handles=.*$HANDLE" "$VT_TMP/boot2/summary"
vt_check_eq "boot2: the persistent key survived the server and VM restart and signs" \
	"PRESENT,SIGNED" "$(vq_get "$VT_TMP/boot2" key)"
if [ -n "$name1" ]; then
	vt_check_eq "boot2: the key has the name it had in boot1" "$name1" "$(vq_get "$VT_TMP/boot2" key_name)"
else
	vt_not_ok "boot2: the key has the name it had in boot1" "boot1 printed no key name"
fi
vt_check_eq "boot2 pass 2: after the guest reboot both keys are there" \
	"PRESENT PRESENT $name1" \
	"$(vq_get "$VT_TMP/boot2" pass2_key) $(vq_get "$VT_TMP/boot2" pass2_key2) $(vq_get "$VT_TMP/boot2" pass2_key_name)"

vt_note "total $((SECONDS - T0)) s"
vt_done
