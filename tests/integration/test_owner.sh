#!/bin/bash
# The owner's trust store for firmware releases against a running server
# (docs/VENDOR-COMMANDS.md): `vitrum owner` enrols real `vitrum release`,
# `vitrum log` and `vitrum witness` keys; a logged, cosigned bundle verifies
# through the VerifyBundle vendor command; every refusal comes with its own
# response code; a trust-store change without the owner's authorization is
# refused and changes nothing; a removed key is refused; the store and the
# SVN floor survive a restart; the floor rises when a build boots
# (serve --firmware-bundle) and is lowered only with owner and platform
# authorization; tpm2_getcap lists the vendor commands; the firmware
# identity NV index is readable with tpm2_nvread / tpm2_nvreadpublic and
# nobody can write or undefine it.
VT_SCRIPT_TIMEOUT=${VT_SCRIPT_TIMEOUT:-300}
. "$(dirname "$0")/lib.sh"

if [ "$VT_TARGET" != vitrum ]; then
	vt_skip "$(basename "$0" .sh)" "vitrum's vendor commands"
	vt_done
fi
vt__mktmp
W="$VT_TMP/work"
mkdir -p "$W"
cd "$W" || exit 2
V=$VITRUM_BIN
PY=${VT_PYTHON:-python3}
FW_NV=0x013fff00

# ---- releases, a log, two witnesses (as in test_tlog.sh) ----
"$V" release keygen rel.example/r1 --out keys >/dev/null &&
	"$V" release keygen rel.example/other --out keys >/dev/null &&
	"$V" witness init W1 --name wit.example/w1 >/dev/null &&
	"$V" witness init W2 --name wit.example/w2 >/dev/null &&
	"$V" log init L --origin log.example/vitrum >/dev/null &&
	"$V" log init L2 --origin log.example/forked >/dev/null
vt_check "keys, logs and witnesses made" test -s L/log.pub -a -s W2/witness.pub
RK=keys/rel.example_r1.key RP=keys/rel.example_r1.pub OP=keys/rel.example_other.pub
head -c 5000 /dev/urandom >p.bin
"$V" release sign p.bin --name vitrum --version 1.0.5 --svn 5 --key "$RK" --out b5 >/dev/null
"$V" release sign p.bin --name vitrum --version 1.0.5 --svn 5 --key keys/rel.example_other.key \
	--out other.bundle >/dev/null
# the running image's release: this very binary (serve --firmware-bundle)
"$V" release sign "$V" --name vitrum --version 1.2.3 --svn 7 --key "$RK" --detached --out fw >/dev/null
vt_check "log add" "$V" log add L b5 fw --key "$RP"
"$V" log checkpoint L >cp
"$V" witness cosign W1 --log-key L/log.pub cp --out cp1 &&
	"$V" witness cosign W2 --log-key L/log.pub cp1 --out cp12
vt_check "two witnesses cosign the checkpoint" grep -c "wit.example/w2" cp12
cp cp12 L/checkpoint
vt_check "log prove (cosigned)" "$V" log prove L --bundle b5 --out good.bundle
"$V" log prove L --bundle fw --out fw.bundle >/dev/null
cp cp1 L/checkpoint
"$V" log prove L --bundle b5 --out one.bundle >/dev/null
# the same release in another log (its own key)
"$V" log add L2 b5 >/dev/null && "$V" log checkpoint L2 >/dev/null
"$V" log prove L2 --bundle b5 --out l2.bundle >/dev/null
vt_check "bundles made" test -s good.bundle -a -s fw.bundle -a -s one.bundle -a -s l2.bundle

vt_server_start || vt_done
O() { "$V" owner "$@"; }

# ---- a fresh TPM trusts nothing ----
vt_check "owner show (fresh)" O show
vt_check_true "fresh: no key enrolled" grep -q "no key enrolled" "$VT_LAST_OUT"
vt_check_rc "fresh: nothing verifies (0x502)" 0x502 O check good.bundle

