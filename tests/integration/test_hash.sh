#!/bin/bash
# TPM2_Hash (and, for data over 1024 bytes, HashSequenceStart /
# SequenceUpdate / SequenceComplete) through tpm2_hash, compared with
# `openssl dgst`; hierarchies and hash-check tickets.
. "$(dirname "$0")/lib.sh"

HASH_ALGS="sha1 sha256 sha384 sha512"
SIZES="1 3 64 1000 1024 1025 2048 4000"

vt_server_start || vt_done

for n in $SIZES; do head -c "$n" /dev/urandom >"$VT_TMP/d.$n"; done

# ---- digests against openssl, hex output and binary output
for a in $HASH_ALGS; do
	bad=
	badbin=
	for n in $SIZES; do
		exp=$(vt_dgst "$a" "$VT_TMP/d.$n")
		got=$(tpm2_hash -g "$a" --hex "$VT_TMP/d.$n" 2>"$VT_TMP/err" | tr 'A-F' 'a-f')
		if [ "$got" != "$exp" ]; then
			bad="$bad $n"
			vt_note "$a $n bytes: expected $exp got '$got' $(head -c 200 "$VT_TMP/err")"
		fi
		rm -f "$VT_TMP/bin"
		tpm2_hash -g "$a" -o "$VT_TMP/bin" "$VT_TMP/d.$n" >/dev/null 2>&1
		got=$(xxd -p -c 1000 "$VT_TMP/bin" 2>/dev/null)
		[ "$got" = "$exp" ] || badbin="$badbin $n"
	done
	vt_check_eq "tpm2_hash -g $a --hex matches openssl (sizes $SIZES)" "" "$bad"
	vt_check_eq "tpm2_hash -g $a -o FILE matches openssl (sizes $SIZES)" "" "$badbin"
done
vt_check_eq "sha256(\"abc\") from stdin" \
	ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad \
	"$(printf abc | tpm2_hash -g sha256 --hex 2>&1 | tr 'A-F' 'a-f')"
vt_check_eq "sha1(\"abc\") from stdin" \
	a9993e364706816aba3e25717850c26c9cd0d89d \
	"$(printf abc | tpm2_hash -g sha1 --hex 2>&1 | tr 'A-F' 'a-f')"
# tpm2-tools 5.4's default for -g is sha1
vt_check_eq "default algorithm (sha1 in tpm2-tools 5.4)" \
	a9993e364706816aba3e25717850c26c9cd0d89d \
	"$(printf abc | tpm2_hash --hex 2>&1 | tr 'A-F' 'a-f')"
head -c 3000 /dev/urandom >"$VT_TMP/stdin.big"
vt_check_eq "sha384 of 3000 bytes from stdin (sequence)" \
	"$(vt_dgst sha384 "$VT_TMP/stdin.big")" \
	"$(tpm2_hash -g sha384 --hex <"$VT_TMP/stdin.big" 2>&1 | tr 'A-F' 'a-f')"

# ---- tickets: file is a marshalled TPMT_TK_HASHCHECK: tag (0x8024),
# hierarchy handle, TPM2B digest
ticket_fields() { # prints "tag hierarchy digestsize"
	local h
	h=$(xxd -p -c 1000 "$1" 2>/dev/null)
	if [ ${#h} -lt 16 ]; then
		echo "short-ticket:$h"
		return
	fi
	echo "${h:0:4} ${h:4:8} $((16#${h:12:4}))"
}

check_ticket() { # check_ticket LABEL HIERARCHY-LETTER EXPECTED-HANDLE FILE-TO-HASH [null]
	local label=$1 c=$2 handle=$3 f=$4 want_null=${5:-} tag hier size
	rm -f "$VT_TMP/tk"
	vt_check "$label: tpm2_hash -C $c -t TICKET" \
		tpm2_hash -C "$c" -g sha256 --hex -t "$VT_TMP/tk" "$f"
	vt_check_eq "$label: digest with -C $c still right" "$(vt_dgst sha256 "$f")" \
		"$(head -n 1 "$VT_LAST_OUT" | tr 'A-F' 'a-f')"
	read -r tag hier size <<<"$(ticket_fields "$VT_TMP/tk")"
	vt_check_eq "$label: ticket tag is TPM_ST_HASHCHECK" 8024 "$tag"
	if [ -n "$want_null" ]; then
		vt_check_eq "$label: null ticket (TPM_RH_NULL, empty digest)" "40000007 0" "$hier $size"
	else
		vt_check_eq "$label: ticket hierarchy is $handle" "$handle" "$hier"
		vt_check_true "$label: ticket has a digest ($size bytes)" [ "${size:-0}" -ge 20 ]
	fi
}

for f in "$VT_TMP/d.64" "$VT_TMP/d.2048"; do
	kind=small
	[ "$(stat -c %s "$f")" -gt 1024 ] && kind="sequence"
	check_ticket "$kind -C o" o 40000001 "$f"
	check_ticket "$kind -C e" e 4000000b "$f"
	check_ticket "$kind -C p" p 4000000c "$f"
	check_ticket "$kind -C n" n 40000007 "$f" null
done
vt_check "--hierarchy=owner long form" tpm2_hash --hierarchy=o -g sha256 --ticket="$VT_TMP/tk2" "$VT_TMP/d.3"

# tickets are deterministic for the same hierarchy and data (an HMAC with a
# hierarchy proof), and differ between hierarchies
tpm2_hash -C o -g sha256 -t "$VT_TMP/tka" "$VT_TMP/d.1000" >/dev/null 2>&1
tpm2_hash -C o -g sha256 -t "$VT_TMP/tkb" "$VT_TMP/d.1000" >/dev/null 2>&1
tpm2_hash -C e -g sha256 -t "$VT_TMP/tkc" "$VT_TMP/d.1000" >/dev/null 2>&1
vt_check "same data, same hierarchy: same ticket" cmp -s "$VT_TMP/tka" "$VT_TMP/tkb"
vt_check_fails "owner and endorsement tickets differ" cmp -s "$VT_TMP/tka" "$VT_TMP/tkc"

# data that starts with TPM_GENERATED_VALUE (0xff544347) must not get a real
# ticket (TPM 2.0 Part 3, TPM2_Hash / TPM2_SequenceComplete)
{
	printf '\xff\x54\x43\x47'
	head -c 60 /dev/urandom
} >"$VT_TMP/gen.small"
{
	printf '\xff\x54\x43\x47'
	head -c 2000 /dev/urandom
} >"$VT_TMP/gen.big"
check_ticket "TPM_GENERATED data" o 40000001 "$VT_TMP/gen.small" null
check_ticket "TPM_GENERATED data, sequence" o 40000001 "$VT_TMP/gen.big" null

# ---- bad input
vt_check_fails "unknown hash algorithm refused" tpm2_hash -g sha999 "$VT_TMP/d.3"
vt_check_fails "bad hierarchy refused" tpm2_hash -C x -g sha256 "$VT_TMP/d.3"

vt_done
