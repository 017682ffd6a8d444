#!/bin/bash
# TPM2_GetRandom / TPM2_StirRandom through tpm2_getrandom / tpm2_stirrandom.
. "$(dirname "$0")/lib.sh"

vt_server_start || vt_done

# ---- every size 1..64, as hex on stdout and as a binary file
bad_hex=
bad_file=
for n in $(seq 1 64); do
	out=$(tpm2_getrandom --hex "$n" 2>"$VT_TMP/err")
	if ! printf '%s' "$out" | grep -Eqx "[0-9a-fA-F]{$((2 * n))}"; then
		bad_hex="$bad_hex $n"
		vt_note "getrandom --hex $n gave '$out' $(head -c 200 "$VT_TMP/err")"
	fi
	rm -f "$VT_TMP/rnd"
	if ! tpm2_getrandom -o "$VT_TMP/rnd" "$n" >"$VT_TMP/err" 2>&1 ||
		[ "$(stat -c %s "$VT_TMP/rnd" 2>/dev/null)" != "$n" ]; then
		bad_file="$bad_file $n"
		vt_note "getrandom -o file $n: size $(stat -c %s "$VT_TMP/rnd" 2>/dev/null) $(head -c 200 "$VT_TMP/err")"
	fi
done
vt_check_eq "tpm2_getrandom --hex N gives N bytes for N=1..64" "" "$bad_hex"
vt_check_eq "tpm2_getrandom -o FILE N writes N bytes for N=1..64" "" "$bad_file"
vt_check "tpm2_getrandom --output=FILE 32" tpm2_getrandom --output="$VT_TMP/rnd32" 32
vt_check_eq "--output file has 32 bytes" 32 "$(stat -c %s "$VT_TMP/rnd32" 2>/dev/null)"
vt_check "tpm2_getrandom 16 (binary to stdout)" bash -c "tpm2_getrandom 16 >'$VT_TMP/rnd16'"
vt_check_eq "binary stdout has 16 bytes" 16 "$(stat -c %s "$VT_TMP/rnd16" 2>/dev/null)"

# ---- output differs between calls
a=$(tpm2_getrandom --hex 32 2>/dev/null)
b=$(tpm2_getrandom --hex 32 2>/dev/null)
c=$(tpm2_getrandom --hex 32 2>/dev/null)
vt_check_true "three 32-byte outputs are all different" [ -n "$a" -a "$a" != "$b" -a "$b" != "$c" -a "$a" != "$c" ]
vt_check_true "output is not all zero" [ "$a" != "$(printf '0%.0s' $(seq 64))" ]
# crude: 40 x 64 bytes should contain every byte value at least once
# (P[a given value is missing] = (255/256)^2560 ~ 4.5e-5, times 256 values)
for i in $(seq 1 40); do tpm2_getrandom 64 2>/dev/null; done >"$VT_TMP/many"
vt_check_eq "40 x 64 random bytes collected" 2560 "$(stat -c %s "$VT_TMP/many")"
nvals=$(od -An -v -tu1 "$VT_TMP/many" | tr -s ' ' '\n' | grep -v '^$' | sort -u | wc -l)
vt_check_true "2560 random bytes cover >= 250 of 256 byte values ($nvals)" [ "$nvals" -ge 250 ]

# ---- more than the largest digest: the tool refuses without --force
vt_check_fails "tpm2_getrandom 65 refused by the tool (max digest size)" tpm2_getrandom 65

# ---- TPM2_StirRandom, from a file and from stdin
head -c 64 /dev/urandom >"$VT_TMP/stir64"
head -c 128 /dev/urandom >"$VT_TMP/stir128"
head -c 1 /dev/urandom >"$VT_TMP/stir1"
vt_check "tpm2_stirrandom FILE (64 bytes)" tpm2_stirrandom "$VT_TMP/stir64"
vt_check "tpm2_stirrandom FILE (128 bytes, the maximum)" tpm2_stirrandom "$VT_TMP/stir128"
vt_check "tpm2_stirrandom FILE (1 byte)" tpm2_stirrandom "$VT_TMP/stir1"
vt_check "tpm2_stirrandom < stdin" bash -c "tpm2_stirrandom <'$VT_TMP/stir64'"
vt_check "echo data | tpm2_stirrandom" bash -c "echo 'some additional input' | tpm2_stirrandom"
vt_check "tpm2_getrandom after stirring" tpm2_getrandom --hex 32
d=$(tpm2_getrandom --hex 32 2>/dev/null)
vt_check_true "random after stirring differs from before" [ -n "$d" -a "$d" != "$a" ]

vt_done