# ---- enrol ----
vt_check "add --release" O add --release "$RP"
vt_check "add --log" O add --log L/log.pub
vt_check "add --witness (1)" O add --witness W1/witness.pub
vt_check "add --witness (2)" O add --witness W2/witness.pub
vt_check_rc "add the same key again: TPM_RC_NV_DEFINED" 0x14c O add --release "$RP"
vt_check_rc "a release key is no witness key: TPM_RC_TYPE + P2" 0x2ca O add --witness "$RP"
vt_check "policy --log yes --witnesses 2" O policy --log yes --witnesses 2
vt_check "owner show" O show
vt_check_true "show: the policy" grep -q "policy: release key, log inclusion, 2 witness cosignatures" "$VT_LAST_OUT"
vt_check_eq "show: 4 keys" 4 "$(grep -cE '^(release|log|witness) ' "$VT_LAST_OUT")"

# ---- verify ----
vt_check "a logged, cosigned bundle verifies" O check good.bundle
vt_check_true "verified: name, svn, log index, cosignatures" \
	grep -qzE "name vitrum.*svn 5.*log index 0 of 2, 2 witness cosignatures" "$VT_LAST_OUT"

# ---- each refusal, with its own code ----
sed 's/^svn 5$/svn 9/' good.bundle >forged.bundle
vt_check_rc "manifest changed after signing: 0x501" 0x501 O check forged.bundle
vt_check_rc "signed by a key not enrolled: 0x502" 0x502 O check other.bundle
vt_check_rc "not in the log (no checkpoint, no proof): 0x503" 0x503 O check b5
vt_check_rc "checkpoint of a log not enrolled: 0x504" 0x504 O check l2.bundle
cp good.bundle proof.bundle
"$PY" -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[-3] ^= 1; open(sys.argv[1], "wb").write(b)' proof.bundle
vt_check_rc "forged inclusion proof: 0x505" 0x505 O check proof.bundle
vt_check_rc "one cosignature of two: 0x506" 0x506 O check one.bundle
head -c 5000 /dev/urandom >q.bin
vt_check_rc "another payload: 0x508" 0x508 O check good.bundle --payload q.bin
vt_check_rc "digest differs: 0x508" 0x508 O check fw.bundle --digest "$(printf '0%.0s' $(seq 64))"
head -c 300 good.bundle >trunc.bundle
vt_check_rc "truncated bundle: TPM_RC_VALUE + P1" 0x1c4 O check trunc.bundle --payload p.bin
vt_check_true "the refusal says why" grep -q "malformed or truncated bundle" "$VT_LAST_OUT"

# ---- owner authorization ----
vt_check "tpm2_changeauth -c o" tpm2_changeauth -c o secret
O show >before.txt
vt_check_rc "add without the owner's password: TPM_RC_BAD_AUTH" 0x9a2 O add --release "$OP"
vt_check_rc "add with a wrong password: TPM_RC_BAD_AUTH" 0x9a2 O add --release "$OP" -P wrong
vt_check_rc "remove with a wrong password" 0x9a2 O remove --release "$RP" -P str:wrong
vt_check_rc "policy with a wrong password" 0x9a2 O policy --log no -P wrong
O show >after.txt
vt_check "the store is unchanged" cmp before.txt after.txt
vt_check "remove --release with the owner's password" O remove --release "$RP" -P secret
vt_check_rc "a removed key is refused: 0x502" 0x502 O check good.bundle
vt_check_rc "removing it again: TPM_RC_HANDLE + P2" 0x2cb O remove --release "$RP" -P secret
vt_check "enrol it again" O add --release "$RP" -P hex:736563726574
vt_check "verifies again" O check good.bundle

# ---- GetCapability ----
vt_check "tpm2_getcap commands" tpm2_getcap commands
# TPMA_CC: V (bit 29), cHandles, nv, commandIndex
for cc in 0x22400001 0x22400002 0x22400003 0x20000004 0x20000005 0x24400006; do
	vt_check_true "tpm2_getcap commands lists vendor command $cc" grep -q "^$cc:" "$VT_LAST_OUT"
