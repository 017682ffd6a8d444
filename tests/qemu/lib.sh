# shellcheck shell=bash
# shellcheck disable=SC2034 # VQ_* results are read by the sourcing script
# tests/qemu/lib.sh - boot a QEMU guest (TCG, SeaBIOS) with a vTPM served
# over the swtpm socket protocol, by swtpm or by "vitrum swtpm socket".
#
# Sourced by tests/integration/test_qemu.sh.  Functions:
#   vq_kernel         find or download (apt-get download) a Debian kernel;
#                     sets VQ_KERNEL (vmlinuz) and VQ_MODDIR; VQ_WHY on failure
#   vq_initramfs DIR  build (or reuse from the cache) the busybox initramfs;
#                     sets VQ_INITRD
#   vq_tpm_start KIND STATE CTRL LOG    KIND swtpm|vitrum; sets VQ_TPM_PID
#   vq_tpm_wait_exit SECONDS            did the server exit by itself?
#                                       sets VQ_TPM_STATUS
#   vq_tpm_kill                         SIGTERM (then SIGKILL) the server
#   vq_boot CTRL OUTDIR [reboot|notools] boot once (with "reboot", let the
#                                       guest reboot once); OUTDIR/console.log,
#                                       data.log, summary (parse_boot.py),
#                                       evlog.bin, qemu.pid while it runs;
#                                       sets VQ_BOOT_STATUS,
#                                       VQ_BOOT_SECONDS
#   vq_get OUTDIR KEY                   a value from OUTDIR/summary
#
# Environment: VT_QEMU_CACHE (default ~/.cache/vitrum-qemu: kernel .deb,
# extracted kernel, initramfs), VT_QEMU_KERNEL_PKG (a linux-image package
# name; default: what linux-image-cloud-amd64 depends on), VT_QEMU_TIMEOUT
# (seconds one boot may take, default 90), VITRUM_BIN.

VQ_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VQ_CACHE=${VT_QEMU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vitrum-qemu}
VQ_QEMU=${VT_QEMU_BIN:-qemu-system-x86_64}
VQ_PY=/usr/bin/python3
[ -x "$VQ_PY" ] || VQ_PY=python3
VQ_KERNEL=
VQ_MODDIR=
VQ_INITRD=
VQ_WHY=
VQ_TPM_PID=
VQ_TPM_STATUS=
VQ_QEMU_PID=

vq__log() { echo "# $*"; }

