#!/bin/bash
# vitrum.conf (tools/config.c): every bad key or value is refused at start
# with one line "FILE:LINE: reason" and exit status 2, before anything is
# opened; good settings take effect; the command line wins over the file;
# --config, $VITRUM_CONFIG and "--config none" pick the file.  Also the
# logger's options (--log, --log-level) and SIGHUP reopening the log file.
. "$(dirname "$0")/lib.sh"

if [ "$VT_TARGET" != vitrum ]; then
	vt_skip "vitrum.conf" "vitrum only"
	vt_done
fi
vt__mktmp
C="$VT_TMP/conf"
mkdir -p "$C"
export VITRUM_CONFIG=none # the machine's /etc/vitrum/vitrum.conf stays out of this

# bad_case NAME "FILE CONTENT" LINE "REASON (a fixed string the line must contain)"
bad_case() {
	local name=$1 content=$2 line=$3 reason=$4 f="$C/$1.conf" out rc n
	printf '%b' "$content" >"$f"
	out=$("$VITRUM_BIN" serve --config "$f" --state "$VT_TMP/never" --port 1 2>&1 </dev/null)
	rc=$?
	n=$(printf '%s\n' "$out" | grep -c .)
	if [ "$rc" -eq 2 ] && [ "$n" -eq 1 ] && [[ "$out" == "$f:$line: "*"$reason"* ]]; then
		vt_ok "bad config: $name -> exit 2, '$out'"
	else
		vt_not_ok "bad config: $name" "exit $rc, $n lines, expected '$f:$line: ...$reason...': $out"
	fi
}

bad_case unknown-key 'port = 2321\nfrobnicate = 1\n' 2 "unknown key 'frobnicate'"
bad_case no-equals '# comment\n\nport 2321\n' 3 "expected 'key = value'"
bad_case empty-key ' = 5\n' 1 "expected 'key = value'"
bad_case empty-value 'state =\n' 1 "state: empty value"
bad_case port-text 'port = http\n' 1 "port: must be a number from 1 to 65534, not 'http'"
bad_case port-zero 'port = 0\n' 1 "port: must be a number from 1 to 65534"
bad_case port-big 'port = 65535\n' 1 "port: must be a number from 1 to 65534"
bad_case port-trailing 'port = 23x\n' 1 "port: must be a number"
bad_case listen-name 'listen = example.org\n' 1 "listen: must be an IPv4 or IPv6 address"
bad_case startup 'startup = warm\n' 1 "startup: must be clear, state or none"
bad_case nv-size-small 'nv-size = 512\n' 1 "nv-size: must be a size from 1K to 8M"
bad_case nv-size-big 'nv-size = 9M\n' 1 "nv-size: must be a size from 1K to 8M"
bad_case nv-size-unit 'nv-size = 64Q\n' 1 "nv-size: must be a size"
bad_case nv-size-negative 'nv-size = -1\n' 1 "nv-size: must be a size"
bad_case bool 'keep-loaded = maybe\n' 1 "keep-loaded: must be yes or no"
bad_case bool2 'no-sandbox = 2\n' 1 "no-sandbox: must be yes or no"
bad_case log-level 'log-level = verbose\n' 1 "log-level: must be error, warn, info or debug"
bad_case log-relative 'log = vitrum.log\n' 1 "log: must be stderr, syslog or an absolute file path"
bad_case twice 'port = 2400\n# again\nport = 2500\n' 3 "port: set twice (first on line 1)"
bad_case config-in-file 'config = /etc/other.conf\n' 1 "'config' cannot be set in a configuration file"
bad_case nul 'port = 1\0\n' 1 "NUL octet"
bad_case long-line "state = /$(printf 'x%.0s' $(seq 5000))\n" 1 "line longer than 4096 octets"
bad_case case-matters 'Port = 2321\n' 1 "unknown key 'Port'"
bad_case flag-dashes '--port = 2321\n' 1 "unknown key '--port'"

# a bad key value is refused without repeating it (it may be a secret by mistake)
printf 'key =   \n' >"$C/key-empty.conf"
out=$("$VITRUM_BIN" serve --config "$C/key-empty.conf" --state "$VT_TMP/never" 2>&1)
vt_check_eq "empty key spec: exit 2" "2" "$?"
vt_check_true "empty key spec: one line naming file and line" [ "$out" = "$C/key-empty.conf:1: key: empty value" ]
vt_check_true "nothing was created for the refused starts" [ ! -e "$VT_TMP/never" ]

# a file that cannot be read: exit 2, one line
out=$("$VITRUM_BIN" serve --config "$C/missing.conf" --state "$VT_TMP/never" 2>&1)
vt_check_eq "missing --config file: exit 2" "2" "$?"
vt_check_true "missing --config file: one line with the reason" \
	bash -c '[ "$(printf "%s\n" "$1" | wc -l)" -eq 1 ] && [[ "$1" == *"missing.conf: No such file"* ]]' _ "$out"