done
vt_check_eq "TPMA_CC.V is set on 6 commands" 6 "$(grep -c '^  V: *1$' "$VT_LAST_OUT")"
vt_check "tpm2_getcap properties-fixed" tpm2_getcap properties-fixed
vt_check_true "TPM2_PT_VENDOR_COMMANDS is 6" \
	bash -c 'grep -A1 "^TPM2_PT_VENDOR_COMMANDS:" "$1" | grep -q "raw: 0x6"' _ "$VT_LAST_OUT"

# ---- the firmware identity and the floor ----
vt_check_fails "no firmware NV index before a firmware is set" tpm2_nvreadpublic "$FW_NV"
vt_server_restart --firmware-bundle "$W/fw.bundle" || vt_done
vt_check "owner show (firmware set)" O show
vt_check_true "show: the running firmware" grep -q "^firmware vitrum 1.2.3 svn 7 sha256 $(sha256sum "$V" | cut -c1-64) log index 1" "$VT_LAST_OUT"
vt_check_true "show: booting raised the floor to 7" grep -q "^floor vitrum 7$" "$VT_LAST_OUT"
vt_check "tpm2_nvreadpublic of the firmware index" tpm2_nvreadpublic "$FW_NV"
vt_check_true "its attributes: platformcreate, written, writelocked, no write attribute" \
	bash -c 'a=$(grep "friendly:" "$1"); for w in platformcreate written writelocked writedefine policydelete authread; do grep -q "$w" <<<"$a" || exit 1; done; ! grep -qE "(pp|owner|auth|policy)write" <<<"$a"' _ "$VT_LAST_OUT"
vt_check "tpm2_nvread of the firmware index (its empty authValue)" \
	tpm2_nvread "$FW_NV" -C "$FW_NV" -s 176 -o fwid.bin
vt_check_eq "it holds the image's SHA-256" "$(sha256sum "$V" | cut -c1-64)" "$(head -c 32 fwid.bin | od -An -tx1 | tr -d ' \n')"
vt_check_eq "then SVN 7 and log index 1" "00000000000000070000000000000001" "$(head -c 48 fwid.bin | tail -c 16 | od -An -tx1 | tr -d ' \n')"
vt_check_true "then name and version" bash -c 'tail -c 128 "$1" | tr "\0" " " | grep -q "^vitrum  *1.2.3"' _ fwid.bin
vt_check "tpm2_nvread with ownerAuth" tpm2_nvread "$FW_NV" -C o -P secret -s 32
vt_check_fails "tpm2_nvwrite (owner) refused" bash -c 'echo x | tpm2_nvwrite '$FW_NV' -C o -P secret -i -'
vt_check_fails "tpm2_nvwrite (platform) refused" bash -c 'echo x | tpm2_nvwrite '$FW_NV' -C p -i -'
vt_check_fails "tpm2_nvwrite (index) refused" bash -c 'echo x | tpm2_nvwrite '$FW_NV' -C '$FW_NV' -i -'
vt_check_fails "tpm2_nvundefine (platform) refused" tpm2_nvundefine "$FW_NV" -C p
vt_check_fails "tpm2_nvundefine (owner) refused" tpm2_nvundefine "$FW_NV" -C o -P secret
vt_check "the index is still there" tpm2_nvreadpublic "$FW_NV"
vt_check "tpm2_getcap properties-fixed" tpm2_getcap properties-fixed
vt_check_true "TPM2_PT_FIRMWARE_VERSION_1 is 1.2 (0x10002)" \
	bash -c 'grep -A1 "^TPM2_PT_FIRMWARE_VERSION_1:" "$1" | grep -q "raw: 0x10002"' _ "$VT_LAST_OUT"
