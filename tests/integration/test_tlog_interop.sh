#!/bin/bash
# The transparency log against the Go reference packages
# golang.org/x/mod/sumdb/note and sumdb/tlog (Debian: golang-go,
# golang-golang-x-mod-dev), through tests/interop/notecheck.go built here,
# offline, from the Debian package sources: vitrum's signed checkpoints,
# cosignatures and manifest notes open with note.Open; vitrum's inclusion
# and consistency proofs pass tlog.CheckRecord / tlog.CheckTree; the C2SP
# tiles read through tlog.TileHashReader and vitrum's hash store read as
# tlog stored hashes give vitrum's root and the very same proofs; and the
# other way: notes signed by Go's note.Sign and keys made by
# note.GenerateKey work with the vitrum tools.  No TPM server is needed.
VT_SCRIPT_TIMEOUT=${VT_SCRIPT_TIMEOUT:-300}
. "$(dirname "$0")/lib.sh"

vt__mktmp
SRC=$(cd "$(dirname "$0")/../interop" && pwd)
cd "$VT_TMP" || exit 2
V=$VITRUM_BIN

if ! command -v go >/dev/null 2>&1 || [ ! -d /usr/share/gocode/src/golang.org/x/mod/sumdb/tlog ]; then
	vt_skip "Go interoperability" "go or golang.org/x/mod missing (apt-get install golang-go golang-golang-x-mod-dev; scripts/bootstrap.sh test)"
	vt_done
fi
# GOPATH mode on Debian's package sources: no module download, no network.
export GOPATH=/usr/share/gocode GO111MODULE=off GOPROXY=off GOFLAGS= GOCACHE="$VT_TMP/gocache"
export GOTOOLCHAIN=local
vt_check "notecheck.go builds with Debian's x/mod ($(go version | cut -d' ' -f3))" \
	go build -o "$VT_TMP/notecheck" "$SRC/notecheck.go"
NC=$VT_TMP/notecheck
[ -x "$NC" ] || vt_done

