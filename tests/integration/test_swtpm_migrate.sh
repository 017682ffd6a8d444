#!/bin/bash
# vitrum swtpm with tpm2-tools over the swtpm TCTI, and migration with state
# blobs: instance A (TCP data + TCP control, not-need-init, startup-clear)
# gets a key loaded and PCR 16 extended; its permanent, volatile and
# savestate blobs (encrypted with the migration key) go into a fresh
# instance B (STOP, SET_STATEBLOB x3, INIT), which signs with the same
# loaded key handle and shows the same PCRs.  Damaged, truncated, retyped,
# plain-instead-of-encrypted and wrong-key blobs are refused whole.
. "$(dirname "$0")/lib.sh"
vt__mktmp
CTL="$VT_LIB_DIR/swtpm_ctrl.py"
T=$VT_TMP

PIDS=()
start() { # start NAME [extra args]: sets PORT_<NAME>
	local name=$1 port
	shift
	port=$(vt__free_port) || exit 2
	mkdir -p "$T/$name.state"
	"$VITRUM_BIN" swtpm socket --tpm2 --server type=tcp,port=$port --ctrl type=tcp,port=$((port + 1)) \
		--tpmstate dir="$T/$name.state" --log file="$T/$name.log",level=5 "$@" 2>>"$T/$name.log" &
	PIDS+=($!)
	eval "PORT_$name=$port"
	for _ in $(seq 1 100); do
		"$VT_PYTHON" "$CTL" --tcp $((port + 1)) config >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	vt_not_ok "instance $name starts"
	vt_done
}
ctl() { local p="PORT_$1"; shift; "$VT_PYTHON" "$CTL" --tcp $((${!p} + 1)) "$@"; }
use() { local p="PORT_$1"; export TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=${!p}"; }
cleanup_pids() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
}
trap 'cleanup_pids; vt_cleanup' EXIT

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/mkey"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/otherkey"
MK="--migration-key file=$T/mkey"

# ---- A: tpm2-tools over tcti-swtpm
start A --flags not-need-init,startup-clear $MK
use A
vt_check "tpm2_getrandom over the swtpm TCTI" tpm2_getrandom --hex 16
vt_check "tpm2_pcrextend 16" tpm2_pcrextend 16:sha256=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
vt_check "tpm2_createprimary" tpm2_createprimary -C o -g sha256 -G ecc -c "$T/primary.ctx"
vt_check "tpm2_readpublic of A's primary" tpm2_readpublic -c "$T/primary.ctx" -o "$T/primaryA.pub"
vt_check "tpm2_create a signing key" tpm2_create -C "$T/primary.ctx" -G ecc -u "$T/key.pub" -r "$T/key.priv"
vt_check "tpm2_load it" tpm2_load -C "$T/primary.ctx" -u "$T/key.pub" -r "$T/key.priv" -c "$T/key.ctx"
KEYH=$(tpm2_getcap handles-transient | sed -n 's/^- *//p' | tail -1)
vt_check_true "the key is loaded at a transient handle ($KEYH)" [ -n "$KEYH" ]
vt_check "its public key as PEM" tpm2_readpublic -c "$KEYH" -f pem -o "$T/key.pem"
echo "message before migration" >"$T/msg"
vt_check "A signs with it" tpm2_sign -c "$KEYH" -g sha256 -f plain -o "$T/sigA.der" "$T/msg"
vt_check "A's signature verifies" openssl dgst -sha256 -verify "$T/key.pem" -signature "$T/sigA.der" "$T/msg"
vt_check "a context-saved session travels too" tpm2_startauthsession -S "$T/session.ctx"
PCRS_A=$(tpm2_pcrread sha256:0,16,23)
vt_check "getcap flags" ctl A config
vt_check_eq "GET_CONFIG reports the migration key" "result=0 flags=2" "$(ctl A config)"

# ---- blobs out of the running A
for t in 1 2 3; do
	vt_check "GET_STATEBLOB type $t from the running A" ctl A get-blob $t "$T/blob$t"
done
vt_check_true "the permanent blob is flagged encrypted" grep -q "flags=2" <(ctl A get-blob 1 "$T/blob1b")
vt_check_true "... and its secrets are not in clear (no PEM/ASN.1 search possible; differs from a plain copy)" \
	bash -c "! cmp -s '$T/blob1' '$T/blob1b'"
kill -TERM "${PIDS[0]}"
wait "${PIDS[0]}" 2>/dev/null

