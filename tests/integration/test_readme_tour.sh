#!/bin/bash
# The README's tour, run as written: every ```sh block preceded by a line
#   <!-- tour: NAME -->            or
#   <!-- tour: NAME needs: CMD... -->   (skipped when a CMD is not installed)
# is extracted and run with bash -e (any failing command fails it) in an
# empty directory against a fresh `vitrum serve`, with TPM2TOOLS_TCTI set
# as the README's setup lines set it, and `vitrum` on the PATH.  So the
# README cannot rot.
. "$(dirname "$0")/lib.sh"

README="$VT_ROOT/README.md"
vt__mktmp
BLOCKS="$VT_TMP/blocks"
mkdir -p "$BLOCKS"
# split the README into $BLOCKS/NN.NAME.sh (+ NN.NAME.needs)
awk -v dir="$BLOCKS" '
	/^<!-- tour: [A-Za-z0-9_.-]+( needs: [^>]*)? -->[[:space:]]*$/ {
		name = $3; needs = ""
		if ($4 == "needs:") for (i = 5; i < NF; i++) needs = needs " " $i
		want = 1; next
	}
	want && /^```sh[[:space:]]*$/ {
		n++; f = sprintf("%s/%02d.%s.sh", dir, n, name); inblock = 1; want = 0
		printf "%s\n", needs > sprintf("%s/%02d.%s.needs", dir, n, name)
		next
	}
	want && !/^[[:space:]]*$/ { printf "marker for %s is not followed by a ```sh block\n", name > "/dev/stderr"; bad = 1; want = 0 }
	inblock && /^```[[:space:]]*$/ { inblock = 0; close(f); next }
	inblock { print > f }
	END { if (inblock) { print "unterminated block " name > "/dev/stderr"; bad = 1 } exit bad }
' "$README" 2>"$VT_TMP/awk.err"
vt_check_eq "README tour markers are well-formed" "" "$(cat "$VT_TMP/awk.err")"
count=$(find "$BLOCKS" -name '*.sh' | wc -l)
vt_check_true "README has tour blocks ($count)" [ "$count" -ge 3 ]
for want in seal sign quote; do
	vt_check_true "README tour has a '$want' block" test -s "$(echo "$BLOCKS"/*."$want".sh)"
done

# `vitrum` in a block is the binary under test
mkdir -p "$VT_TMP/bin"
ln -s "$VITRUM_BIN" "$VT_TMP/bin/vitrum"
export PATH="$VT_TMP/bin:$PATH"

for f in "$BLOCKS"/*.sh; do
	name=$(basename "$f" .sh)
	name=${name#*.}
	missing=""
	for c in $(cat "${f%.sh}.needs"); do command -v "$c" >/dev/null || missing="$missing $c"; done
	if [ -n "$missing" ]; then
		vt_skip "README tour: $name" "not installed:$missing"
		continue
	fi
	if grep -q 'TPM2TOOLS_TCTI=' "$f"; then
		vt_not_ok "README tour: $name" "a tour block must not set TPM2TOOLS_TCTI (the setup lines do)"
		continue
	fi
	rm -rf "$VT_STATE" && mkdir -p "$VT_STATE" # a new TPM for each block
	vt_server_start || continue
	work="$VT_TMP/work.$name"
	mkdir -p "$work"
	(cd "$work" && timeout 300 bash -e -o pipefail "$f") >"$VT_TMP/$name.out" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		vt_ok "README tour: $name"
	else
		vt_not_ok "README tour: $name" "exit $rc; the block and its output:"
		vt__comment 40 <"$f"
		echo "#   ---"
		vt__comment 40 <"$VT_TMP/$name.out"
	fi
	vt_server_stop >/dev/null
done
vt_done