vt_check_true "TPM2_PT_FIRMWARE_VERSION_2 is 3" \
	bash -c 'grep -A1 "^TPM2_PT_FIRMWARE_VERSION_2:" "$1" | grep -q "raw: 0x3$"' _ "$VT_LAST_OUT"
# NV_Certify of the index with an endorsement signing key (firmwareVersion
# in the clear: Part 3 §18.1 obfuscates it only outside the endorsement and
# platform hierarchies)
vt_check "tpm2_createprimary (endorsement signing key)" tpm2_createprimary -C e -G ecc -c sk.ctx \
	-a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign"
vt_check "tpm2_nvcertify of the firmware index" tpm2_nvcertify -C sk.ctx -g sha256 -f plain -s ecdsa \
	-o sig.bin --attestation att.bin --size 48 --offset 0 -c "$FW_NV" "$FW_NV"
attest=$("$PY" -c '
import sys
b = open(sys.argv[1], "rb").read()
o = 6
for _ in range(2):  # qualifiedSigner, extraData
    o += 2 + int.from_bytes(b[o:o + 2], "big")
o += 17  # clockInfo
fw = b[o:o + 8].hex()
o += 8
o += 2 + int.from_bytes(b[o:o + 2], "big") + 2  # indexName, offset
n = int.from_bytes(b[o:o + 2], "big")
print(fw, b[o + 2:o + 2 + n][:32].hex())' att.bin)
vt_check_eq "NV_Certify: firmwareVersion 1.2.3 and the image's SHA-256" \
	"0001000200000003 $(sha256sum "$V" | cut -c1-64)" "$attest"
vt_check_rc "SVN 5 below the floor 7: 0x507" 0x507 O check good.bundle

# lowering: owner and platform authorization, recorded
vt_check "tpm2_changeauth -c p" tpm2_changeauth -c p plat
vt_check_rc "floor-lower without the platform's password" 0xaa2 O floor-lower vitrum 4 -P secret
vt_check_rc "floor-lower without the owner's password" 0x9a2 O floor-lower vitrum 4 --platform-auth plat
vt_check_rc "floor-lower to a higher SVN: TPM_RC_VALUE + P2" 0x2c4 O floor-lower vitrum 8 -P secret --platform-auth plat
vt_check_rc "floor-lower of an unknown release: TPM_RC_HANDLE + P1" 0x1cb O floor-lower nothing 1 -P secret --platform-auth plat
vt_check "floor-lower vitrum 4" O floor-lower vitrum 4 -P secret --platform-auth plat
vt_check "owner show" O show
vt_check_true "show: floor 4" grep -q "^floor vitrum 4$" "$VT_LAST_OUT"
vt_check_true "show: the lowering is recorded" grep -q "floor lowered 1 time, last: vitrum 7 -> 4" "$VT_LAST_OUT"
vt_check "SVN 5 verifies again" O check good.bundle

# ---- a restart keeps the store and the floor; the identity is per run ----
O show | grep -v '^firmware' >before.txt
vt_server_restart || vt_done
O show | grep -v '^firmware' >after.txt
vt_check "store, policy, floor and record survive a restart" cmp before.txt after.txt
vt_check "owner show" O show
vt_check_true "no firmware set in this run" grep -q "^firmware: not set" "$VT_LAST_OUT"
vt_check_fails "the firmware index is gone with it" tpm2_nvreadpublic "$FW_NV"
vt_check "and verification works after the restart" O check good.bundle
vt_server_kill
vt_server_start || vt_done
vt_check "after kill -9 too" O check good.bundle

# ---- usage ----
vt_check_fails "add without a role is a usage error" O add "$RP"
vt_check_eq "... exit status 2" 2 "$(O add "$RP" >/dev/null 2>&1; echo $?)"
vt_check_fails "a non-key is refused" O add --release "not a key"
vt_check_fails "no TPM at the TCTI: refused" O show --tcti mssim:host=127.0.0.1,port=1
vt_check_true "... saying so" grep -q "cannot reach the TPM" "$VT_LAST_OUT"
vt_done
