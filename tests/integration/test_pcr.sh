#!/bin/bash
# PCRs through tpm2_pcrread / pcrextend / pcrevent / pcrreset / pcrallocate.
# Every value is checked against an independent model computed with
# `openssl dgst`: extend(old, d) = H(old || d); pcrevent extends H(data)
# into each allocated bank.
. "$(dirname "$0")/lib.sh"

PCRS_CHECKED="0 8 16 23" # 8: extendable, not resettable; 16, 23: resettable

vt_server_start || vt_done

declare -A EXP # EXP[bank:index] = expected lower-case hex
declare -A ACT # ACT[bank:index] = value read from the TPM
BANKS=         # allocated banks (from tpm2_getcap pcrs)

# hex digits of each digest; all-zero and all-one values (no forks: this
# machine forks slowly and these are used a lot)
declare -A DLEN=([sha1]=40 [sha256]=64 [sha384]=96 [sha512]=128 [sm3_256]=64)
declare -A ZERO ONE
for b in "${!DLEN[@]}"; do
	printf -v z '%*s' "${DLEN[$b]}" ''
	ZERO[$b]=${z// /0}
	ONE[$b]=${z// /f}
done
dlen() { echo "${DLEN[$1]:-0}"; }
zeros() { echo "${ZERO[$1]}"; }
ones() { echo "${ONE[$1]}"; }

read_banks() { # banks with all 24 PCRs allocated
	tpm2_getcap pcrs 2>/dev/null |
		sed -n 's/^ *- \([a-z0-9_]*\): \[ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23 \]$/\1/p' |
		tr '\n' ' ' | sed 's/ $//'
}

snapshot() { # read every PCR of every bank into ACT with one tpm2_pcrread
	local bank idx val
	ACT=()
	while read -r bank idx val; do
		ACT[$bank:$idx]=$val
	done < <(tpm2_pcrread 2>/dev/null | awk '
		/^  [a-z0-9_]+:$/ { b = $1; sub(/:$/, "", b); next }
		/^ +[0-9]+ *: *0x/ { i = $0; sub(/^ +/, "", i); sub(/ *:.*/, "", i)
			v = $0; sub(/^.*: *0x/, "", v); print b, i, tolower(v) }')
}

m_extend() { # m_extend BANK INDEX DIGESTHEX
	EXP[$1:$2]=$(vt_extend "$1" "${EXP[$1:$2]}" "$3")
}

m_event() { # m_event INDEX FILE: pcrevent extends H_bank(data) into each bank
	local b
	for b in $BANKS; do
		m_extend "$b" "$1" "$(vt_dgst "$b" "$2")"
	done
}

check_model() { # check_model LABEL: compare EXP with the TPM for all banks
	local b i bad=""
	snapshot
	for b in $BANKS; do
		for i in $PCRS_CHECKED; do
			if [ "${EXP[$b:$i]}" != "${ACT[$b:$i]:-}" ]; then
				bad="$bad $b:$i"
				vt_note "$1: $b PCR $i expected ${EXP[$b:$i]}"
				vt_note "$1: $b PCR $i got      ${ACT[$b:$i]:-<nothing>}"
			fi
		done
	done
	vt_check_eq "$1: PCRs $PCRS_CHECKED match openssl in banks $BANKS" "" "$bad"
}

check_fresh() { # check_fresh LABEL: values right after Startup(CLEAR)
	local b i bad="" bad2=""
	snapshot
	for b in $BANKS; do
		for i in $(seq 0 16) 23; do
			[ "${ACT[$b:$i]:-}" = "${ZERO[$b]}" ] || bad="$bad $b:$i"
		done
		# PC Client profile: PCRs 17-22 (D-RTM) start as all ones until a
		# D-RTM event resets them to zero; swtpm does the same.
		for i in $(seq 17 22); do
			[ "${ACT[$b:$i]:-}" = "${ONE[$b]}" ] || bad2="$bad2 $b:$i"
		done
		for i in $PCRS_CHECKED; do EXP[$b:$i]=${ZERO[$b]}; done
	done
	vt_check_eq "$1: PCRs 0-16 and 23 are zero in banks $BANKS" "" "$bad"
	vt_check_eq "$1: PCRs 17-22 are all ones in banks $BANKS" "" "$bad2"
}

# One round of extends and events; EXTEND_ALGS: banks given to pcrextend.
exercise() { # exercise LABEL EXTEND_ALGS...
	local label=$1 a i spec d f
	shift
	local algs="$*"
	# 1. pcrextend PCR 8 with a digest for each of algs
	spec=
	for a in $algs; do
		d=$(openssl rand -hex $(($(dlen "$a") / 2)))
		spec="$spec${spec:+,}$a=$d"
		case " $BANKS " in *" $a "*) m_extend "$a" 8 "$d" ;; esac
	done
	vt_check "$label: tpm2_pcrextend 8:$(echo "$algs" | tr ' ' ',')" tpm2_pcrextend "8:$spec"
	# 2. two PCRs in one call, one bank only for 23
	d=$(openssl rand -hex 32)
	spec=
	for a in $algs; do
		i=$(openssl rand -hex $(($(dlen "$a") / 2)))
		spec="$spec${spec:+,}$a=$i"
		case " $BANKS " in *" $a "*) m_extend "$a" 16 "$i" ;; esac
	done
	case " $BANKS " in *" sha256 "*) m_extend sha256 23 "$d" ;; esac
	vt_check "$label: tpm2_pcrextend 16:... 23:sha256=..." tpm2_pcrextend "16:$spec" "23:sha256=$d"
	# 3. pcrevent on small data from a file
	printf 'vitrum pcr event %s' "$label" >"$VT_TMP/ev.small"
	m_event 16 "$VT_TMP/ev.small"
	vt_check "$label: tpm2_pcrevent 16 FILE (small)" tpm2_pcrevent 16 "$VT_TMP/ev.small"
	check_event_output "$label: pcrevent small" "$VT_TMP/ev.small"
	# 4. pcrevent from stdin
	printf 'from stdin %s' "$label" >"$VT_TMP/ev.stdin"
	m_event 8 "$VT_TMP/ev.stdin"
	vt_check "$label: tpm2_pcrevent 8 < stdin" bash -c "tpm2_pcrevent 8 <'$VT_TMP/ev.stdin'"
	# 5. exactly 1024 bytes (the largest TPM2_PCR_Event), then 1025 and 5000
	# bytes (the tool then uses a hash sequence: HashSequenceStart(NULL),
	# SequenceUpdate, EventSequenceComplete)
	for n in 1024 1025 5000; do
		head -c "$n" /dev/urandom >"$VT_TMP/ev.$n"
		m_event 23 "$VT_TMP/ev.$n"
		vt_check "$label: tpm2_pcrevent 23 FILE ($n bytes)" tpm2_pcrevent 23 "$VT_TMP/ev.$n"
		check_event_output "$label: pcrevent $n bytes" "$VT_TMP/ev.$n"
	done
	# 6. pcrevent with no PCR only hashes
	vt_check "$label: tpm2_pcrevent FILE (no PCR: hash only)" tpm2_pcrevent "$VT_TMP/ev.5000"
	check_event_output "$label: pcrevent no PCR" "$VT_TMP/ev.5000"
	check_model "$label"
}

