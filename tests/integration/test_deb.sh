#!/bin/bash
# make deb: the Debian package of vitrum.  Build it, run lintian (errors
# fail), install it with dpkg -i on this machine, start the server as the
# unit would (systemctl when systemd runs the machine; else the unit's
# ExecStart line by hand, as its User, with its Environment= and
# $NOTIFY_SOCKET), talk to it with tpm2-tools, then apt-get remove (the
# state in /var/lib/vitrum stays, and nothing else of the package but its
# conffile) and dpkg --purge (nothing is left).  Needs root; the machine is
# left as it was (the vitrum system user stays, as Debian keeps system
# users).
VT_SCRIPT_TIMEOUT=${VT_SCRIPT_TIMEOUT:-400} # lintian, dpkg and man-db take their time
. "$(dirname "$0")/lib.sh"

# Packaging does not depend on the binary under test: once per run, not
# again in the ASan pass of tests/run.sh.
if [ -n "${VT_ASAN_BUILD:-}" ] && [ "$VITRUM_BIN" -ef "$VT_ASAN_BUILD/vitrum" ]; then
	vt_skip "$(basename "$0" .sh)" "runs once, with the plain build"
	vt_done
fi

BUILD=${BUILD:-build}
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" -ne 0 ] || ! command -v dpkg-deb >/dev/null || ! command -v apt-get >/dev/null; then
	vt_skip "Debian package" "needs root, dpkg-deb and apt-get"
	vt_done
fi
if dpkg-query -W -f='${Status}' vitrum 2>/dev/null | grep -q installed; then
	vt_skip "Debian package" "a vitrum package is installed on this machine already; not touching it"
	vt_done
fi
vt__mktmp
chmod 0711 "$VT_TMP" # the vitrum user reaches the notify socket in it
SERVERS=()
INSTANCE=citest$$
deb_cleanup() {
	local p
	for p in "${SERVERS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -f "/etc/vitrum/$INSTANCE.conf"
	if dpkg-query -W -f='${Status}' vitrum 2>/dev/null | grep -qv not-installed; then
		dpkg --purge vitrum >/dev/null 2>&1
	fi
	vt_cleanup
}
trap deb_cleanup EXIT

# ---- build and lint
if ! make -C "$VT_ROOT" --no-print-directory -s BUILD="$BUILD" deb >"$VT_TMP/deb.out" 2>&1; then
	vt_not_ok "make deb" "$(tail -5 "$VT_TMP/deb.out")"
	vt_done