# ---- B: a fresh instance takes them
start B $MK
vt_check_eq "STOP" "result=0" "$(ctl B stop)"
vt_check_eq "SET_STATEBLOB permanent" "result=0" "$(ctl B --flags 2 set-blob 1 "$T/blob1")"
vt_check_eq "SET_STATEBLOB volatile" "result=0" "$(ctl B --flags 2 set-blob 2 "$T/blob2")"
vt_check_eq "SET_STATEBLOB savestate" "result=0" "$(ctl B --flags 2 set-blob 3 "$T/blob3")"
vt_check_eq "INIT" "result=0" "$(ctl B init)"
use B
vt_check_eq "B shows A's PCRs" "$PCRS_A" "$(tpm2_pcrread sha256:0,16,23)"
echo "message after migration" >"$T/msg2"
vt_check "B signs with the key still loaded at $KEYH" tpm2_sign -c "$KEYH" -g sha256 -f plain -o "$T/sigB.der" "$T/msg2"
vt_check "B's signature verifies with A's key" openssl dgst -sha256 -verify "$T/key.pem" -signature "$T/sigB.der" "$T/msg2"
vt_check "B loads A's saved key context" tpm2_sign -c "$T/key.ctx" -g sha256 -f plain -o "$T/sigC.der" "$T/msg2"
vt_check "B recreates A's primary" tpm2_createprimary -C o -g sha256 -G ecc -c "$T/primaryB.ctx"
vt_check "... readpublic" tpm2_readpublic -c "$T/primaryB.ctx" -o "$T/primaryB.pub"
vt_check "B's primary is A's (same seeds)" cmp "$T/primaryA.pub" "$T/primaryB.pub"
vt_check "B takes the session A saved" tpm2_sessionconfig "$T/session.ctx"
vt_check "... and flushes it" tpm2_flushcontext "$T/session.ctx"
tpm2_flushcontext -t >/dev/null 2>&1

# ---- C: bad blobs are refused whole
start C $MK
vt_check_eq "C: STOP" "result=0" "$(ctl C stop)"
corrupt() { # corrupt IN OUT OFFSET
	"$VT_PYTHON" -c "import sys;d=bytearray(open(sys.argv[1],'rb').read());o=int(sys.argv[3]);o=o if o>=0 else len(d)+o;d[o]^=0x40;open(sys.argv[2],'wb').write(d)" "$1" "$2" "$3"
}
corrupt "$T/blob1" "$T/bad1" 500
corrupt "$T/blob1" "$T/bad1tag" -1
corrupt "$T/blob2" "$T/bad2" 3000
head -c 1000 "$T/blob1" >"$T/short1"
vt_check_fails "a damaged permanent blob is refused" ctl C --flags 2 set-blob 1 "$T/bad1"
vt_check_fails "a permanent blob with a damaged tag is refused" ctl C --flags 2 set-blob 1 "$T/bad1tag"
vt_check_fails "a truncated permanent blob is refused" ctl C --flags 2 set-blob 1 "$T/short1"
vt_check_fails "a volatile blob offered as permanent is refused" ctl C --flags 2 set-blob 1 "$T/blob2"
vt_check_fails "a damaged volatile blob is refused" ctl C --flags 2 set-blob 2 "$T/bad2"
vt_check_fails "an encrypted blob sent as plain is refused" ctl C set-blob 1 "$T/blob1"
vt_check_eq "C: INIT" "result=0" "$(ctl C init)"
use C
vt_check "C: tpm2_startup (INIT is _TPM_Init, as with swtpm)" tpm2_startup -c
vt_check_eq "C kept its own state: PCR 16 is zero" \
	"0x0000000000000000000000000000000000000000000000000000000000000000" \
	"$(tpm2_pcrread sha256:16 | sed -n 's/.*16 *: *//p')"
vt_check "C: createprimary" tpm2_createprimary -C o -g sha256 -G ecc -c "$T/primaryC.ctx"
vt_check "C: readpublic" tpm2_readpublic -c "$T/primaryC.ctx" -o "$T/primaryC.pub"
vt_check_true "C's primary is not A's (no part of a refused blob was applied)" \
	bash -c "! cmp -s '$T/primaryA.pub' '$T/primaryC.pub'"

# ---- D: the wrong migration key, and no migration key
start D --migration-key file="$T/otherkey"
ctl D stop >/dev/null
vt_check_fails "a blob under another migration key is refused" ctl D --flags 2 set-blob 1 "$T/blob1"
vt_check_true "... and the log says why" grep -q "wrong migration key or damaged" "$T/D.log"
start E
ctl E stop >/dev/null
vt_check_fails "an encrypted blob without a migration key is refused" ctl E --flags 2 set-blob 1 "$T/blob1"
vt_check_eq "E: INIT" "result=0" "$(ctl E init)"
vt_check_eq "E: plain blobs come out unflagged" "0" \
	"$(ctl E get-blob 1 "$T/plain1" | sed -n 's/.* flags=\([0-9]*\).*/\1/p')"
corrupt "$T/plain1" "$T/plain1bad" 300
ctl E stop >/dev/null
vt_check_fails "a damaged plain blob is refused (checksum)" ctl E set-blob 1 "$T/plain1bad"
vt_check_eq "an intact plain blob is taken back" "result=0" "$(ctl E set-blob 1 "$T/plain1")"
vt_done
