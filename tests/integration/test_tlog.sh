#!/bin/bash
# Release bundles, the transparency log and witnesses (docs/TRANSPARENCY.md):
# sign and verify releases, every refusal with its reason, a log whose
# checkpoints, inclusion and consistency proofs verify, a witness that
# cosigns consistent checkpoints and refuses rollbacks and forks, C2SP tiles
# checked by an independent Python verifier (tlog_check.py), batch appends
# and the stored interior nodes, and kill -9 during single and batch
# appends.  No TPM server is needed.
VT_SCRIPT_TIMEOUT=${VT_SCRIPT_TIMEOUT:-540}
. "$(dirname "$0")/lib.sh"

vt__mktmp
cd "$VT_TMP" || exit 2
V=$VITRUM_BIN
PY=${VT_PYTHON:-python3}
CHK="$VT_LIB_DIR/tlog_check.py"
CRASH_ROUNDS=${TLOG_CRASH_ROUNDS:-24}

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

# flip FILE OFFSET: invert one byte in place
flip() {
	"$PY" -c 'import sys; p, o = sys.argv[1], int(sys.argv[2]); b = bytearray(open(p, "rb").read()); b[o] ^= 0xff; open(p, "wb").write(b)' "$1" "$2"
}

# ---- releases ----
vt_check "release keygen" "$V" release keygen rel.example/r1 --out keys
vt_check "release keygen (another key)" "$V" release keygen rel.example/r1 --out other
vt_check_true "keygen prints the verifier key" [ "$(cat keys/rel.example_r1.pub)" != "" ]
vt_check_eq "private key is 0600" 600 "$(stat -c %a keys/rel.example_r1.key)"
RK=keys/rel.example_r1.key
RP=keys/rel.example_r1.pub
head -c 100000 /dev/urandom >payload.bin
vt_check "release sign" "$V" release sign payload.bin --name vitrum --version 1.0.0 --svn 5 \
	--key "$RK" --out rel.bundle --build "commit 0123abc" --build "builder ci"
vt_check "release verify" "$V" release verify rel.bundle --key "$RP"
vt_check_true "verify prints name, version, svn" grep -q "verified: vitrum 1.0.0 svn 5" "$VT_LAST_OUT"
refused "another release key is refused" "not signed by any trusted key" \
	"$V" release verify rel.bundle --key other/rel.example_r1.pub
cp rel.bundle tampered.bundle
flip tampered.bundle $(($(stat -c %s rel.bundle) - 10))
refused "tampered payload is refused" "SHA-256 differs" "$V" release verify tampered.bundle --key "$RP"
head -c 300 rel.bundle >trunc.bundle
refused "truncated bundle is refused" "malformed or truncated" "$V" release verify trunc.bundle --key "$RP"
# a changed manifest byte (the svn) breaks the signature
sed 's/^svn 5$/svn 9/' rel.bundle >forged.bundle
refused "forged manifest (svn) is refused" "does not verify" "$V" release verify forged.bundle --key "$RP"
vt_check "release sign --detached" "$V" release sign payload.bin --name vitrum --version 1.0.0 \
	--svn 5 --key "$RK" --out detached.bundle --detached
refused "detached bundle needs the payload" "no payload" "$V" release verify detached.bundle --key "$RP"
vt_check "detached bundle + --payload" "$V" release verify detached.bundle --key "$RP" --payload payload.bin
head -c 99999 payload.bin >short.bin
refused "detached bundle + wrong payload" "differs" "$V" release verify detached.bundle --key "$RP" --payload short.bin
refused "bad svn is a usage error" "svn" "$V" release sign payload.bin --name v --version 1 --svn 01 --key "$RK" --out x

# ---- the log ----
vt_check "log init" "$V" log init L --origin log.example/vitrum
LP=L/log.pub
for i in 1 2 3 4 5 6; do
	echo "release $i" >p$i
	"$V" release sign p$i --name vitrum --version 1.$i --svn $i --key "$RK" --out b$i >/dev/null
