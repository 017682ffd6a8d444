#!/bin/bash
# Primary keys through tpm2_createprimary: every key type the issue lists,
# the public area the TPM returns, and determinism (Part 1 §27.4 "Primary
# Keys": a primary key is derived from the hierarchy's seed and the public
# template, so the same template gives the same key, also after a TPM
# Reset; the null hierarchy's seed changes at every Startup(CLEAR)).
VT_SCRIPT_TIMEOUT=${VT_SCRIPT_TIMEOUT:-300} # slow on a loaded 2-core machine
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/keys/common.sh"

vt_server_start || vt_done
T=$VT_TMP

field() { pubfield "$@"; }
SIGNKEY="fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign"
STORAGE="fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|decrypt"

# ---- every type: createprimary, then the public area's fields
# name ALG ATTRS TYPE FIELD VALUE
PRIMARIES=(
	"rsa2048 rsa2048 $STORAGE rsa bits 2048"
	"rsa3072 rsa3072 $STORAGE rsa bits 3072"
	"ecc256 ecc256 $STORAGE ecc curve-id NIST_p256"
	"ecc384 ecc384 $STORAGE ecc curve-id NIST_p384"
	"aes128 aes128 $STORAGE symcipher sym-keybits 128"
	"aes256 aes256 $STORAGE symcipher sym-keybits 256"
	"hmac hmac $SIGNKEY keyedhash algorithm hmac"
	"keyedhash xor $STORAGE keyedhash algorithm xor"
)
for p in "${PRIMARIES[@]}"; do
	read -r name alg attrs type f v <<<"$p"
	if vt_check "createprimary $name (-G $alg)" tpm2_createprimary -C o -G "$alg" -a "$attrs" -c "$T/$name.ctx"; then
		vt_check_eq "$name: type" "$type" "$(field "$T/$name.ctx" type)"
		vt_check_eq "$name: $f" "${v//_/ }" "$(field "$T/$name.ctx" "$f")"
		vt_check_eq "$name: attributes" "$attrs" "$(field "$T/$name.ctx" attributes)"
		pubhex "$T/$name.ctx" >"$T/$name.pub1"
	fi
done
vt_check_eq "the primaries are flushed after each tool (harness)" 0 "$(n_transient)"
vt_check_eq "rsa2048 modulus is 256 octets" 512 "$(field "$T/rsa2048.ctx" rsa | tr -d '\n' | wc -c)"
vt_check_eq "ecc384 x is 48 octets" 96 "$(field "$T/ecc384.ctx" x | tr -d '\n' | wc -c)"

# ---- determinism: the same template again gives the same public area
for p in "${PRIMARIES[@]}"; do
	read -r name alg attrs _ <<<"$p"
	tpm2_createprimary -C o -G "$alg" -a "$attrs" -c "$T/$name.2.ctx" >/dev/null 2>&1
	vt_check_eq "$name: the same CreatePrimary again gives the same key" "$(cat "$T/$name.pub1")" "$(pubhex "$T/$name.2.ctx")"
done
# the auth value is not part of the template: same key
tpm2_createprimary -C o -G ecc256 -a "$STORAGE" -p secret -c "$T/ecc-auth.ctx" >/dev/null 2>&1
vt_check_eq "ecc256 with an auth value: same key (auth is not in the template)" \
	"$(cat "$T/ecc256.pub1")" "$(pubhex "$T/ecc-auth.ctx")"
# but the unique field and the attributes are
# (-u -: the tool splits stdin into the x and y of the ECC unique point)
head -c 64 /dev/zero | tr '\0' 'x' >"$T/u.bin"
tpm2_createprimary -C o -G ecc256 -a "$STORAGE" -u - -c "$T/ecc-u.ctx" <"$T/u.bin" >/dev/null 2>&1
u=$(pubhex "$T/ecc-u.ctx")
vt_check_true "ecc256 with another unique field: another key" [ -n "$u" ] && [ "$u" != "$(cat "$T/ecc256.pub1")" ]
tpm2_createprimary -C o -G ecc256 -a "$STORAGE|noda" -c "$T/ecc-noda.ctx" >/dev/null 2>&1
a=$(field "$T/ecc-noda.ctx" x)
vt_check_true "ecc256 with other attributes: another key" [ -n "$a" ] && [ "$a" != "$(field "$T/ecc256.ctx" x)" ]
# each hierarchy has its own seed
tpm2_createprimary -C e -G ecc256 -a "$STORAGE" -c "$T/ecc-e.ctx" >/dev/null 2>&1
tpm2_createprimary -C p -G ecc256 -a "$STORAGE" -c "$T/ecc-p.ctx" >/dev/null 2>&1
tpm2_createprimary -C n -G ecc256 -a "$STORAGE" -c "$T/ecc-n.ctx" >/dev/null 2>&1
xo=$(field "$T/ecc256.ctx" x)
xe=$(field "$T/ecc-e.ctx" x)
xp=$(field "$T/ecc-p.ctx" x)
xn=$(field "$T/ecc-n.ctx" x)
vt_check_true "owner, endorsement, platform and null hierarchies give four different keys" \
	[ -n "$xe" ] && [ -n "$xp" ] && [ -n "$xn" ] && [ "$(printf '%s\n' "$xo" "$xe" "$xp" "$xn" | sort -u | wc -l)" = 4 ]
tpm2_createprimary -C n -G ecc256 -a "$STORAGE" -c "$T/ecc-n2.ctx" >/dev/null 2>&1
vt_check_eq "null hierarchy: same key within one boot" "$xn" "$(field "$T/ecc-n2.ctx" x)"

# ---- bad templates
vt_check_rc "sealed data with sensitivedataorigin: TPM_RC_ATTRIBUTES (parameter 2)" 0x2C2 \
	tpm2_createprimary -C o -G keyedhash -a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth" -c "$T/bad.ctx"
vt_check_rc "hmac scheme on a restricted decrypt key: TPM_RC_SCHEME" 0x2D2 \
	tpm2_createprimary -C o -G hmac -a "$STORAGE" -c "$T/bad.ctx"
vt_check_rc "createprimary with a wrong owner password: TPM_RC_BAD_AUTH" 0x9A2 \
	tpm2_createprimary -C o -P wrong -G ecc256 -c "$T/bad.ctx"
vt_check_eq "nothing left loaded after the failures" 0 "$(n_transient)"

# ---- after a TPM Reset (restart, Startup(CLEAR)): same keys, except null
vt_server_restart || vt_done
for p in "${PRIMARIES[@]}"; do
	read -r name alg attrs _ <<<"$p"
	tpm2_createprimary -C o -G "$alg" -a "$attrs" -c "$T/$name.3.ctx" >/dev/null 2>&1
	vt_check_eq "$name: same key after a restart" "$(cat "$T/$name.pub1")" "$(pubhex "$T/$name.3.ctx")"
done
tpm2_createprimary -C e -G ecc256 -a "$STORAGE" -c "$T/ecc-e2.ctx" >/dev/null 2>&1
vt_check_eq "endorsement: same key after a restart" "$xe" "$(field "$T/ecc-e2.ctx" x)"
tpm2_createprimary -C n -G ecc256 -a "$STORAGE" -c "$T/ecc-n3.ctx" >/dev/null 2>&1
xn3=$(field "$T/ecc-n3.ctx" x)
vt_check_true "null hierarchy: another key after Startup(CLEAR)" [ -n "$xn3" ] && [ "$xn3" != "$xn" ]
vt_check_fails "a context of the old null-hierarchy key does not load after the reset" \
	tpm2_readpublic -c "$T/ecc-n.ctx"

vt_done
