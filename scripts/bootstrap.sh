#!/bin/sh
# Install the Debian 12 packages vitrum needs.  Usage: bootstrap.sh build|test
# Idempotent and quick when everything is already there.
set -eu

BUILD_PKGS="build-essential pkg-config libssl-dev libtss2-dev libseccomp-dev scdoc"
TEST_PKGS="$BUILD_PKGS libcmocka-dev tpm2-tools libtss2-tcti-mssim0 libtss2-tcti-swtpm0 tpm2-openssl
 swtpm swtpm-tools openssl python3 clang libclang-rt-14-dev procps util-linux iproute2 cppcheck xxd lintian man-db groff adduser qemu-system-x86 seabios busybox-static
 python3-tpm2-pytss cryptsetup-bin golang-go golang-golang-x-mod-dev"

case "${1:-build}" in
build) pkgs=$BUILD_PKGS ;;
test) pkgs=$TEST_PKGS ;;
*) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "bootstrap: installing$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