done
vt_check "log add (3 bundles)" "$V" log add L b1 b2 b3 --key "$RP"
vt_check_eq "indexes printed" "index 0 index 1 index 2" "$(tr '\n' ' ' <"$VT_LAST_OUT" | sed 's/ $//')"
refused "log add refuses a bundle of another key" "not signed|trusted" "$V" log add L b4 --key other/rel.example_r1.pub
refused "log add refuses a non-bundle" "not a bundle" "$V" log add L p1
vt_check "log checkpoint (3)" sh -c "'$V' log checkpoint L >cp3"
vt_check "log add (3 more)" "$V" log add L b4 b5 b6
vt_check "log checkpoint (6)" sh -c "'$V' log checkpoint L >cp6"
vt_check "checkpoint verifies" "$V" log verify cp6 --key "$LP"
vt_check "checkpoint verified by tlog_check.py" "$PY" "$CHK" note cp6 "$LP"
refused "checkpoint with another key" "not signed" "$V" log verify cp6 --key "$RP"
sed '2s/6/7/' cp6 >cp6bad
refused "checkpoint with a changed size" "does not verify" "$V" log verify cp6bad --key "$LP"
ok=0
for i in 0 1 2 3 4 5; do
	"$V" log prove L --index $i >proof$i &&
		"$V" log verify cp6 --key "$LP" --proof proof$i --bundle b$((i + 1)) >/dev/null && ok=$((ok + 1))
done
vt_check_eq "inclusion proofs of every entry verify" 6 "$ok"
refused "inclusion proof for another bundle" "not entry" "$V" log verify cp6 --key "$LP" --proof proof2 --bundle b2
awk 'NR == 3 { c = substr($0, 1, 1); $0 = (c == "A" ? "B" : "A") substr($0, 2) } 1' proof2 >proof2bad
refused "forged inclusion proof" "not entry|not a proof" "$V" log verify cp6 --key "$LP" --proof proof2bad --bundle b3
vt_check "consistency proof 3 -> 6" sh -c "'$V' log prove L --consistency 3 6 >c36"
vt_check "consistency 3 -> 6 verifies" "$V" log verify cp6 --key "$LP" --proof c36 --old cp3
"$V" log prove L --index 0 --size 3 >p0of3
vt_check "inclusion in an older tree size" "$V" log verify cp3 --key "$LP" --proof p0of3 --bundle b1
refused "prove out of range" "out of range" "$V" log prove L --index 6

# bundle + checkpoint + inclusion proof, verified as one
vt_check "log prove --bundle" "$V" log prove L --bundle b4 --out b4.logged
vt_check "release verify --log-key" "$V" release verify b4.logged --key "$RP" --log-key "$LP"
refused "release verify --log-key without a proof" "inclusion proof" "$V" release verify b4 --key "$RP" --log-key "$LP"
refused "release verify --log-key of another log" "not signed" "$V" release verify b4.logged --key "$RP" --log-key "$RP"
"$V" release sign p1 --name vitrum --version 9 --svn 9 --key "$RK" --out unlogged >/dev/null
refused "log prove --bundle of an unlogged release" "not in the log" "$V" log prove L --bundle unlogged --out x

# ---- the witness ----
vt_check "witness init" "$V" witness init W --name witness.example/w1
WP=W/witness.pub
vt_check "witness cosigns a first checkpoint" "$V" witness cosign W --log-key "$LP" cp3 --out cp3w
vt_check "cosignature verified by tlog_check.py" "$PY" "$CHK" cosig cp3w "$WP"
vt_check "the log signature is kept" "$PY" "$CHK" note cp3w "$LP"
refused "growth without a proof is refused" "give --proof" "$V" witness cosign W --log-key "$LP" cp6
refused "a proof for other sizes is refused" "not a consistency proof" "$V" witness cosign W --log-key "$LP" cp6 --proof p0of3
vt_check "witness cosigns a consistent larger checkpoint" "$V" witness cosign W --log-key "$LP" cp6 --proof c36 --out cp6w
vt_check "second cosignature verifies" "$PY" "$CHK" cosig cp6w "$WP"
vt_check "same checkpoint again" "$V" witness cosign W --log-key "$LP" cp6
refused "rollback is refused" "rollback" "$V" witness cosign W --log-key "$LP" cp3
refused "checkpoint of another key is refused" "not signed" "$V" witness cosign W --log-key "$RP" cp6
# A fork: the same log key and origin sign another history.
vt_check "forked log (same key)" "$V" log init F --origin log.example/vitrum --key L/log.key
"$V" log add F b1 b2 b3 b5 b4 b6 >/dev/null
"$V" log checkpoint F >fork6
vt_check "the fork's checkpoint is validly signed" "$V" log verify fork6 --key "$LP"
refused "fork of the same size is refused" "fork" "$V" witness cosign W --log-key "$LP" fork6
"$V" log add F b1 >/dev/null
"$V" log checkpoint F >fork7
"$V" log prove F --consistency 6 7 >fc67
refused "fork of a larger size is refused" "fork" "$V" witness cosign W --log-key "$LP" fork7 --proof fc67
vt_check "witness state unchanged after refusals" "$V" witness cosign W --log-key "$LP" cp6

