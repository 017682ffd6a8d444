#!/bin/bash
# make install / make uninstall (packaging/install.mk): PREFIX and DESTDIR
# are honoured, the installed binary serves, the units point at it and
# their SystemCallFilter allows every call of vitrum's own seccomp list
# (src/server/sandbox.c) and of its start-up; readiness reaches systemd
# through $NOTIFY_SOCKET (sd_notify protocol, READY=1).
. "$(dirname "$0")/lib.sh"

BUILD=${BUILD:-build}
vt__mktmp
D="$VT_TMP/destdir"
PREFIX=/opt/vitrum-test
mk() { make -C "$VT_ROOT" --no-print-directory -s BUILD="$BUILD" "$@"; }

if ! mk install DESTDIR="$D" PREFIX="$PREFIX" >"$VT_TMP/install.out" 2>&1; then
	vt_not_ok "make install DESTDIR=... PREFIX=$PREFIX" "$(tail -5 "$VT_TMP/install.out")"
	vt_done
fi
vt_ok "make install DESTDIR=... PREFIX=$PREFIX"
for f in bin/vitrum share/man/man1/vitrum.1 share/man/man1/vitrum-state.1 share/man/man1/vitrum-status.1 \
	share/man/man5/vitrum.conf.5 share/man/man8/vitrum-serve.8 share/man/man8/vitrum-manufacture.8 \
	lib/systemd/system/vitrum.service lib/systemd/system/vitrum@.service; do
	vt_check_true "installed $PREFIX/$f" [ -s "$D$PREFIX/$f" ]
done
vt_check_true "installed /etc/vitrum/vitrum.conf (sample)" [ -s "$D/etc/vitrum/vitrum.conf" ]
vt_check_true "the binary is executable" [ -x "$D$PREFIX/bin/vitrum" ]
vt_check_eq "nothing is installed outside PREFIX and /etc" "" \
	"$(cd "$D" && find . -type f | grep -v -e "^.$PREFIX/" -e '^./etc/vitrum/')"
vt_check "the sample configuration is accepted as it is" \
	"$D$PREFIX/bin/vitrum" serve --config "$D/etc/vitrum/vitrum.conf" --help
vt_check "the sample configuration, every setting uncommented, is accepted" bash -c \
	"sed -e 's/^#\([a-z-]* = \)/\1/' -e '/^key = /d' -e '/^ca-/d' -e '/^manufacture = /d' -e 's|^state = .*|state = $VT_TMP/s|' \
	  '$D/etc/vitrum/vitrum.conf' >'$VT_TMP/all.conf' && grep -c '^[a-z]' '$VT_TMP/all.conf' >/dev/null &&
	  '$D$PREFIX/bin/vitrum' serve --config '$VT_TMP/all.conf' --help >/dev/null"

# the units name the installed binary and the configuration file
for u in vitrum.service vitrum@.service; do
	exec_line=$(sed -n 's/^ExecStart=//p' "$D$PREFIX/lib/systemd/system/$u")
	vt_check_true "$u: ExecStart runs $PREFIX/bin/vitrum serve --config /etc/vitrum/..." \
		bash -c '[[ "$1" == "$2/bin/vitrum serve --config /etc/vitrum/"* ]]' _ "$exec_line" "$PREFIX"
	vt_check_true "$u: no @VARIABLE@ left" bash -c "! grep -q '@[A-Z]*@' '$D$PREFIX/lib/systemd/system/$u'"
	for k in Type=notify User=vitrum ProtectSystem=strict PrivateTmp=yes NoNewPrivileges=yes \
		StateDirectory=vitrum SystemCallFilter= ExecReload=; do
		vt_check "$u has $k" grep -q "^$k" "$D$PREFIX/lib/systemd/system/$u"
	done
done
vt_check "vitrum@.service keeps each instance's state in /var/lib/vitrum/%i" \
	grep -q -- '--state /var/lib/vitrum/%i' "$D$PREFIX/lib/systemd/system/vitrum@.service"

# SystemCallFilter vs src/server/sandbox.c: expand the unit's groups with
# systemd-analyze and check that every call vitrum allows itself once it
# serves, and those of its start-up, are allowed by the unit.
if command -v systemd-analyze >/dev/null; then
	systemd-analyze syscall-filter 2>/dev/null >"$VT_TMP/groups"
	"$VT_PYTHON" - "$VT_TMP/groups" "$VT_ROOT/src/server/sandbox.c" "$D$PREFIX/lib/systemd/system/vitrum.service" \
		>"$VT_TMP/sysfilter" 2>&1 <<'PY'
import re, sys
groups, cur = {}, None
for line in open(sys.argv[1]):
    t = line.strip()
    if not t or t.startswith('#'):
        continue
    if not line.startswith(' ') and t.startswith('@'):
        cur = t; groups[cur] = []
    elif cur:
        groups[cur].append(t)
def expand(names):
    out = set()
    for n in names:
        out |= expand(groups.get(n, [])) if n.startswith('@') else {n}
    return out
allow, deny = set(), set()
for line in open(sys.argv[3]):
    m = re.match(r'SystemCallFilter=(~?)(.*)', line.strip())
    if m:
        (deny if m.group(1) else allow).update(expand(m.group(2).split()))
allowed = allow - deny
serving = re.findall(r'SCMP_SYS\((\w+)\)', open(sys.argv[2]).read())
startup = ['openat', 'socket', 'bind', 'listen', 'connect', 'socketpair', 'fork', 'clone', 'mlock',
           'setrlimit', 'prctl', 'seccomp', 'flock', 'fsync', 'renameat', 'getdents64', 'mkdir', 'ftruncate']