vq_kernel() {
	local pkg dir deb
	mkdir -p "$VQ_CACHE" || {
		VQ_WHY="cannot create $VQ_CACHE"
		return 1
	}
	pkg=${VT_QEMU_KERNEL_PKG:-}
	if [ -z "$pkg" ]; then
		# reuse the newest kernel already extracted in the cache
		dir=$(ls -d "$VQ_CACHE"/kernel-linux-image-*/ 2>/dev/null | sort -V | tail -1)
		if [ -n "$dir" ] && ls "$dir"boot/vmlinuz-* >/dev/null 2>&1; then
			pkg=$(basename "$dir")
			pkg=${pkg#kernel-}
		fi
	fi
	if [ -z "$pkg" ]; then
		local meta try
		for try in 1 2; do
			for meta in linux-image-cloud-amd64 linux-image-amd64; do
				pkg=$(apt-cache depends "$meta" 2>/dev/null |
					awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
				[ -n "$pkg" ] && break 2
			done
			# empty package lists (a fresh machine): fetch them once, as root
			[ "$try" = 1 ] && [ "$(id -u)" = 0 ] || break
			vq__log "apt-get update (no linux-image package known)"
			apt-get update -qq >"$VQ_CACHE/update.log" 2>&1 || break
		done
	fi
	if [ -z "$pkg" ]; then
		VQ_WHY="no linux-image package known to apt (run apt-get update)"
		return 1
	fi
	dir="$VQ_CACHE/kernel-$pkg"
	if ! ls "$dir"/boot/vmlinuz-* >/dev/null 2>&1; then
		deb=$(ls "$VQ_CACHE/${pkg}"_*.deb 2>/dev/null | head -1)
		if [ -z "$deb" ]; then
			vq__log "downloading $pkg into $VQ_CACHE"
			# apt-get download writes into the current directory; as root it
			# warns that _apt cannot write there, and downloads anyway
			(cd "$VQ_CACHE" && apt-get download -q "$pkg") >"$VQ_CACHE/download.log" 2>&1
			deb=$(ls "$VQ_CACHE/${pkg}"_*.deb 2>/dev/null | head -1)
			if [ -z "$deb" ]; then
				VQ_WHY="apt-get download $pkg failed: $(tail -1 "$VQ_CACHE/download.log")"
				return 1
			fi
		fi
		local tmp="$dir.tmp.$$"
		rm -rf "$tmp"
		mkdir -p "$tmp"
		dpkg-deb -x "$deb" "$tmp" || {
			VQ_WHY="dpkg-deb -x $deb failed"
			rm -rf "$tmp"
			return 1
		}
		# another run may have extracted it meanwhile
		if [ -d "$dir" ]; then rm -rf "$tmp"; else mv "$tmp" "$dir"; fi
	fi
	VQ_KERNEL=$(ls "$dir"/boot/vmlinuz-* | head -1)
	VQ_MODDIR=$(ls -d "$dir"/lib/modules/*/ 2>/dev/null | head -1)
	VQ_MODDIR=${VQ_MODDIR%/}
	# the guest needs the TPM TIS driver, built in or as a module
	local cfg
	cfg=$(ls "$dir"/boot/config-* 2>/dev/null | head -1)
	if [ -n "$cfg" ] && ! grep -qE '^CONFIG_TCG_TIS=(y|m)' "$cfg"; then
		VQ_WHY="kernel $pkg has no TPM TIS driver (CONFIG_TCG_TIS)"
		return 1
	fi
	return 0
}

vq_initramfs() { # vq_initramfs TMPDIR
	local key f
	# cache key: everything that goes into the image
	key=$(
		{
			cat "$VQ_DIR/init" "$VQ_DIR/mkinitramfs.sh"
			for f in /bin/busybox "$(command -v tpm2 || true)"; do
				[ -n "$f" ] && [ -e "$f" ] && sha256sum "$f"
			done
			echo "$VQ_MODDIR"
		} | sha256sum | cut -c1-16
	)
	VQ_INITRD="$VQ_CACHE/initramfs-$key.cpio"
	if [ -s "$VQ_INITRD" ]; then return 0; fi
	rm -f "$VQ_CACHE"/initramfs-*.cpio*
	TMPDIR=$1 "$VQ_DIR/mkinitramfs.sh" "$VQ_INITRD" "$VQ_MODDIR" || {
		VQ_WHY="mkinitramfs.sh failed"
		return 1
	}
}

vq_tpm_start() { # vq_tpm_start swtpm|vitrum STATE CTRL LOG
	local kind=$1 state=$2 ctrl=$3 log=$4 i
	rm -f "$ctrl"
	local args=(socket --tpm2 --ctrl "type=unixio,path=$ctrl"
		--tpmstate "dir=$state" --log "file=$log,level=2" --terminate)
	echo "=== $(date +%T) start $kind ${args[*]}" >>"$log.out"
	if [ "$kind" = swtpm ]; then
		swtpm "${args[@]}" >>"$log.out" 2>&1 </dev/null &
	else
		"$VITRUM_BIN" swtpm "${args[@]}" >>"$log.out" 2>&1 </dev/null &
	fi
	VQ_TPM_PID=$!
	for i in $(seq 1 100); do
		[ -S "$ctrl" ] && return 0
		kill -0 "$VQ_TPM_PID" 2>/dev/null || break
		sleep 0.05
	done
	VQ_WHY="$kind did not create its control socket $ctrl"
	vq_tpm_kill
	return 1
}

vq_tpm_wait_exit() { # vq_tpm_wait_exit SECONDS
	local i n=$(($1 * 10))
	VQ_TPM_STATUS=
	[ -n "$VQ_TPM_PID" ] || return 0
	for ((i = 0; i < n; i++)); do
		kill -0 "$VQ_TPM_PID" 2>/dev/null || break
		# a zombie counts as gone
		[ "$(sed -e 's/^.*) //' "/proc/$VQ_TPM_PID/stat" 2>/dev/null | cut -d' ' -f1)" = Z ] && break
		sleep 0.1
	done
	if kill -0 "$VQ_TPM_PID" 2>/dev/null &&
		[ "$(sed -e 's/^.*) //' "/proc/$VQ_TPM_PID/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]; then
		return 1
	fi
	{ wait "$VQ_TPM_PID"; } 2>/dev/null
	VQ_TPM_STATUS=$?
	VQ_TPM_PID=
	return 0
}

vq_tpm_kill() {
	[ -n "$VQ_TPM_PID" ] || return 0
	kill -TERM "$VQ_TPM_PID" 2>/dev/null
	vq_tpm_wait_exit 5 || {
		kill -KILL "$VQ_TPM_PID" 2>/dev/null
		{ wait "$VQ_TPM_PID"; } 2>/dev/null
		VQ_TPM_PID=
	}
}

vq_boot() { # vq_boot CTRL OUTDIR [reboot|notools]
	local ctrl=$1 out=$2 start=$SECONDS reboot=-no-reboot append=
	# "reboot": the guest reboots once (vt.reboot=1, see init) in this run;
	# "notools": no tpm2-tools steps (vt.tools=0).  SeaBIOS does not
	# measure the kernel command line, so the PCRs do not depend on these.
	case "${3:-}" in
	reboot)
		reboot=
		append=" vt.reboot=1"
		;;
	notools) append=" vt.tools=0" ;;
	esac
	mkdir -p "$out"
	: >"$out/console.log"
	: >"$out/data.log"
	# ttyS0: kernel console (for diagnosis); ttyS1: what /init reports
	timeout -k 5 "${VT_QEMU_TIMEOUT:-90}" "$VQ_QEMU" \
		-machine pc,accel=tcg -cpu qemu64 -m 256 -smp 1 \
		-display none -monitor none ${reboot:+"$reboot"} -net none -nodefaults \
		-serial "file:$out/console.log" -serial "file:$out/data.log" \
		-chardev "socket,id=chrtpm,path=$ctrl" \
		-tpmdev emulator,id=tpm0,chardev=chrtpm \
		-device tpm-tis,tpmdev=tpm0 \
		-kernel "$VQ_KERNEL" -initrd "$VQ_INITRD" \
		-append "console=ttyS0 panic=-1 loglevel=4$append" \
		>"$out/qemu.out" 2>&1 </dev/null &
	VQ_QEMU_PID=$!
	echo "$VQ_QEMU_PID" >"$out/qemu.pid" # for a cleanup from another shell
	wait "$VQ_QEMU_PID"
	VQ_BOOT_STATUS=$?
	rm -f "$out/qemu.pid"
	VQ_QEMU_PID=
	VQ_BOOT_SECONDS=$((SECONDS - start))
	"$VQ_PY" "$VQ_DIR/parse_boot.py" "$out/data.log" "$out" >>"$out/qemu.out" 2>&1
	return "$VQ_BOOT_STATUS"
}

vq_get() { # vq_get OUTDIR KEY
	awk -v k="$2" 'index($0, k "=") == 1 { print substr($0, length(k) + 2); exit }' "$1/summary" 2>/dev/null
}

vq_cleanup() {
	if [ -n "$VQ_QEMU_PID" ]; then
		# timeout(1) passes SIGTERM on to QEMU
		kill -TERM "$VQ_QEMU_PID" 2>/dev/null
		{ wait "$VQ_QEMU_PID"; } 2>/dev/null
		VQ_QEMU_PID=
	fi
	vq_tpm_kill
}