# ---- tiles ----
args=()
for _ in $(seq 300); do args+=(b6); done
vt_check "log add 300 entries in one call" "$V" log add L "${args[@]}"
"$V" log checkpoint L >cp306
vt_check "log tiles" "$V" log tiles L T
vt_check_true "level 0, level 1 tiles and entry bundles" \
	[ -f T/tile/0/000 -a -f T/tile/0/001.p/50 -a -f T/tile/1/000.p/1 -a -f T/tile/entries/001.p/50 -a -f T/checkpoint ]
vt_check "tiles checked by tlog_check.py" sh -c "'$PY' '$CHK' tiles T '$LP' 0 5 255 256 305 >tileproofs"
for i in 0 5 255 256 305; do "$V" log prove L --index $i; done >vtproofs
vt_check "proofs from the tiles alone match vitrum's" cmp tileproofs vtproofs
vt_check "tiles rewritten (idempotent)" "$V" log tiles L T

# ---- batch appends and the hash store ----
vt_check_eq "nodes holds size - popcount(size) interior hashes" $(((306 - 4) * 32)) "$(stat -c %s L/nodes)"
printf 'b1\n\nb2\nb3\n' >batch3
vt_check "log add --batch FILE (blank lines skipped)" "$V" log add L --batch batch3
vt_check_eq "batch indexes printed" "index 306 index 307 index 308" "$(tr '\n' ' ' <"$VT_LAST_OUT" | sed 's/ $//')"
vt_check "log add --batch - with operands" sh -c "printf 'b4\nb5\n' | '$V' log add L b6 --batch - >bout"
vt_check_eq "operands first, then the batch" "index 309 index 310 index 311" "$(tr '\n' ' ' <bout | sed 's/ $//')"
printf 'b1\nnosuchfile\n' >batchbad
refused "a batch with a missing file is refused" "nosuchfile" "$V" log add L --batch batchbad
printf 'b1\np1\n' >batchbad2
refused "a batch with a non-bundle is refused" "not a bundle" "$V" log add L --batch batchbad2
: >empty
refused "an empty batch is refused" "no bundle" "$V" log add L --batch empty
vt_check_eq "refused batches added nothing" 312 "$(sed -n 's/^size //p' L/tree)"
"$V" log checkpoint L >cp312
"$V" log prove L --index 310 >pr310
vt_check "batch entry proves and verifies" "$V" log verify cp312 --key "$LP" --proof pr310 --bundle b4
"$V" log prove L --consistency 6 312 >c6_312
# A log made before the `nodes` file existed: readers compute the nodes in
# memory, the next add writes the file.
mv L/nodes nodes.saved
"$V" log prove L --consistency 6 312 >c6_312_mem
vt_check "proofs without the nodes file equal the stored ones" cmp c6_312 c6_312_mem
vt_check "log add rebuilds the nodes file" "$V" log add L b1
vt_check "the rebuilt nodes extend the old ones" cmp -n "$(stat -c %s nodes.saved)" nodes.saved L/nodes
"$V" log prove L --consistency 6 312 >c6_312_new
vt_check "proofs after the rebuild are the same" cmp c6_312 c6_312_new

# ---- crash: kill -9 during log add ----
"$V" log init C --origin crash.example/log >/dev/null
for k in $(seq 0 19); do
	echo "crash payload $k" >cp_$k
	"$V" release sign cp_$k --name crash --version $k --svn $k --key "$RK" --out cb$k >/dev/null
