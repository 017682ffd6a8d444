#!/bin/bash
# Record real tpm2-tools traffic against `vitrum serve` with the tpm2-tss
# pcap TCTI (Debian: libtss2-tcti-pcap0) and turn it into fuzz corpus files
# (tests/fuzz/pcap_to_corpus.py).  One capture per tool invocation.
#
#   tests/fuzz/record_corpus.sh [VITRUM_BIN]     default build/vitrum
#
# Keep the corpus small: run this when the command set grows, review the
# new files, commit them.
set -u
cd "$(dirname "$0")/../.."
BIN=${1:-${VITRUM_BIN:-build/vitrum}}
PORT=${PORT:-$((24000 + RANDOM % 4000))}
TMP=$(mktemp -d)
trap 'kill $SRV 2>/dev/null; wait $SRV 2>/dev/null; rm -rf "$TMP"' EXIT

"$BIN" serve --state "$TMP/state" --port "$PORT" >"$TMP/server.log" 2>&1 &
SRV=$!
for _ in $(seq 50); do
    python3 -c "import socket;socket.create_connection(('127.0.0.1',$PORT),0.2)" 2>/dev/null && break
    sleep 0.1
done
unset TCTI TPM2TOOLS_ENABLE_ERRATA
export TSS2_LOG=all+none
export TPM2TOOLS_TCTI="pcap:mssim:host=127.0.0.1,port=$PORT"
n=0
cap() {
    n=$((n + 1))
    TCTI_PCAP_FILE="$TMP/cap$(printf %03d $n).pcap" timeout 20 "$@" >/dev/null 2>&1 </dev/null
}
capin() { # stdin from $1
    local f=$1
    shift
    n=$((n + 1))
    TCTI_PCAP_FILE="$TMP/cap$(printf %03d $n).pcap" timeout 20 "$@" <"$f" >/dev/null 2>&1
}

head -c 100 /dev/zero | tr '\0' 'a' >"$TMP/small"
head -c 3000 /dev/zero | tr '\0' 'b' >"$TMP/big"
printf '\xffTCGdata' >"$TMP/generated"

cap tpm2_startup -c
cap tpm2_selftest
cap tpm2_selftest -f
cap tpm2_incrementalselftest sha256 aes rsa
cap tpm2_gettestresult
for c in algorithms commands pcrs properties-fixed properties-variable ecc-curves \
    handles-transient handles-persistent handles-permanent handles-pcr handles-nv-index \
    handles-loaded-session handles-saved-session; do
    cap tpm2_getcap "$c"
done
cap tpm2_getrandom 32
cap tpm2_getrandom --force 64
capin "$TMP/small" tpm2_stirrandom
cap tpm2_pcrread
cap tpm2_pcrread sha1:0,1,2+sha256:all
cap tpm2_pcrextend 16:sha256=0000000000000000000000000000000000000000000000000000000000000001
cap tpm2_pcrextend 23:sha1=0000000000000000000000000000000000000001,sha256=0000000000000000000000000000000000000000000000000000000000000002
cap tpm2_pcrevent 16 "$TMP/small"
cap tpm2_pcrevent 16 "$TMP/big"
cap tpm2_pcrevent "$TMP/small"
cap tpm2_pcrreset 16
cap tpm2_pcrreset 23
cap tpm2_hash -g sha256 "$TMP/small"
cap tpm2_hash -C o -g sha1 "$TMP/small"
cap tpm2_hash -C e -g sha384 "$TMP/big"
cap tpm2_hash -C o -g sha256 "$TMP/generated"
capin "$TMP/big" tpm2_hash -g sha512
cap tpm2_readclock
cap tpm2_setclock 100000000
cap tpm2_clockrateadjust s
cap tpm2_clockrateadjust fff
for p in rsa2048 ecc256 aes128cfb hmac:sha256 xor:sha256 rsa1024:rsassa ecc384:ecdsa; do
    cap tpm2_testparms "$p"
done
cap tpm2_startauthsession -S "$TMP/s.ctx"
cap tpm2_startauthsession --hmac-session -S "$TMP/s2.ctx"
cap tpm2_startauthsession --policy-session -g sha1 -S "$TMP/s3.ctx"
cap tpm2_flushcontext -t
cap tpm2_flushcontext -l
cap tpm2_pcrallocate sha1:all+sha256:all
cap tpm2_shutdown
cap tpm2_shutdown -c

kill $SRV 2>/dev/null
wait $SRV 2>/dev/null
python3 tests/fuzz/pcap_to_corpus.py "$TMP"/cap*.pcap
