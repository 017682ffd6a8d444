#!/bin/bash
# Transparency log benchmark (docs/PERFORMANCE.md "transparency log"):
# appends of N entries (default 1 million) in one `vitrum log add --batch`,
# the disk they take, a further batch and single adds on the full log,
# checkpoint signing, proof generation (inclusion, consistency; median of
# in-process `vitrum log prove` calls) and bundle verification as the engine
# does it (vt_release_verify with a log key, vt_note_verify of a checkpoint
# with 3 witness cosignatures).  `make bench-tlog` runs it.
#
#   bench/tlog.sh [--entries N] [--distinct K] [--proofs N] [--verifies N] [--keep]
#
# The input is K distinct signed bundles (default 1000, made by
# bench/tlog_bench.c) listed N / K times each: the log does not deduplicate,
# so every line is a full append (read, parse, hash, write); only the input
# files stay in the page cache.  Work files go under TMPDIR (default
# /var/tmp: a disk, not a tmpfs, so the fsyncs are real).
set -u
BUILD=${BUILD:-build}
VITRUM=${VITRUM:-$BUILD/vitrum}
TB=${TLOG_BENCH:-$BUILD/bench/tlog_bench}
ENTRIES=${ENTRIES:-1000000}
DISTINCT=${DISTINCT:-1000}
PROOFS=${PROOFS:-1000}
VERIFIES=${VERIFIES:-2000}
KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--entries) ENTRIES=$2; shift 2 ;;
	--distinct) DISTINCT=$2; shift 2 ;;
	--proofs) PROOFS=$2; shift 2 ;;
	--verifies) VERIFIES=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	*) echo "usage: $0 [--entries N] [--distinct K] [--proofs N] [--verifies N] [--keep]" >&2; exit 2 ;;
	esac
done
for f in "$VITRUM" "$TB"; do
	[ -x "$f" ] || { echo "tlog.sh: $f missing (make BUILD=$BUILD bench-tlog builds it)" >&2; exit 2; }
done
W=$(mktemp -d "${TMPDIR:-/var/tmp}/vitrum-tlog-bench.XXXXXX") || exit 2
[ "$KEEP" = 1 ] || trap 'rm -rf "$W"' EXIT
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "# vitrum transparency log benchmark"
echo "$(uname -r); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(nproc) CPUs"
echo "filesystem of $W: $(df -T "$W" | awk 'NR == 2 { print $2 " on " $1 }')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"

"$TB" gen "$W/in" "$DISTINCT" || exit 1
( cd "$W/in/b" && ls ) >"$W/names"
awk -v n="$ENTRIES" -v dir="$W/in/b" '{ name[NR - 1] = $0 } END { for (i = 0; i < n; i++) print dir "/" name[i % NR] }' \
	"$W/names" >"$W/list"
"$VITRUM" log init "$W/L" --origin bench.example/log >/dev/null || exit 1
sync

t=$(date +%s%N)
"$VITRUM" log add "$W/L" --batch "$W/list" >"$W/add.out" || exit 1
add_ms=$(ms "$t")
[ "$(wc -l <"$W/add.out")" -eq "$ENTRIES" ] || { echo "tlog.sh: not every entry acknowledged" >&2; exit 1; }
echo
echo "## appends"
echo "batch_append entries $ENTRIES ms $add_ms per_minute $((ENTRIES * 60000 / (add_ms + 1)))"
for f in data leaves nodes; do
	echo "disk $f bytes $(stat -c %s "$W/L/$f")"
done
echo "disk total_kib $(du -sk "$W/L" | cut -f1) bytes_per_entry $(($(du -sb "$W/L" | cut -f1) / ENTRIES))"

head -n 1000 "$W/list" >"$W/list1k"
t=$(date +%s%N)
"$VITRUM" log add "$W/L" --batch "$W/list1k" >/dev/null || exit 1
echo "batch_append_on_full_log entries 1000 ms $(ms "$t")"
for i in $(seq 11); do
	t=$(date +%s%N)
	"$VITRUM" log add "$W/L" "$W/in/b/$((i - 1))" >/dev/null || exit 1
	ms "$t"
done | median | sed 's/^/single_add_on_full_log (process start + commit) median_ms /'
for i in $(seq 5); do
	t=$(date +%s%N)
	"$VITRUM" log checkpoint "$W/L" >"$W/cp" || exit 1
	ms "$t"
done | median | sed 's/^/checkpoint (process start + sign) median_ms /'

echo
echo "## proofs (in-process vitrum log prove, open to formatted proof)"
"$TB" prove "$W/L" "$PROOFS" || exit 1
t=$(date +%s%N)
"$VITRUM" log prove "$W/L" --index 123 >/dev/null || exit 1
echo "prove_inclusion_cli (process start included) ms $(ms "$t")"

echo
echo "## verification (in-process, the engine's code)"
"$VITRUM" log prove "$W/L" --bundle "$W/in/b/0" --out "$W/logged" >/dev/null || exit 1
"$TB" verify "$W/logged" "$W/in/rel.pub" "$W/L/log.pub" "$VERIFIES" || exit 1
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$KEEP" = 1 ] && echo "kept: $W"
exit 0