done
: >acked
bundles=()
for k in $(seq 0 19); do bundles+=(cb$k); done
# How long one add of 20 bundles takes here (fsyncs, a sanitizer build):
# the first kill lands within that time, later ones in a window that widens
# after a kill and narrows after a completed add.
"$V" log init Cwarm --origin warm.example/log >/dev/null
"$V" log add Cwarm "${bundles[@]}" >/dev/null # the first add is slower
t0=$(date +%s%N)
"$V" log add Cwarm "${bundles[@]}" >/dev/null
ms=$((($(date +%s%N) - t0) / 1000000 + 1))
vt_note "crash: an add takes about $ms ms"
# Batch rounds: 500 entries through --batch (file or stdin), their own
# window.
for k in $(seq 0 499); do echo "cb$((k % 20))"; done >cbatch
"$V" log add Cwarm --batch cbatch >/dev/null
t0=$(date +%s%N)
"$V" log add Cwarm --batch - <cbatch >/dev/null
bms=$((($(date +%s%N) - t0) / 1000000 + 1))
vt_note "crash: a batch add of 500 takes about $bms ms"
killed=0
bkilled=0
for r in $(seq 1 "$CRASH_ROUNDS"); do
	batch=$((r % 2))
	if [ $batch = 1 ]; then
		if [ $((r % 4)) = 1 ]; then
			"$V" log add C --batch cbatch >out.$r 2>/dev/null &
		else
			"$V" log add C --batch - <cbatch >out.$r 2>/dev/null &
		fi
		w=$bms
	else
		"$V" log add C "${bundles[@]}" >out.$r 2>/dev/null &
		w=$ms
	fi
	pid=$!
	d=$((RANDOM % (w + 1)))
	sleep "$((d / 1000)).$(printf %03d $((d % 1000)))"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	# adapt the window so that kills land both before and after commits
	if [ $? -eq 137 ]; then
		killed=$((killed + 1))
		[ $batch = 1 ] && bkilled=$((bkilled + 1)) && bms=$((bms * 3 / 2 + 1))
		[ $batch = 0 ] && ms=$((ms * 3 / 2 + 1))
	else
		[ $batch = 1 ] && bms=$((bms * 2 / 3 + 1))
		[ $batch = 0 ] && ms=$((ms * 2 / 3 + 1))
	fi
	# every complete "index N" line is an acknowledged add of bundle k
	# (of batch line k)
	k=0
	while read -r word n; do
		[ "$word" = index ] && echo "$n cb$((k % 20))" >>acked
		k=$((k + 1))
	done <out.$r
	"$V" log checkpoint C >ccp.$r 2>/dev/null || echo "checkpoint failed after round $r" >>errors
done
vt_note "crash: $killed of $CRASH_ROUNDS adds killed ($bkilled batches), $(wc -l <acked) entries acknowledged"
vt_check_true "some adds were killed, some acknowledged" [ "$killed" -gt 0 -a -s acked ]
vt_check_true "some batch adds were killed" [ "$bkilled" -gt 0 ]
vt_check_true "no checkpoint failed after a kill" [ ! -s errors ]
"$V" log checkpoint C >cfinal
size=$(sed -n 2p cfinal)
vt_check "log tiles of the crashed log" "$V" log tiles C CT
vt_check "every acknowledged add is in the log at its index (tlog_check.py)" \
	"$PY" "$CHK" acked CT C/log.pub acked
# and through vitrum's own proofs, for a sample
bad=0
while read -r n b; do
	"$V" log prove C --index "$n" --size "$size" >ip &&
		"$V" log verify cfinal --key C/log.pub --proof ip --bundle "$b" >/dev/null || bad=$((bad + 1))
done < <(awk 'NR % 25 == 1' acked)
vt_check_eq "sampled acknowledged adds verify with vitrum's proofs" 0 "$bad"
bad=0
for r in $(seq 1 "$CRASH_ROUNDS"); do
	old=$(sed -n 2p ccp.$r)
	"$V" log prove C --consistency "$old" "$size" >cp &&
		"$V" log verify cfinal --key C/log.pub --proof cp --old ccp.$r >/dev/null || bad=$((bad + 1))
done
vt_check_eq "the final tree is consistent with every checkpoint published" 0 "$bad"
# The stored interior nodes after the kills give the proofs an independent
# verifier computes from the leaves alone (the tiles).
idx="0 1 $((size / 3)) $((size / 2)) $((size - 2)) $((size - 1))"
# shellcheck disable=SC2086
"$PY" "$CHK" tiles CT C/log.pub $idx >ctileproofs
for i in $idx; do "$V" log prove C --index "$i"; done >cvtproofs
vt_check "proofs from the stored nodes equal proofs from the leaves" cmp ctileproofs cvtproofs

vt_done