check_event_output() { # the alg:digest lines pcrevent printed ($VT_LAST_OUT)
	local label=$1 file=$2 alg dig bad="" n=0
	while IFS=': ' read -r alg dig; do
		case "$alg" in sha1 | sha256 | sha384 | sha512) ;; *) continue ;; esac
		n=$((n + 1))
		[ "$(vt_dgst "$alg" "$file")" = "$(echo "$dig" | tr 'A-F' 'a-f')" ] || bad="$bad $alg"
	done <"$VT_LAST_OUT"
	vt_check_eq "$label: printed digests match openssl" "" "$bad"
	local b missing=
	for b in $BANKS; do grep -q "^$b:" "$VT_LAST_OUT" || missing="$missing $b"; done
	vt_check_eq "$label: a digest printed for every allocated bank" "" "$missing"
}

# ------------------------------------------------------------ default banks
BANKS=$(read_banks)
vt_note "allocated banks at start: $BANKS"
vt_check_true "sha256 bank allocated by default" [ -n "$(echo " $BANKS " | grep ' sha256 ')" ]

vt_check "tpm2_pcrread (all)" tpm2_pcrread
cp "$VT_LAST_OUT" "$VT_TMP/pcrread.all"
for b in $BANKS; do
	n=$(awk -v b="  $b:" '$0 == b { f = 1; next } /^  [a-z]/ { f = 0 } f && /^ +[0-9]+ *: *0x/' "$VT_TMP/pcrread.all" | wc -l)
	vt_check_eq "tpm2_pcrread shows 24 PCRs in bank $b" 24 "$n"
done
vt_check "tpm2_pcrread sha256:0,1,2+sha1:16" tpm2_pcrread sha256:0,1,2+sha1:16
vt_check_eq "selection output has 4 values" 4 "$(grep -c ': 0x' "$VT_LAST_OUT")"
vt_check "tpm2_pcrread sha256:all" tpm2_pcrread sha256:all
vt_check_eq "sha256:all gives 24 values" 24 "$(grep -c ': 0x' "$VT_LAST_OUT")"
vt_check "tpm2_pcrread sha256:16,23" tpm2_pcrread sha256:16,23
vt_check "tpm2_pcrread -o FILE sha256:0,1,2+sha1:16" tpm2_pcrread -o "$VT_TMP/pcr.bin" sha256:0,1,2+sha1:16
vt_check_eq "-o FILE holds 3*32+20 bytes" 116 "$(stat -c %s "$VT_TMP/pcr.bin" 2>/dev/null)"