fi
deb=$(tail -1 "$VT_TMP/deb.out")
case "$deb" in /*) ;; *) deb="$VT_ROOT/$deb" ;; esac
vt_check_true "make deb built $(basename "$deb")" [ -s "$deb" ]
vt_check "dpkg-deb --info reads it" dpkg-deb --info "$deb"
vt_check "it is named vitrum_VERSION_ARCH.deb" \
	bash -c "[[ \$(basename '$deb') == vitrum_$("$VITRUM_BIN" --version | cut -d' ' -f2)_$(dpkg --print-architecture).deb ]]"
dpkg-deb --contents "$deb" >"$VT_TMP/contents"
for f in ./usr/bin/vitrum ./lib/systemd/system/vitrum.service ./lib/systemd/system/vitrum@.service \
	./etc/vitrum/vitrum.conf ./usr/share/man/man8/vitrum-serve.8.gz ./usr/share/man/man5/vitrum.conf.5.gz \
	./usr/share/doc/vitrum/copyright; do
	vt_check "package holds $f" grep -q " $f\$" "$VT_TMP/contents"
done
vt_check "every file is owned by root" bash -c "! awk '{print \$2}' '$VT_TMP/contents' | grep -v '^root/root$'"
if command -v lintian >/dev/null; then
	lintian --no-tag-display-limit "$deb" >"$VT_TMP/lintian" 2>&1
	errs=$(grep -c '^E:' "$VT_TMP/lintian")
	vt_check_eq "lintian: no errors" "0" "$errs" || vt__comment <"$VT_TMP/lintian"
	warns=$(grep -c '^W:' "$VT_TMP/lintian")
	vt_check_eq "lintian: no warnings" "0" "$warns" || vt__comment <"$VT_TMP/lintian"
else
	vt_not_ok "lintian is installed" "apt-get install lintian (scripts/bootstrap.sh test)"
fi

# ---- install
if ! dpkg -i "$deb" >"$VT_TMP/dpkg-i.out" 2>&1; then
	vt_not_ok "dpkg -i" "$(tail -5 "$VT_TMP/dpkg-i.out")"
	vt_done
fi
vt_ok "dpkg -i $(basename "$deb")"
dpkg -L vitrum >"$VT_TMP/files"
vt_check "the vitrum system user exists" getent passwd vitrum
vt_check_true "... and is a system user (uid < 1000) with no login shell" \
	bash -c '[ "$(id -u vitrum)" -lt 1000 ] && getent passwd vitrum | grep -qE ":(/usr/sbin/nologin|/bin/false)$"'
vt_check_eq "/var/lib/vitrum: vitrum vitrum 700" "vitrum vitrum 700" "$(stat -c '%U %G %a' /var/lib/vitrum 2>&1)"
vt_check "vitrum --version (installed)" /usr/bin/vitrum --version
vt_check "man vitrum-serve finds the installed page" bash -c "man -w vitrum-serve | grep -q /usr/share/man/man8/vitrum-serve.8.gz"
vt_check "the installed configuration is accepted as it is" /usr/bin/vitrum serve --config /etc/vitrum/vitrum.conf --help
vt_check "the unit is enabled (as Debian enables services)" test -L /etc/systemd/system/multi-user.target.wants/vitrum.service
if command -v systemd-analyze >/dev/null; then
	vt_check "systemd-analyze verify vitrum.service" systemd-analyze verify /lib/systemd/system/vitrum.service
fi

# ---- start the unit: systemctl if systemd runs the machine, else by hand
P=$(vt__free_port) || vt_done
echo "port = $P" >>/etc/vitrum/vitrum.conf # as an admin would; a conffile change
unit_field() { sed -n "s/^$2=//p" "/lib/systemd/system/$1"; }
wait_port() { # wait_port PORT PID
	local i
	for i in $(seq 1 50); do
		if [ -n "${2:-}" ] && ! vt__alive "$2"; then return 1; fi
		"$VT_PYTHON" "$VT_RAWTPM" --proto mssim --port "$1" --timeout 1 ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
cat >"$VT_TMP/notify.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o666); s.settimeout(15)
open(sys.argv[1] + '.bound', 'w').close()
try:
    while True:
        m = s.recv(4096).decode()
        print(m.replace('\n', ' '), flush=True)
        if 'READY=1' in m:
            break
except socket.timeout:
    print('timeout'); sys.exit(1)
PY
# by_hand UNIT INSTANCE LOG: run the unit's ExecStart as its User= with its
# Environment= and a notify socket; sets SP; returns the notify listener's status
by_hand() {
	local unit=$1 inst=$2 log=$3 user cmd envs=() e np
	user=$(unit_field "$unit" User)
	cmd=$(unit_field "$unit" ExecStart)
	while IFS= read -r e; do envs+=("$e"); done < <(unit_field "$unit" Environment)
	cmd=${cmd//%i/$inst}
	envs=("${envs[@]//%i/$inst}")
	rm -f "$VT_TMP/notify.sock" "$VT_TMP/notify.sock.bound"
	"$VT_PYTHON" "$VT_TMP/notify.py" "$VT_TMP/notify.sock" >"$VT_TMP/notify.out" 2>&1 &
	np=$!
	for e in $(seq 1 50); do [ -e "$VT_TMP/notify.sock.bound" ] && break; sleep 0.1; done
	vt_note "as $user: ${envs[*]} $cmd"
	# shellcheck disable=SC2086 # ExecStart is split into words as systemd does (no quotes in ours)
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "${envs[@]}" NOTIFY_SOCKET="$VT_TMP/notify.sock" \
		setpriv --reuid="$user" --regid="$user" --init-groups -- $cmd >"$log" 2>&1 </dev/null &
	SP=$!
	SERVERS+=("$SP")
	wait "$np"
}

if [ -d /run/systemd/system ]; then
	vt_check "systemctl restart vitrum (systemd is PID 1)" systemctl restart vitrum
	vt_check "vitrum.service is active" systemctl is-active vitrum
	SP=$(systemctl show -p MainPID --value vitrum)
else
	vt_note "systemd is not PID 1 here: starting vitrum.service's ExecStart by hand"
	by_hand vitrum.service "" "$VT_TMP/service.log"
	vt_check_eq "READY=1 reached the notify socket (Type=notify)" "0" "$?"
	vt_check "... once listening: $(cat "$VT_TMP/notify.out")" grep -q 'READY=1' "$VT_TMP/notify.out"
fi
export TPM2TOOLS_TCTI="mssim:host=127.0.0.1,port=$P"
if wait_port "$P" "$SP"; then
	vt_ok "the service listens on the port of /etc/vitrum/vitrum.conf ($P)"
else
	vt_not_ok "the service listens on the port of /etc/vitrum/vitrum.conf ($P)" "$(cat "$VT_TMP/service.log" 2>/dev/null)"
fi
vt_check "tpm2_getrandom" tpm2_getrandom --hex 16
vt_check "tpm2_pcrextend 16" tpm2_pcrextend "16:sha256=$(printf '%064d' 7)"
vt_check "tpm2_createprimary" tpm2_createprimary -C o -G ecc -c "$VT_TMP/primary.ctx"
vt_check "tpm2_evictcontrol to 0x81000101" tpm2_evictcontrol -C o -c "$VT_TMP/primary.ctx" 0x81000101
vt_check "vitrum status (installed) sees the persistent key" /usr/bin/vitrum status --port "$P"
cp "$VT_LAST_OUT" "$VT_TMP/status.out"
vt_check "... 0x81000101 among the persistent objects" grep -q '^Objects .*0x81000101' "$VT_TMP/status.out"
vt_check "the server runs as vitrum" bash -c "[ \"\$(stat -c %U /proc/$SP)\" = vitrum ]"
vt_check_eq "its state files belong to vitrum, mode 600" "vitrum 600" \
	"$(stat -c '%U %a' /var/lib/vitrum/state.0 2>&1)"
kill -HUP "$SP"
sleep 0.2
vt_check_true "SIGHUP (systemctl reload) does not stop it" vt__alive "$SP"
if [ -d /run/systemd/system ]; then
	vt_check "systemctl stop vitrum" systemctl stop vitrum
else
	kill -TERM "$SP"
	wait "$SP"
	vt_check_eq "SIGTERM: clean stop, exit 0" "0" "$?"
	vt_check "one line per event in its log: start and stop" bash -c \
		"grep -q 'serving TPM 2.0' '$VT_TMP/service.log' && grep -q 'stopped by SIGTERM, state saved' '$VT_TMP/service.log'"
fi

# ---- vitrum@.service: one more TPM with its own state and configuration
Q=$(vt__free_port) || vt_done
echo "port = $Q" >"/etc/vitrum/$INSTANCE.conf"
if [ -d /run/systemd/system ]; then
	vt_check "systemctl start vitrum@$INSTANCE" systemctl start "vitrum@$INSTANCE"
	SP=$(systemctl show -p MainPID --value "vitrum@$INSTANCE")
else
	# what StateDirectory=vitrum/%i makes
	install -d -o vitrum -g vitrum -m 0700 "/var/lib/vitrum/$INSTANCE"
	by_hand vitrum@.service "$INSTANCE" "$VT_TMP/instance.log"
	vt_check_eq "vitrum@$INSTANCE: READY=1" "0" "$?"
fi
if wait_port "$Q" "$SP"; then
	vt_ok "vitrum@$INSTANCE listens on the port of /etc/vitrum/$INSTANCE.conf"
	vt_check "vitrum@$INSTANCE: tpm2_getrandom" env TPM2TOOLS_TCTI="mssim:host=127.0.0.1,port=$Q" tpm2_getrandom --hex 8
	vt_check "vitrum@$INSTANCE: its state is in /var/lib/vitrum/$INSTANCE" test -s "/var/lib/vitrum/$INSTANCE/state.0"
	vt_check_fails "vitrum@$INSTANCE: a TPM of its own (0x81000101 is not there)" \
		env TPM2TOOLS_TCTI="mssim:host=127.0.0.1,port=$Q" tpm2_readpublic -c 0x81000101
else
	vt_not_ok "vitrum@$INSTANCE listens on the port of /etc/vitrum/$INSTANCE.conf" "$(cat "$VT_TMP/instance.log" 2>/dev/null)"
fi
if [ -d /run/systemd/system ]; then
	systemctl stop "vitrum@$INSTANCE"
else
	kill -TERM "$SP"
	wait "$SP"
	vt_check_eq "vitrum@$INSTANCE: clean stop" "0" "$?"
fi
rm -f "/etc/vitrum/$INSTANCE.conf"

# ---- apt-get remove: the state stays, and of the package only its conffile
conffiles=$(dpkg-query -W -f='${Conffiles}\n' vitrum | awk 'NF {print $1}')
if apt-get -o DPkg::Lock::Timeout=120 remove -y -q vitrum >"$VT_TMP/remove.out" 2>&1; then
	vt_ok "apt-get remove vitrum"
else
	vt_not_ok "apt-get remove vitrum" "$(tail -5 "$VT_TMP/remove.out")"
fi
vt_check_eq "no process of the vitrum user is left" "" "$(pgrep -u vitrum -a 2>/dev/null)"
left=""
while IFS= read -r f; do
	[ -e "$f" ] || [ -L "$f" ] || continue
	[ -d "$f" ] && continue # directories (and /lib -> usr/lib) are shared
	grep -qx -- "$f" <<<"$conffiles" && continue
	left="$left $f"
done <"$VT_TMP/files"
vt_check_eq "after remove no file of dpkg -L vitrum is left but the conffiles" "" "$left"
vt_check_true "/usr/share/doc/vitrum is gone" [ ! -e /usr/share/doc/vitrum ]
vt_check_true "the state directory stays after remove" [ -s /var/lib/vitrum/state.0 ]
vt_check_eq "... still the vitrum user's, mode 700" "vitrum 700" "$(stat -c '%U %a' /var/lib/vitrum 2>&1)"
vt_check "the conffile stays until purge (Debian policy)" test -f /etc/vitrum/vitrum.conf

# ---- dpkg --purge: nothing is left
if dpkg --purge vitrum >"$VT_TMP/purge.out" 2>&1; then
	vt_ok "dpkg --purge vitrum"
else
	vt_not_ok "dpkg --purge vitrum" "$(tail -5 "$VT_TMP/purge.out")"
fi
left=""
while IFS= read -r f; do
	[ -d "$f" ] && continue # shared directories, /lib -> usr/lib
	if [ -e "$f" ] || [ -L "$f" ]; then left="$left $f"; fi
done <"$VT_TMP/files"
for f in /etc/vitrum /usr/share/doc/vitrum /var/lib/vitrum /var/log/vitrum \
	/etc/systemd/system/multi-user.target.wants/vitrum.service \
	/var/lib/systemd/deb-systemd-helper-enabled/vitrum.service.dsh-also \
	/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/vitrum.service; do
	if [ -e "$f" ] || [ -L "$f" ]; then left="$left $f"; fi
done
vt_check_eq "after purge nothing of the package, its state or its service links is left" "" "$left"
vt_check_true "dpkg knows vitrum no more" bash -c "! dpkg-query -W -f='\${Status}' vitrum 2>/dev/null | grep -q installed"
vt_done
