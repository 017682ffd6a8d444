#!/bin/bash
# NV indices through tpm2-tools: tpm2_nvdefine / nvundefine / nvreadpublic /
# nvread / nvwrite / nvincrement / nvextend / nvsetbits / nvwritelock /
# nvreadlock / changeauth, values across restarts, locks at the right
# Startup, and NV capacity (TPM_RC_NV_SPACE).
. "$(dirname "$0")/lib.sh"

vt_server_start || vt_done

T=$VT_TMP
hexof() { xxd -p "$1" | tr -d '\n'; }
nvhex() { # nvhex INDEX [tpm2_nvread args...]: the data as hex
	local ix=$1
	shift
	tpm2_nvread "$ix" "$@" -o "$T/rd.bin" >/dev/null 2>&1 || return 1
	hexof "$T/rd.bin"
}
# a field of tpm2_nvreadpublic for one index: pubfield INDEX FIELD
pubfield() {
	tpm2_nvreadpublic "$1" 2>/dev/null | awk -v f="$2" '
		{ k = $1; sub(/:$/, "", k) } k == f && !done { print $2; done = 1 }'
}
getprop() { # getprop TPM2_PT_NAME properties-variable|properties-fixed
	tpm2_getcap "$2" 2>/dev/null | awk -v p="$1" '
		$1 == p ":" && NF == 2 { print $2; exit }
		$1 == p ":" { want = 1; next } want && /raw:/ { print $2; exit }'
}
# A raw command with one password session (empty password) authorizing
# handle 1: rawauth CC HANDLES_HEX PARAMS_HEX; prints the response code.
rawauth() {
	# authorizationSize 9: TPM_RS_PW, empty nonce, continueSession, empty password
	local body="$2""00000009""40000009""0000""01""0000""$3" n
	n=$((10 + ${#body} / 2))
	# shellcheck disable=SC2086
	$VT_RAW send "$(printf '8002%08x%08x' "$n" "$1")$body" 2>&1 | grep -oE 'rc=0x[0-9a-fA-F]+' | head -1
}

# ---- capabilities before anything is defined
vt_check_eq "TPM_PT_HR_NV_INDEX is 0 on a new TPM" "0x0" "$(getprop TPM2_PT_HR_NV_INDEX properties-variable)"
vt_check_eq "TPM_PT_NV_INDEX_MAX is 2048" "0x800" "$(getprop TPM2_PT_NV_INDEX_MAX properties-fixed)"
vt_check_eq "TPM_PT_NV_BUFFER_MAX is 1024" "0x400" "$(getprop TPM2_PT_NV_BUFFER_MAX properties-fixed)"

# ---- ordinary index: define, public area, write, read with offsets
vt_check "nvdefine ordinary 64 octets (owner + index auth)" \
	tpm2_nvdefine 0x1500001 -C o -s 64 -a "ownerread|ownerwrite|authread|authwrite" -p ipass
vt_check_eq "nvreadpublic: size 64" "64" "$(pubfield 0x1500001 size)"
vt_check_eq "nvreadpublic: name hash sha256" "0xB" "$(tpm2_nvreadpublic 0x1500001 | awk '/^  *value:/ {print $2; exit}')" ||
	vt_note "$(tpm2_nvreadpublic 0x1500001 2>&1)"
vt_check_rc "nvread before any write: TPM_RC_NV_UNINITIALIZED" 0x14A tpm2_nvread 0x1500001 -C o
vt_check_rc "nvdefine again: TPM_RC_NV_DEFINED" 0x14C \
	tpm2_nvdefine 0x1500001 -C o -s 64 -a "ownerread|ownerwrite"
printf 'hello, world' >"$T/a.bin"
vt_check "nvwrite 12 octets at offset 0 (owner)" tpm2_nvwrite 0x1500001 -C o -i "$T/a.bin"
printf 'XYZ' >"$T/b.bin"
vt_check "nvwrite 3 octets at offset 60 (index auth)" tpm2_nvwrite 0x1500001 -C 0x1500001 -P ipass -i "$T/b.bin" --offset 60
vt_check_eq "nvread 12 at 0" "$(hexof "$T/a.bin")" "$(nvhex 0x1500001 -C o -s 12)"
vt_check_eq "nvread 3 at 60 (index auth)" "$(hexof "$T/b.bin")" "$(nvhex 0x1500001 -C 0x1500001 -P ipass -s 3 --offset 60)"
vt_check_eq "nvread 5 at 7" "$(printf 'world' | xxd -p)" "$(nvhex 0x1500001 -C o -s 5 --offset 7)"
# (tpm2_nvwrite and tpm2_nvread check ranges themselves: raw commands)
vt_check_eq "NV_Write past the end: TPM_RC_NV_RANGE" "rc=0x00000146" \
	"$(rawauth 0x137 4000000101500001 "0008$(printf abcdefgh | xxd -p)003c")"
vt_check_eq "NV_Read past the end: TPM_RC_NV_RANGE" "rc=0x00000146" "$(rawauth 0x14e 4000000101500001 00080039)"
vt_check_eq "NV_Read of 1 octet at the end" "rc=0x00000000" "$(rawauth 0x14e 4000000101500001 0001003f)"
vt_check_rc "nvread with a wrong index password: TPM_RC_AUTH_FAIL (DA)" 0x98E \
	tpm2_nvread 0x1500001 -C 0x1500001 -P wrong -s 1
vt_check_rc "nvread with platform auth (no PPREAD): TPM_RC_NV_AUTHORIZATION" 0x149 tpm2_nvread 0x1500001 -C p -s 1
vt_check "nvreadpublic shows written" bash -c "tpm2_nvreadpublic 0x1500001 | grep -q written"

# never-written octets of a partly written index
full=$(nvhex 0x1500001 -C o)
vt_check_eq "nvread whole index (64 octets)" 128 "${#full}"
vt_note "unwritten octets read as ${full:24:8}"

# ---- a 2048-octet index: writes and reads cross TPM_PT_NV_BUFFER_MAX
vt_check "nvdefine 2048 octets" tpm2_nvdefine 0x1500002 -C o -s 2048 -a "ownerread|ownerwrite"
head -c 2048 /dev/urandom >"$T/big.bin"
vt_check "nvwrite 2048 octets (the tool splits at 1024)" tpm2_nvwrite 0x1500002 -C o -i "$T/big.bin"
vt_check_eq "nvread 2048 octets back" "$(hexof "$T/big.bin")" "$(nvhex 0x1500002 -C o)"
head -c 1024 /dev/urandom >"$T/k.bin"
vt_check "nvwrite exactly 1024 octets at 1024" tpm2_nvwrite 0x1500002 -C o -i "$T/k.bin" --offset 1024
vt_check_eq "nvread 1024 at 1024" "$(hexof "$T/k.bin")" "$(nvhex 0x1500002 -C o -s 1024 --offset 1024)"
vt_check_eq "NV_Read of 1025 octets: TPM_RC_VALUE (parameter 1)" "rc=0x000001c4" "$(rawauth 0x14e 4000000101500002 04010000)"
vt_check_rc "nvdefine 2049 octets: TPM_RC_SIZE (parameter 2)" 0x2D5 \
	tpm2_nvdefine 0x1500003 -C o -s 2049 -a "ownerread|ownerwrite"

# ---- WRITEALL
vt_check "nvdefine writeall 16" tpm2_nvdefine 0x1500004 -C o -s 16 -a "ownerread|ownerwrite|writeall"
vt_check_rc "writeall: partial write is TPM_RC_NV_RANGE" 0x146 \
	bash -c "printf 'abcd' | tpm2_nvwrite 0x1500004 -C o -i -"
vt_check "writeall: full write" bash -c "printf '0123456789abcdef' | tpm2_nvwrite 0x1500004 -C o -i -"

# ---- attribute rules at define time
vt_check_rc "no read authority: TPM_RC_ATTRIBUTES (parameter 2)" 0x2C2 tpm2_nvdefine 0x1500005 -C o -s 8 -a ownerwrite
vt_check_rc "no write authority: TPM_RC_ATTRIBUTES (parameter 2)" 0x2C2 tpm2_nvdefine 0x1500005 -C o -s 8 -a ownerread
vt_check_rc "WRITTEN given at define: TPM_RC_ATTRIBUTES" 0x2C2 \
	tpm2_nvdefine 0x1500005 -C o -s 8 -a "ownerread|ownerwrite|written"
vt_check_rc "WRITELOCKED given at define: TPM_RC_ATTRIBUTES" 0x2C2 \
	tpm2_nvdefine 0x1500005 -C o -s 8 -a "ownerread|ownerwrite|writelocked"
vt_check_rc "PLATFORMCREATE with owner auth: TPM_RC_ATTRIBUTES (handle 1)" 0x182 \
	tpm2_nvdefine 0x1500005 -C o -s 8 -a "ownerread|ownerwrite|platformcreate"
vt_check_rc "platform auth without PLATFORMCREATE: TPM_RC_ATTRIBUTES (handle 1)" 0x182 \
	tpm2_nvdefine 0x1500005 -C p -s 8 -a "ppread|ppwrite"
vt_check_rc "unknown index type nt=3: TPM_RC_ATTRIBUTES" 0x2C2 \
	tpm2_nvdefine 0x1500005 -C o -s 8 -a "ownerread|ownerwrite|nt=0x3"
vt_check_rc "counter with CLEAR_STCLEAR: TPM_RC_ATTRIBUTES" 0x2C2 \
	tpm2_nvdefine 0x1500005 -C o -a "ownerread|ownerwrite|nt=counter|clear_stclear"
vt_check_rc "pinfail without NO_DA: TPM_RC_ATTRIBUTES" 0x2C2 \
	tpm2_nvdefine 0x1500005 -C o -a "ownerread|ownerwrite|authread|nt=pinfail"
vt_check_rc "pinpass with AUTHWRITE: TPM_RC_ATTRIBUTES" 0x2C2 \
	tpm2_nvdefine 0x1500005 -C o -a "ownerread|ownerwrite|authread|authwrite|nt=pinpass"
vt_check_rc "pinpass with GLOBALLOCK: TPM_RC_ATTRIBUTES" 0x2C2 \
	tpm2_nvdefine 0x1500005 -C o -a "ownerread|ownerwrite|authread|globallock|nt=pinpass"
vt_check "nvdefine with a sha1 name" tpm2_nvdefine 0x1500005 -C o -s 8 -g sha1 -a "ownerread|ownerwrite"
vt_check "nvdefine size 0" tpm2_nvdefine 0x1500006 -C o -s 0 -a "ownerread|ownerwrite"

# ---- platform index
vt_check "nvdefine platform index" tpm2_nvdefine 0x1400001 -C p -s 8 -a "ppread|ppwrite|platformcreate|ownerread"
vt_check_rc "owner cannot undefine a platform index: TPM_RC_NV_AUTHORIZATION" 0x149 tpm2_nvundefine 0x1400001 -C o
vt_check_rc "owner write without OWNERWRITE: TPM_RC_NV_AUTHORIZATION" 0x149 \
	bash -c "printf 'abcdefgh' | tpm2_nvwrite 0x1400001 -C o -i -"
vt_check "platform write" bash -c "printf 'abcdefgh' | tpm2_nvwrite 0x1400001 -C p -i -"
vt_check_eq "owner read (OWNERREAD)" "$(printf abcdefgh | xxd -p)" "$(nvhex 0x1400001 -C o)"
vt_check_rc "index auth without AUTHREAD: TPM_RC_AUTH_UNAVAILABLE" 0x12F tpm2_nvread 0x1400001 -C 0x1400001

# ---- counter
vt_check "nvdefine counter" tpm2_nvdefine 0x1500010 -C o -a "ownerread|ownerwrite|nt=counter"
vt_check_rc "counter before the first increment: TPM_RC_NV_UNINITIALIZED" 0x14A tpm2_nvread 0x1500010 -C o
vt_check "nvincrement" tpm2_nvincrement 0x1500010 -C o
c1=$(nvhex 0x1500010 -C o)
vt_check "nvincrement again" tpm2_nvincrement 0x1500010 -C o
c2=$(nvhex 0x1500010 -C o)
vt_check_eq "counter went up by one ($c1 -> $c2)" $((0x$c1 + 1)) $((0x$c2))
vt_check_rc "nvwrite on a counter: TPM_RC_ATTRIBUTES" 0x082 \
	bash -c "printf 'abcdefgh' | tpm2_nvwrite 0x1500010 -C o -i -"
vt_check_fails "nvincrement on an ordinary index" tpm2_nvincrement 0x1500001 -C o
vt_check_eq "NV_Increment on an ordinary index: TPM_RC_ATTRIBUTES (handle 2)" "rc=0x00000282" \
	"$(rawauth 0x134 4000000101500001 "")"
vt_check "nvdefine a second counter" tpm2_nvdefine 0x1500011 -C o -a "ownerread|ownerwrite|nt=counter"
vt_check "nvincrement the second counter" tpm2_nvincrement 0x1500011 -C o
c3=$(nvhex 0x1500011 -C o)
if [ "$VT_TARGET" = vitrum ]; then
	vt_check_true "a new counter starts above every counter before it ($c3 > $c2)" [ $((0x$c3)) -gt $((0x$c2)) ]
else
	# swtpm (libtpms) starts a new counter above the counters that were
	# undefined, not above the live ones; vitrum keeps one high-water mark
	# of every counter value ever (Part 1 §37: "at least as large as any
	# counter ever defined"), so no two counters ever show the same value.
	vt_note "swtpm: second counter starts at $c3 (first is at $c2)"
fi

# ---- bit field
vt_check "nvdefine bits" tpm2_nvdefine 0x1500012 -C o -a "ownerread|ownerwrite|nt=bits"
vt_check "nvsetbits 0x1" tpm2_nvsetbits 0x1500012 -C o -i 0x1
vt_check "nvsetbits 0x8000000000000004" tpm2_nvsetbits 0x1500012 -C o -i 0x8000000000000004
vt_check_eq "bits are ORed" "8000000000000005" "$(nvhex 0x1500012 -C o)"
vt_check_rc "nvsetbits on a counter: TPM_RC_ATTRIBUTES (handle 2)" 0x282 tpm2_nvsetbits 0x1500010 -C o -i 1

# ---- extend
vt_check "nvdefine extend (sha256)" tpm2_nvdefine 0x1500013 -C o -a "ownerread|ownerwrite|nt=extend"
printf 'measure me' >"$T/m.bin"
vt_check "nvextend" tpm2_nvextend 0x1500013 -C o -i "$T/m.bin"
z=$(printf '%064d' 0)
e1=$(vt_dgst_hex sha256 "$z$(hexof "$T/m.bin")")
vt_check_eq "extend = H(zeros || data)" "$e1" "$(nvhex 0x1500013 -C o)"
vt_check "nvextend again" tpm2_nvextend 0x1500013 -C o -i "$T/m.bin"
vt_check_eq "extend = H(old || data)" "$(vt_dgst_hex sha256 "$e1$(hexof "$T/m.bin")")" "$(nvhex 0x1500013 -C o)"
vt_check "nvdefine extend (sha384 name)" tpm2_nvdefine 0x1500014 -C o -g sha384 -a "ownerread|ownerwrite|nt=extend"
vt_check "nvextend sha384" tpm2_nvextend 0x1500014 -C o -i "$T/m.bin"
vt_check_eq "sha384 extend" "$(vt_dgst_hex sha384 "$(printf '%096d' 0)$(hexof "$T/m.bin")")" "$(nvhex 0x1500014 -C o)"

# ---- PIN Fail: failures count, a success resets, pinLimit locks out
vt_check "nvdefine pinfail" tpm2_nvdefine 0x1500015 -C o -a "ownerread|ownerwrite|authread|no_da|nt=pinfail" -p 1234
vt_check_rc "pinfail before it is written: TPM_RC_AUTH_UNAVAILABLE" 0x12F tpm2_nvread 0x1500015 -C 0x1500015 -P 1234
vt_check "pinfail: set pinCount 0, pinLimit 2" bash -c "printf '\0\0\0\0\0\0\0\2' | tpm2_nvwrite 0x1500015 -C o -i -"
vt_check_rc "pinfail wrong PIN: TPM_RC_BAD_AUTH (NO_DA)" 0x9A2 tpm2_nvread 0x1500015 -C 0x1500015 -P 9999
vt_check_eq "pinfail: pinCount 1" "0000000100000002" "$(nvhex 0x1500015 -C o)"
vt_check_eq "pinfail right PIN resets pinCount" "0000000000000002" "$(nvhex 0x1500015 -C 0x1500015 -P 1234)"
tpm2_nvread 0x1500015 -C 0x1500015 -P 9999 >/dev/null 2>&1
tpm2_nvread 0x1500015 -C 0x1500015 -P 9999 >/dev/null 2>&1
vt_check_eq "pinfail: two failures" "0000000200000002" "$(nvhex 0x1500015 -C o)"
vt_check_rc "pinfail at pinLimit: right PIN refused with TPM_RC_AUTH_UNAVAILABLE" 0x12F \
	tpm2_nvread 0x1500015 -C 0x1500015 -P 1234

# ---- PIN Pass: successes count up to pinLimit
vt_check "nvdefine pinpass" tpm2_nvdefine 0x1500016 -C o -a "ownerread|ownerwrite|authread|nt=pinpass" -p 1234
vt_check "pinpass: pinCount 0, pinLimit 2" bash -c "printf '\0\0\0\0\0\0\0\2' | tpm2_nvwrite 0x1500016 -C o -i -"
vt_check_eq "pinpass first use: pinCount 1" "0000000100000002" "$(nvhex 0x1500016 -C 0x1500016 -P 1234)"
vt_check_rc "pinpass wrong PIN: TPM_RC_AUTH_FAIL (DA)" 0x98E tpm2_nvread 0x1500016 -C 0x1500016 -P 9
vt_check_eq "pinpass second use: pinCount 2" "0000000200000002" "$(nvhex 0x1500016 -C 0x1500016 -P 1234)"
vt_check_rc "pinpass used up: TPM_RC_AUTH_UNAVAILABLE" 0x12F tpm2_nvread 0x1500016 -C 0x1500016 -P 1234

# ---- locks
vt_check "nvdefine write_stclear" tpm2_nvdefine 0x1500020 -C o -s 8 -a "ownerread|ownerwrite|write_stclear"
vt_check "nvdefine writedefine (written)" tpm2_nvdefine 0x1500021 -C o -s 8 -a "ownerread|ownerwrite|writedefine"
vt_check "nvdefine writedefine (never written)" tpm2_nvdefine 0x1500022 -C o -s 8 -a "ownerread|ownerwrite|writedefine"
vt_check "nvdefine read_stclear" tpm2_nvdefine 0x1500023 -C o -s 8 -a "ownerread|ownerwrite|read_stclear"
vt_check "nvdefine globallock" tpm2_nvdefine 0x1500024 -C o -s 8 -a "ownerread|ownerwrite|globallock"
vt_check "nvdefine clear_stclear" tpm2_nvdefine 0x1500025 -C o -s 8 -a "ownerread|ownerwrite|clear_stclear"
for i in 0x1500020 0x1500021 0x1500023 0x1500024 0x1500025; do
	printf 'lockdata' | tpm2_nvwrite $i -C o -i - >/dev/null 2>&1 || vt_note "write $i failed"
done
vt_check_rc "nvwritelock without WRITEDEFINE/WRITE_STCLEAR: TPM_RC_ATTRIBUTES (handle 2)" 0x282 tpm2_nvwritelock 0x1500001 -C o
vt_check_rc "nvreadlock without READ_STCLEAR: TPM_RC_ATTRIBUTES (handle 2)" 0x282 tpm2_nvreadlock 0x1500001 -C o
vt_check "nvwritelock write_stclear" tpm2_nvwritelock 0x1500020 -C o
vt_check "nvwritelock again (no error)" tpm2_nvwritelock 0x1500020 -C o
vt_check "nvwritelock writedefine (written)" tpm2_nvwritelock 0x1500021 -C o
vt_check "nvwritelock writedefine (not written)" tpm2_nvwritelock 0x1500022 -C o
vt_check "nvreadlock" tpm2_nvreadlock 0x1500023 -C o
vt_check "nvwritelock --global" tpm2_nvwritelock -C o --global
vt_check "nvreadpublic shows writelocked" bash -c "tpm2_nvreadpublic 0x1500020 | grep -q writelocked"
for i in 0x1500020 0x1500021 0x1500022 0x1500024; do
	vt_check_rc "write $i while locked: TPM_RC_NV_LOCKED" 0x148 bash -c "printf 'xxxxxxxx' | tpm2_nvwrite $i -C o -i -"
done
vt_check_rc "read while read-locked: TPM_RC_NV_LOCKED" 0x148 tpm2_nvread 0x1500023 -C o
vt_check "an index defined after the global lock can be written" bash -c \
	"tpm2_nvdefine 0x1500026 -C o -s 8 -a 'ownerread|ownerwrite|globallock' && printf 'abcdefgh' | tpm2_nvwrite 0x1500026 -C o -i -"

# ---- NV_ChangeAuth needs a policy session (ADMIN role)
vt_check_rc "changeauth on an NV index with a password: TPM_RC_AUTH_TYPE" 0x124 tpm2_changeauth -c 0x1500001 -p ipass newpass

# ---- TPM Resume keeps the locks
vt_check "tpm2_shutdown (STATE)" tpm2_shutdown
vt_server_restart --startup state || vt_done
vt_check_rc "after TPM Resume: write_stclear lock kept" 0x148 bash -c "printf 'xxxxxxxx' | tpm2_nvwrite 0x1500020 -C o -i -"
vt_check_rc "after TPM Resume: read lock kept" 0x148 tpm2_nvread 0x1500023 -C o
vt_check_rc "after TPM Resume: global lock kept" 0x148 bash -c "printf 'xxxxxxxx' | tpm2_nvwrite 0x1500024 -C o -i -"
vt_check_eq "after TPM Resume: clear_stclear data kept" "$(printf lockdata | xxd -p)" "$(nvhex 0x1500025 -C o)"

# ---- TPM Reset (restart of the server, Startup(CLEAR)): values survive, locks go
vt_server_restart || vt_done
vt_check_eq "after restart: ordinary data" "$(hexof "$T/a.bin")" "$(nvhex 0x1500001 -C o -s 12)"
vt_check_eq "after restart: 2048-octet data" "$(hexof "$T/big.bin" | cut -c1-2048)$(hexof "$T/k.bin")" "$(nvhex 0x1500002 -C o)"
vt_check_eq "after restart: counter" "$c2" "$(nvhex 0x1500010 -C o)"
vt_check_eq "after restart: bits" "8000000000000005" "$(nvhex 0x1500012 -C o)"
vt_check_eq "after restart: pinpass" "0000000200000002" "$(nvhex 0x1500016 -C o)"
vt_check "after restart: write_stclear lock gone" bash -c "printf 'newdata1' | tpm2_nvwrite 0x1500020 -C o -i -"
vt_check_rc "after restart: written writedefine lock stays" 0x148 bash -c "printf 'xxxxxxxx' | tpm2_nvwrite 0x1500021 -C o -i -"
vt_check "after restart: unwritten writedefine lock gone" bash -c "printf 'newdata2' | tpm2_nvwrite 0x1500022 -C o -i -"
vt_check_eq "after restart: read lock gone" "$(printf lockdata | xxd -p)" "$(nvhex 0x1500023 -C o)"
vt_check "after restart: global lock gone" bash -c "printf 'newdata3' | tpm2_nvwrite 0x1500024 -C o -i -"
vt_check_rc "after restart: clear_stclear index is unwritten" 0x14A tpm2_nvread 0x1500025 -C o
vt_check "after restart: counter increments on" tpm2_nvincrement 0x1500010 -C o
vt_check_eq "counter +1 after restart" $((0x$c2 + 1)) $((0x$(nvhex 0x1500010 -C o)))

# ---- handles and counts
list=$(tpm2_getcap handles-nv-index 2>/dev/null | tr -d '\n ')
vt_check_eq "getcap handles-nv-index in order" \
	"-0x1400001-0x1500001-0x1500002-0x1500004-0x1500005-0x1500006-0x1500010-0x1500011-0x1500012-0x1500013-0x1500014-0x1500015-0x1500016-0x1500020-0x1500021-0x1500022-0x1500023-0x1500024-0x1500025-0x1500026" "$list"
vt_check_eq "TPM_PT_HR_NV_INDEX counts them" "0x14" "$(getprop TPM2_PT_HR_NV_INDEX properties-variable)"
vt_check_eq "TPM_PT_NV_COUNTERS" "0x2" "$(getprop TPM2_PT_NV_COUNTERS properties-variable)"

# ---- undefine
vt_check "nvundefine (owner)" tpm2_nvundefine 0x1500002 -C o
vt_check_rc "nvreadpublic of an undefined index: TPM_RC_HANDLE" 0x18B tpm2_nvreadpublic 0x1500002
vt_check "platform may undefine an owner index" tpm2_nvundefine 0x1500006 -C p
vt_check "nvundefine platform index (platform)" tpm2_nvundefine 0x1400001 -C p
# data of the indices behind the removed ones is intact
vt_check_eq "data after undefines: ordinary" "$(hexof "$T/a.bin")" "$(nvhex 0x1500001 -C o -s 12)"
vt_check_eq "data after undefines: bits" "8000000000000005" "$(nvhex 0x1500012 -C o)"
vt_check_eq "data after undefines: extend" "$(vt_dgst_hex sha256 "$e1$(hexof "$T/m.bin")")" "$(nvhex 0x1500013 -C o)"

# ---- capacity: define 2048-octet indices until the TPM says TPM_RC_NV_SPACE
n=0
rc_seen=
for i in $(seq 1 200); do
	ix=$(printf '0x%x' $((0x1600000 + i)))
	if ! tpm2_nvdefine "$ix" -C o -s 2048 -a "ownerread|ownerwrite" >"$T/def.out" 2>&1; then
		rc_seen=$(grep -oE 'DefineSpace\(0x[0-9A-Fa-f]+\)' "$T/def.out" | head -1)
		break
	fi
	n=$i
done
vt_check_eq "capacity: full NV gives TPM_RC_NV_SPACE after $n indices" "DefineSpace(0x14B)" "$rc_seen"
if [ "$VT_TARGET" = vitrum ]; then
	# vitrum: 64 KiB of user NV by default, shared by all indices
	vt_check_true "vitrum: about 64 KiB of 2048-octet indices ($n)" [ "$n" -ge 25 -a "$n" -le 32 ]
fi
vt_check "undefine one frees room for another" bash -c \
	"tpm2_nvundefine 0x1600001 -C o && tpm2_nvdefine 0x1600001 -C o -s 2048 -a 'ownerread|ownerwrite'"
vt_server_restart || vt_done
vt_check_eq "after a restart with full NV: ordinary data" "$(hexof "$T/a.bin")" "$(nvhex 0x1500001 -C o -s 12)"

vt_done
