#!/bin/sh
# Build the Debian package of vitrum from this tree with dpkg-deb:
#   packaging/mkdeb.sh BUILD   ->  BUILD/vitrum_VERSION_ARCH.deb
# BUILD holds the built binary and man pages (make deb does both).
set -eu

build=${1:-build}
cd "$(dirname "$0")/.."
root_dir=$(pwd)
version=$(sed -n 's/^#define VITRUM_VERSION "\(.*\)"$/\1/p' include/vitrum/version.h)
arch=$(dpkg --print-architecture)
stage="$build/deb/vitrum"
deb="$build/vitrum_${version}_${arch}.deb"
# The maintainer named in the package (as in the project's commits).
maintainer=${DEB_MAINTAINER:-vitrum developers <dev@vitrum.invalid>}

[ -n "$version" ] || { echo "mkdeb: no VITRUM_VERSION in include/vitrum/version.h" >&2; exit 1; }
rm -rf "$build/deb"
mkdir -p "$stage"

# The files, where Debian puts them (bookworm: units in /lib/systemd/system).
make --no-print-directory -s install BUILD="$build" DESTDIR="$root_dir/$stage" PREFIX=/usr \
    SYSCONFDIR=/etc UNITDIR=/lib/systemd/system >/dev/null
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$stage/usr/bin/vitrum"
find "$stage/usr/share/man" -type f -exec gzip -9n {} +
doc="$stage/usr/share/doc/vitrum"
install -d -m 0755 "$doc"
install -m 0644 packaging/debian/copyright "$doc/copyright"
{
    echo "vitrum ($version) unstable; urgency=medium"
    echo
    echo "  * Built from the source tree with make deb."
    echo
    # the date of the version header, so that the same tree gives the same package
    echo " -- $maintainer  $(date -R -u -d "@$(stat -c %Y include/vitrum/version.h)")"
} | gzip -9n >"$doc/changelog.gz"
install -m 0644 README.md "$doc/README.md"
gzip -9n "$doc/README.md"

# Control area
install -d -m 0755 "$stage/DEBIAN"
for f in postinst prerm postrm; do
    install -m 0755 "packaging/debian/$f" "$stage/DEBIAN/$f"
done
install -m 0644 packaging/debian/conffiles "$stage/DEBIAN/conffiles"

# Library dependencies, as dpkg-shlibdeps computes them for any Debian package.
shlib_dir="$build/deb/shlibdeps"
mkdir -p "$shlib_dir/debian"
: >"$shlib_dir/debian/control"
depends=$(cd "$shlib_dir" && dpkg-shlibdeps -O "$root_dir/$stage/usr/bin/vitrum" 2>/dev/null |
    sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "mkdeb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
size=$(du -k -s --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s|@MAINTAINER@|$maintainer|" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
    -e "s/@DEPENDS@/adduser, $depends/" packaging/debian/control.in >"$stage/DEBIAN/control"
(cd "$stage" && find . -type f ! -path './DEBIAN/*' ! -path './etc/*' -printf '%P\0' | sort -z |
    xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/md5sums"

# Owned by root whoever builds it; directories 0755, files as installed.
find "$stage" -type d -exec chmod 0755 {} +
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
