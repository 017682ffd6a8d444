#!/bin/bash
# tests/qemu/mkinitramfs.sh OUT.cpio [MODULES_DIR]
#
# Builds the guest's initramfs: busybox (static) with all its applets,
# tests/qemu/init as /init, tpm2-tools (the multi-call /usr/bin/tpm2 and its
# tpm2_* links) with every shared library it needs (ldd), plus the device
# TCTI that libtss2-tctildr dlopens; and, if MODULES_DIR (a kernel's
# /lib/modules/VERSION) is given and the kernel has the TPM drivers as
# modules, those modules and their dependencies in load order under
# /lib/tpm/NN-name.ko.
set -eu
out=$1
moddir=${2:-}
here=$(cd "$(dirname "$0")" && pwd)

root=$(mktemp -d "${TMPDIR:-/tmp}/vitrum-initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT

bb=
for c in /bin/busybox /usr/bin/busybox; do
	[ -x "$c" ] && bb=$c && break
done
[ -n "$bb" ] || { echo "mkinitramfs: no busybox (apt-get install busybox-static)" >&2; exit 1; }
if ldd "$bb" >/dev/null 2>&1; then
	echo "mkinitramfs: $bb is not static (apt-get install busybox-static)" >&2
	exit 1
fi

mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,lib/tpm,lib64}
cp "$bb" "$root/bin/busybox"
# symlinks made in one process: one ln(1) per link takes seconds
symlinks() { # symlinks TARGET LINK...
	python3 -c 'import os, sys
for p in sys.argv[2:]:
    if not os.path.lexists(p):
        os.symlink(sys.argv[1], p)' "$@"
}
# shellcheck disable=SC2046 # applet paths: one word each
symlinks /bin/busybox $("$bb" --list-full 2>/dev/null | sed "s|^|$root/|")
install -m 0755 "$here/init" "$root/init"

# tpm2-tools and the libraries it loads
copy_with_libs() { # copy_with_libs FILE... (with their ldd closure), one cp
	local libs
	libs=$(ldd "$@" 2>/dev/null | awk '/=> \// { print $3 } /^\t\/[^ ]+ \(/ { print $1 }' | sort -u)
	# shellcheck disable=SC2086 # library paths: one word each
	cp -L --parents "$@" $libs "$root/"
}
tpm2=$(command -v tpm2 || true)
if [ -n "$tpm2" ]; then
	tcti=$(ldconfig -p | awk '/libtss2-tcti-device\.so\.0 .*x86-64/ { print $NF; exit }')
	# shellcheck disable=SC2086 # $tcti: empty or one path
	copy_with_libs "$tpm2" $tcti
	mkdir -p "$root/usr/bin"
	# shellcheck disable=SC2046 # tool names: one word each
	symlinks tpm2 $(cd "$(dirname "$tpm2")" && ls tpm2_* 2>/dev/null | sed "s|^|$root/usr/bin/|")
	[ "$tpm2" = /usr/bin/tpm2 ] || ln -sf "$tpm2" "$root/usr/bin/tpm2"
	if [ -n "$tcti" ]; then
		# dlopen looks in the loader's default directories; put it in both
		base=$(basename "$tcti")
		for d in /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu; do
			mkdir -p "$root$d"
			[ -e "$root$d/$base" ] || cp -L "$tcti" "$root$d/$base"
		done
	else
		echo "mkinitramfs: warning: libtss2-tcti-device.so.0 not found" >&2
	fi
else
	echo "mkinitramfs: warning: tpm2-tools not found, the key steps will fail" >&2
fi

# TPM driver modules, if the kernel has them as modules
if [ -n "$moddir" ] && [ -f "$moddir/modules.dep" ]; then
	n=0
	want=()
	add_mod() { # add_mod REL_PATH: deps first (modules.dep lists them)
		local rel=$1 dep line
		for w in "${want[@]+"${want[@]}"}"; do [ "$w" = "$rel" ] && return 0; done
		line=$(grep -E "^$rel:" "$moddir/modules.dep" || true)
		for dep in $(echo "${line#*:}" | tr ' ' '\n' | tac); do
			add_mod "$dep"
		done
		want+=("$rel")
	}
	for m in tpm tpm_tis_core tpm_tis tpm_crb; do
		rel=$(grep -oE "^[^:]*/$m\.ko(\.[a-z]+)?:" "$moddir/modules.dep" | head -1 | tr -d :)
		[ -n "$rel" ] && add_mod "$rel"
	done
	for rel in "${want[@]+"${want[@]}"}"; do
		n=$((n + 1))
		dst="$root/lib/tpm/$(printf %02d $n)-$(basename "$rel")"
		case "$rel" in
		*.ko) cp "$moddir/$rel" "$dst" ;;
		*.ko.xz) xz -dc "$moddir/$rel" >"${dst%.xz}" ;;
		*.ko.gz) gzip -dc "$moddir/$rel" >"${dst%.gz}" ;;
		*.ko.zst) zstd -qdc "$moddir/$rel" >"${dst%.zst}" ;;
		esac
	done
fi

# busybox cpio writes the newc format the kernel unpacks.  Not compressed:
# the guest unpacks a plain archive ~2 s sooner under TCG than a gzip one.
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | "$bb" cpio -o -H newc 2>/dev/null) \
	>"$out.tmp.$$"
mv "$out.tmp.$$" "$out"