check_fresh "fresh TPM"
exercise "round 1 ($BANKS)" sha1 sha256

# ---- reset
vt_check "tpm2_pcrreset 16" tpm2_pcrreset 16
vt_check "tpm2_pcrreset 16 23" tpm2_pcrreset 16 23
for b in $BANKS; do EXP[$b:16]=${ZERO[$b]}; EXP[$b:23]=${ZERO[$b]}; done
vt_check_rc "tpm2_pcrreset 0 at locality 0: TPM_RC_LOCALITY" 0x907 tpm2_pcrreset 0
vt_check_rc "tpm2_pcrreset 8 at locality 0: TPM_RC_LOCALITY" 0x907 tpm2_pcrreset 8
vt_check_rc "tpm2_pcrreset 16 0 fails as a whole (TPM_RC_LOCALITY)" 0x907 tpm2_pcrreset 16 0
check_model "after pcrreset 16 23"

# ---- allocate all four banks; takes effect at the next Startup(CLEAR)
before=$(read_banks)
vt_check "tpm2_pcrallocate sha1:all+sha256:all+sha384:all+sha512:all" \
	tpm2_pcrallocate sha1:all+sha256:all+sha384:all+sha512:all
vt_check_eq "allocation unchanged until the next startup" "$before" "$(read_banks)"
# TPM 2.0 Part 3, TPM2_Shutdown: TPM_RC_TYPE if PCR_Allocate ran since the
# last Startup and shutdownType is STATE; it is about parameter 1
# (shutdownType), so TPM_RC_TYPE + TPM_RC_P + TPM_RC_1 = 0x1ca.
vt_check_rc "Shutdown(STATE) after PCR_Allocate: TPM_RC_TYPE (any parameter)" 0x08A tpm2_shutdown
vt_check_rc "Shutdown(STATE) after PCR_Allocate: TPM_RC_TYPE on parameter 1 (0x1ca)" 0x1CA tpm2_shutdown
vt_server_restart || vt_done
BANKS=$(read_banks)
vt_check_eq "after restart: banks sha1 sha256 sha384 sha512 allocated" "sha1 sha256 sha384 sha512" "$BANKS"
vt_check "tpm2_pcrread sha384:0,16+sha512:0,16" tpm2_pcrread sha384:0,16+sha512:0,16
vt_check_eq "sha384/sha512 values read" 4 "$(grep -c ': 0x' "$VT_LAST_OUT")"
check_fresh "after allocating 4 banks"
exercise "round 2 (4 banks)" sha1 sha256 sha384 sha512
vt_check "tpm2_pcrreset 16 23 (4 banks)" tpm2_pcrreset 16 23
for b in $BANKS; do EXP[$b:16]=${ZERO[$b]}; EXP[$b:23]=${ZERO[$b]}; done
check_model "4 banks after pcrreset 16 23"

# ---- allocate a bank to none
vt_check "tpm2_pcrallocate sha1:none+sha256:all+sha384:all+sha512:all" \
	tpm2_pcrallocate sha1:none+sha256:all+sha384:all+sha512:all
vt_server_restart || vt_done
BANKS=$(read_banks)
vt_check_eq "after restart: sha1 bank gone" "sha256 sha384 sha512" "$BANKS"
vt_check "getcap pcrs shows sha1 with no PCRs (or not at all)" \
	bash -c "tpm2_getcap pcrs | grep -q -e '- sha1: \[ \]' || ! tpm2_getcap pcrs | grep -q sha1"
vt_check "tpm2_pcrread sha1:0 still succeeds" tpm2_pcrread sha1:0
vt_check_eq "tpm2_pcrread sha1:0 returns no value" 0 "$(grep -c ': 0x' "$VT_LAST_OUT")"
check_fresh "sha1 deallocated"
# pcrextend with a digest for an unallocated bank: that digest is ignored
exercise "round 3 (no sha1)" sha1 sha256 sha384 sha512

# ---- back to the common sha1+sha256 allocation.  (tpm2_pcrallocate with no
# argument asks for sha1:all+sha256:all, but PCR_Allocate leaves banks the
# request does not mention as they are, so name the others explicitly.)
vt_check "tpm2_pcrallocate sha1:all+sha256:all+sha384:none+sha512:none" \
	tpm2_pcrallocate sha1:all+sha256:all+sha384:none+sha512:none
vt_server_restart || vt_done
BANKS=$(read_banks)
vt_check_eq "after restart: sha1 sha256 allocated" "sha1 sha256" "$BANKS"
check_fresh "sha1+sha256 again"
exercise "round 4 (sha1 sha256)" sha1 sha256 sha384

vt_done