missing = sorted(set(c for c in serving + startup if c not in allowed))
print('serving calls:', len(serving), 'missing:', ' '.join(missing) or 'none')
sys.exit(1 if missing or len(serving) < 10 else 0)
PY
	rc=$?
	vt_check_eq "vitrum.service's SystemCallFilter allows sandbox.c's list and the start-up ($(cat "$VT_TMP/sysfilter"))" 0 $rc
else
	vt_skip "SystemCallFilter vs sandbox.c" "no systemd-analyze"
fi

# the installed binary serves; READY=1 reaches $NOTIFY_SOCKET
cat >"$VT_TMP/notify.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); s.settimeout(10)
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
P=$(vt__free_port) || vt_done
"$VT_PYTHON" "$VT_TMP/notify.py" "$VT_TMP/notify.sock" >"$VT_TMP/notify.out" 2>&1 &
NP=$!
for i in $(seq 1 50); do [ -e "$VT_TMP/notify.sock.bound" ] && break; sleep 0.1; done
NOTIFY_SOCKET="$VT_TMP/notify.sock" VITRUM_CONFIG=none "$D$PREFIX/bin/vitrum" serve --state "$VT_TMP/st" --port "$P" \
	>"$VT_TMP/serve.log" 2>&1 </dev/null &
SP=$!
wait "$NP"
vt_check_eq "READY=1 sent to \$NOTIFY_SOCKET once listening" "0" "$?"
vt_check "... as 'READY=1 STATUS=serving'" grep -q "READY=1" "$VT_TMP/notify.out"
vt_check "tpm2_getrandom from the installed vitrum" \
	env TPM2TOOLS_TCTI="mssim:host=127.0.0.1,port=$P" tpm2_getrandom --hex 16
vt_check "vitrum status from the installed vitrum" "$D$PREFIX/bin/vitrum" status --port "$P"
cp "$VT_LAST_OUT" "$VT_TMP/status.out"
vt_check "vitrum status names the PCR banks" grep -q "^PCR banks .*sha256" "$VT_TMP/status.out"
vt_check "vitrum status --state: the directory, not encrypted" bash -c \
	"'$D$PREFIX/bin/vitrum' status --port $P --state '$VT_TMP/st' | grep -q '^State directory $VT_TMP/st, [0-9]* octets in [0-9]* files, not encrypted'"
kill -TERM "$SP"
wait "$SP"
vt_check_eq "installed vitrum stops cleanly" "0" "$?"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$VT_TMP/state.key"
VITRUM_CONFIG=none "$D$PREFIX/bin/vitrum" serve --state "$VT_TMP/enc" --key "$VT_TMP/state.key" --port "$P" \
	>"$VT_TMP/serve3.log" 2>&1 </dev/null &
SP=$!
sleep 0.5
vt_check "vitrum status --state: an encrypted directory" bash -c \
	"'$D$PREFIX/bin/vitrum' status --port $P --state '$VT_TMP/enc' | grep -q '^State directory .*, encrypted (AES-256-GCM, raw key)'"
kill -TERM "$SP"
wait "$SP"
"$D$PREFIX/bin/vitrum" status --port "$P" >"$VT_TMP/status2.out" 2>&1
vt_check_eq "vitrum status with no server: exit 1" "1" "$?"
vt_check "... saying it cannot connect" grep -q "cannot connect to 127.0.0.1 port $P" "$VT_TMP/status2.out"
"$D$PREFIX/bin/vitrum" status --tcti "tabrmd:bus_type=session" >/dev/null 2>&1
vt_check_eq "vitrum status with an unsupported TCTI: exit 2" "2" "$?"
"$D$PREFIX/bin/vitrum" status --tcti "mssim:hots=x" >/dev/null 2>&1
vt_check_eq "vitrum status with a bad TCTI option: exit 2" "2" "$?"

# an abstract NOTIFY_SOCKET ("@name") is accepted too; a broken one only warns
NOTIFY_SOCKET="@vitrum-test-$$" VITRUM_CONFIG=none "$D$PREFIX/bin/vitrum" serve --state "$VT_TMP/st" --port "$P" \
	>"$VT_TMP/serve2.log" 2>&1 </dev/null &
SP=$!
sleep 0.5
vt_check "serves with an abstract \$NOTIFY_SOCKET nobody listens on" \
	env TPM2TOOLS_TCTI="mssim:host=127.0.0.1,port=$P" tpm2_getrandom --hex 4
kill -TERM "$SP"
wait "$SP"
vt_check_eq "... and stops cleanly" "0" "$?"

# make uninstall removes what make install put there
if mk uninstall DESTDIR="$D" PREFIX="$PREFIX" >"$VT_TMP/uninstall.out" 2>&1; then
	vt_ok "make uninstall"
	vt_check_eq "nothing but empty directories left" "" "$(cd "$D" && find . ! -type d)"
else
	vt_not_ok "make uninstall" "$(tail -5 "$VT_TMP/uninstall.out")"
fi
# an edited configuration file is kept
mk install DESTDIR="$D" PREFIX="$PREFIX" >/dev/null 2>&1
echo "port = 2400" >>"$D/etc/vitrum/vitrum.conf"
mk uninstall DESTDIR="$D" PREFIX="$PREFIX" >/dev/null 2>&1
vt_check_eq "make uninstall keeps an edited vitrum.conf (and only it)" "./etc/vitrum/vitrum.conf" \
	"$(cd "$D" && find . ! -type d)"
vt_done