# refused NAME REGEX cmd...: cmd fails and its stderr matches REGEX
refused() {
	local name=$1 re=$2 out rc
	shift 2
	out=$("$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -ne 0 ] && grep -Eq "$re" <<<"$out"; then
		vt_ok "$name"
	else
		vt_not_ok "$name" "exit $rc, wanted a refusal matching /$re/: $out"
	fi
}

# ---- a log of 700 entries (three tile levels' worth of edges) ----
"$V" release keygen rel.example/r1 --out keys >/dev/null
"$V" release keygen other.example/r1 --out other >/dev/null
RK=keys/rel.example_r1.key
RP=keys/rel.example_r1.pub
for i in $(seq 0 9); do
	echo "payload $i" >p$i
	"$V" release sign p$i --name interop --version 1.$i --svn $i --key "$RK" --out b$i >/dev/null
done
vt_check "manifest note opens with note.Open" "$NC" manifest b3 "$RP"
refused "manifest with another key is refused by note.Open" "unknown key|verif" \
	"$NC" manifest b3 other/other.example_r1.pub
"$V" log init L --origin interop.example/log >/dev/null
LP=L/log.pub
vt_check "log add b0..b4" "$V" log add L b0 b1 b2 b3 b4
"$V" log checkpoint L >cp5
for i in $(seq 0 694); do echo "b$((i % 10))"; done >batch
vt_check "log add --batch (695)" "$V" log add L --batch batch
"$V" log checkpoint L >cp700
vt_check "checkpoint opens with note.Open" "$NC" note cp700 "$LP"
vt_check_true "note.Open names the log key" grep -q "verified interop.example/log" "$VT_LAST_OUT"

# inclusion proofs through tlog.CheckRecord
bad=0
for i in 0 1 4 5 255 256 511 512 699; do
	"$V" log prove L --index $i >pr$i && "$NC" inclusion cp700 "$LP" "b$(((i < 5 ? i : i - 5) % 10))" pr$i >/dev/null ||
		bad=$((bad + 1))
done
vt_check_eq "vitrum inclusion proofs pass tlog.CheckRecord (9 entries)" 0 "$bad"
"$V" log prove L --index 3 --size 5 >pr3of5
vt_check "inclusion in the older checkpoint" "$NC" inclusion cp5 "$LP" b3 pr3of5
refused "tlog.CheckRecord refuses another entry's proof" "CheckRecord" "$NC" inclusion cp700 "$LP" b2 pr1
# consistency proofs through tlog.CheckTree
vt_check "consistency 5 -> 700 passes tlog.CheckTree" sh -c "'$V' log prove L --consistency 5 700 >c5 && '$NC' consistency cp5 cp700 '$LP' c5"
"$V" log add L b9 >/dev/null
"$V" log checkpoint L >cp701
bad=0
for o in 1 2 3 4 5 255 256 257 512 699 700; do
	"$V" log prove L --consistency $o 701 >c || { bad=$((bad + 1)); continue; }
	[ $o = 5 ] && cp c c5to701
	# the same proof from Go's tlog.ProveTree over vitrum's hash store
	"$NC" store L "$LP" $o | sed -n '1,/^inclusion/p' | grep -v '^inclusion' >cgo 2>/dev/null
	cmp -s c cgo || bad=$((bad + 1))
done
vt_check_eq "consistency proofs to 701 from 11 older sizes equal tlog.ProveTree's" 0 "$bad"
vt_check "consistency 5 -> 701 passes tlog.CheckTree" "$NC" consistency cp5 cp701 "$LP" c5to701
awk 'NR == 3 { c = substr($0, 1, 1); $0 = (c == "A" ? "B" : "A") substr($0, 2) } 1' c5to701 >cbad
refused "tlog.CheckTree refuses a changed proof hash" "CheckTree" "$NC" consistency cp5 cp701 "$LP" cbad

# cosignatures (type 0x04) open with a note.Verifier for cosignature/v1
"$V" witness init W --name witness.example/w1 >/dev/null
vt_check "witness cosigns" "$V" witness cosign W --log-key "$LP" cp5 --out cp5w
vt_check "cosigned checkpoint opens with both keys" "$NC" note cp5w "$LP" W/witness.pub
vt_check_eq "note.Open verified both signatures" 2 "$(grep -c '^verified' "$VT_LAST_OUT")"
sed 's/^5$/6/' cp5w >cp5wbad
refused "a changed cosigned checkpoint is refused" "invalid signature|verify" "$NC" note cp5wbad W/witness.pub

# tiles through tlog.TileHashReader, and vitrum's own hash store
vt_check "log tiles" "$V" log tiles L T
vt_check "tiles read with tlog.TileHashReader: root and proofs" \
	sh -c "'$NC' tiles T '$LP' 0 255 256 600 700 >goproofs"
for i in 0 255 256 600 700; do "$V" log prove L --index $i; done >vtproofs
vt_check "Go's tlog.ProveRecord proofs from the tiles equal vitrum's" cmp goproofs vtproofs
vt_check "hash store (leaves, nodes) read as tlog stored hashes" \
	sh -c "'$NC' store L '$LP' 257 0 3 256 700 >gostore"
{ "$V" log prove L --consistency 257 701; for i in 0 3 256 700; do "$V" log prove L --index $i; done; } >vtstore
vt_check "tlog.ProveTree / ProveRecord over vitrum's store equal vitrum's proofs" cmp gostore vtstore

# ---- the other direction: Go signs, vitrum verifies ----
sed -n '1,/^$/p' cp701 | sed '$d' >cptext
vt_check "note.Sign with the log's signer key" sh -c "'$NC' sign L/log.key cptext >cpgo"
vt_check "vitrum log verify accepts Go's signed checkpoint" "$V" log verify cpgo --key "$LP"
vt_check_eq "Go's signature line equals vitrum's (Ed25519 is deterministic)" \
	"$(tail -n 1 cp701)" "$(tail -n 1 cpgo)"
vt_check "vitrum verifies consistency with Go's checkpoint" "$V" log verify cpgo --key "$LP" --proof c5to701 --old cp5
"$NC" keygen go.example/rel >gokeys
sed -n 1p gokeys >go.key
sed -n 2p gokeys >go.pub
vt_check "vitrum release sign with a key from note.GenerateKey" \
	"$V" release sign p1 --name interop --version 9 --svn 9 --key go.key --out gob
vt_check "vitrum release verify with Go's verifier key" "$V" release verify gob --key go.pub
vt_check "note.Open verifies vitrum's signature by the Go key" "$NC" manifest gob go.pub
printf 'not a checkpoint\n' >junk
"$NC" sign go.key junk >junk.note
refused "vitrum refuses a Go note signed by another key" "not signed" "$V" log verify junk.note --key "$LP"

vt_done