out=$(VITRUM_CONFIG="$C/missing.conf" "$VITRUM_BIN" serve --state "$VT_TMP/never" 2>&1)
vt_check_eq "missing \$VITRUM_CONFIG file: exit 2" "2" "$?"
out=$("$VITRUM_BIN" serve --config 2>&1)
vt_check_eq "--config without a file: exit 2" "2" "$?"

# a command-line value is checked as before
out=$("$VITRUM_BIN" serve --log-level loud 2>&1)
vt_check_eq "--log-level loud: exit 2" "2" "$?"
out=$("$VITRUM_BIN" serve --log relative.log 2>&1)
vt_check_eq "--log relative path: exit 2" "2" "$?"
out=$("$VITRUM_BIN" serve --keep-loaded=perhaps 2>&1)
vt_check_eq "--keep-loaded=perhaps: exit 2" "2" "$?"

# ---- good files take effect; the command line wins
P=$(vt__free_port) || vt_done
Q=$(vt__free_port) || vt_done
cat >"$C/good.conf" <<CONF
# a comment, then blank lines and spaces around keys and values

   port   =   $P
listen = 127.0.0.1
startup = clear
nv-size = 128K
keep-loaded = no
log-level = debug
log = $VT_TMP/vitrum.log
CONF
serve_bg() { # serve_bg LOGFILE args...: start, wait until it answers
	local log=$1 i
	shift
	"$VITRUM_BIN" serve "$@" >"$log" 2>&1 </dev/null &
	SP=$!
	for i in $(seq 1 50); do
		vt__alive "$SP" || return 1
		"$VT_PYTHON" "$VT_RAWTPM" --proto mssim --port "$PORT" --timeout 1 ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
stop_bg() {
	kill -TERM "$SP" 2>/dev/null
	wait "$SP"
}

PORT=$P
if serve_bg "$VT_TMP/stderr1" --config "$C/good.conf" --state "$VT_TMP/s1"; then
	vt_ok "serve with the good file listens on its port $P"
	vt_check "tpm2_getrandom through the port of the file" \
		env TPM2TOOLS_TCTI="mssim:host=127.0.0.1,port=$P" tpm2_getrandom --hex 8
	mv "$VT_TMP/vitrum.log" "$VT_TMP/vitrum.log.1"
	kill -HUP "$SP"
	sleep 0.3
	vt_check_true "server still up after SIGHUP" vt__alive "$SP"
	stop_bg
	vt_check_eq "clean stop: exit 0" "0" "$?"
	sleep 0.3 # the log helper writes the last line after the server has gone
	vt_check "log file: the start line, with a timestamp" \
		grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z vitrum\[[0-9]+\]: serving TPM 2.0' "$VT_TMP/vitrum.log.1"
	vt_check "log level debug: the configuration file is named" \
		grep -q "debug: configuration file $C/good.conf" "$VT_TMP/vitrum.log.1"
	vt_check "after SIGHUP the log file was reopened: the stop line is in the new file" \
		grep -q 'stopped by SIGTERM, state saved' "$VT_TMP/vitrum.log"
	vt_check_fails "... and not in the old one" grep -q 'stopped by' "$VT_TMP/vitrum.log.1"
	vt_check_true "nothing on stderr when logging to a file" [ ! -s "$VT_TMP/stderr1" ]
else
	vt_not_ok "serve with the good file listens on its port $P" "$(cat "$VT_TMP/stderr1")"
fi

# the command line wins over the file: --port, --log, --log-level
PORT=$Q
if serve_bg "$VT_TMP/stderr2" --config "$C/good.conf" --state "$VT_TMP/s1" --port "$Q" --log stderr --log-level warn; then
	vt_ok "--port on the command line wins over port = in the file"
	vt_check_fails "the file's port is not used" \
		"$VT_PYTHON" "$VT_RAWTPM" --proto mssim --port "$P" --timeout 1 ping
	stop_bg
	vt_check_true "--log-level warn: no info lines on stderr" [ ! -s "$VT_TMP/stderr2" ]
else
	vt_not_ok "--port on the command line wins over port = in the file" "$(cat "$VT_TMP/stderr2")"
fi

# $VITRUM_CONFIG names the file when --config does not; none reads nothing
PORT=$P
if VITRUM_CONFIG="$C/good.conf" serve_bg "$VT_TMP/stderr3" --state "$VT_TMP/s1" --log stderr; then
	vt_ok "\$VITRUM_CONFIG is read"
	stop_bg
	vt_check "its log-level debug applies" grep -q "vitrum: debug: configuration file $C/good.conf" "$VT_TMP/stderr3"
else
	vt_not_ok "\$VITRUM_CONFIG is read" "$(cat "$VT_TMP/stderr3")"
fi
PORT=$Q
if VITRUM_CONFIG="$C/port-text.conf" serve_bg "$VT_TMP/stderr4" --config none --state "$VT_TMP/s1" --port "$Q"; then
	vt_ok "--config none: no file is read (a bad \$VITRUM_CONFIG is ignored)"
	stop_bg
	vt_check "default log on stderr: the start line" grep -q "^vitrum: serving TPM 2.0" "$VT_TMP/stderr4"
else
	vt_not_ok "--config none: no file is read" "$(cat "$VT_TMP/stderr4")"
fi

# a boolean of the file is overridden with =no on the command line
printf 'keep-loaded = yes\nmanufacture = no\nno-sandbox = no\n' >"$C/bool.conf"
if serve_bg "$VT_TMP/stderr5" --config "$C/bool.conf" --state "$VT_TMP/s1" --port "$Q" --keep-loaded=no; then
	vt_ok "booleans from the file, overridden by --keep-loaded=no"
	stop_bg
else
	vt_not_ok "booleans from the file, overridden by --keep-loaded=no" "$(cat "$VT_TMP/stderr5")"
fi

# ---- under systemd: stderr is the journal's (JOURNAL_STREAM names it), so
# each line carries its syslog priority "<N>" for the journal
: >"$VT_TMP/journal.err"
js=$(stat -c '%d:%i' "$VT_TMP/journal.err")
PORT=$Q
JOURNAL_STREAM=$js "$VITRUM_BIN" serve --config none --state "$VT_TMP/s1" --port "$Q" 2>>"$VT_TMP/journal.err" </dev/null &
SP=$!
for i in $(seq 1 50); do grep -q serving "$VT_TMP/journal.err" && break; sleep 0.1; done
stop_bg
vt_check "JOURNAL_STREAM on stderr: '<6>serving ...' (priority info)" grep -q '^<6>serving TPM 2.0' "$VT_TMP/journal.err"
vt_check "JOURNAL_STREAM on stderr: '<6>stopped by SIGTERM'" grep -q '^<6>stopped by SIGTERM' "$VT_TMP/journal.err"
if JOURNAL_STREAM=1:1 serve_bg "$VT_TMP/journal2.err" --config none --state "$VT_TMP/s1" --port "$Q"; then
	stop_bg
	vt_check "a JOURNAL_STREAM that is not our stderr is ignored: plain lines" \
		grep -q '^vitrum: serving TPM 2.0' "$VT_TMP/journal2.err"
else
	vt_not_ok "serve with a foreign JOURNAL_STREAM" "$(cat "$VT_TMP/journal2.err")"
fi

# ---- --log syslog: RFC 3164 lines on /dev/log (only where no syslog
# daemon owns /dev/log and we may create it: a throwaway test machine)
if [ ! -e /dev/log ] && [ -w /dev ]; then
	cat >"$VT_TMP/syslog.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind('/dev/log'); s.settimeout(10)
open(sys.argv[1], 'w').close()
try:
    while True:
        m = s.recv(4096).decode()
        print(m, flush=True)
        if 'stopped by' in m:
            break
except socket.timeout:
    pass
PY
	"$VT_PYTHON" "$VT_TMP/syslog.py" "$VT_TMP/syslog.bound" >"$VT_TMP/syslog.out" 2>&1 &
	LP=$!
	for i in $(seq 1 50); do [ -e "$VT_TMP/syslog.bound" ] && break; sleep 0.1; done
	if serve_bg "$VT_TMP/stderr6" --config none --state "$VT_TMP/s1" --port "$Q" --log syslog; then
		stop_bg
		vt_ok "--log syslog: serves"
	else
		vt_not_ok "--log syslog: serves" "$(cat "$VT_TMP/stderr6")"
	fi
	wait "$LP"
	rm -f /dev/log
	vt_check "--log syslog: '<30>Mmm dd hh:mm:ss vitrum[PID]: serving' (daemon.info)" \
		grep -Eq '^<30>[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} vitrum\[[0-9]+\]: serving TPM 2.0' "$VT_TMP/syslog.out"
	vt_check "--log syslog: the stop line too" grep -q 'vitrum\[[0-9]*\]: stopped by SIGTERM, state saved' "$VT_TMP/syslog.out"
	vt_check_true "--log syslog: nothing on stderr" [ ! -s "$VT_TMP/stderr6" ]
else
	vt_skip "--log syslog" "/dev/log exists (a syslog daemon) or /dev is not writable"
fi
out=$(VITRUM_CONFIG=none "$VITRUM_BIN" serve --state "$VT_TMP/s1" --port "$Q" --log syslog 2>&1 </dev/null)
rc=$?
if [ ! -e /dev/log ]; then
	vt_check_eq "--log syslog without /dev/log: exit 1" "1" "$rc"
	vt_check "... with a one-line reason" bash -c '[[ "$1" == "vitrum: cannot reach syslog at /dev/log: "* ]]' _ "$out"
fi

vt_done
