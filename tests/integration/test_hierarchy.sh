#!/bin/bash
# Hierarchy control through tpm2-tools: tpm2_changeauth on the owner,
# endorsement, lockout and platform hierarchies (platformAuth is volatile),
# tpm2_hierarchycontrol (who may disable and enable what, and what a
# disabled hierarchy cannot do), tpm2_setprimarypolicy (a hierarchy
# authorized by a policy session), tpm2_clear / tpm2_clearcontrol,
# tpm2_changeeps and tpm2_changepps (TPM 2.0 Part 3 §24).
# Runs against swtpm too (VT_TARGET=swtpm) to compare response codes.
# long: many tpm2-tools runs and server restarts (slow on a loaded machine)
VT_SCRIPT_TIMEOUT=${VT_SCRIPT_TIMEOUT:-480}
. "$(dirname "$0")/lib.sh"

vt_server_start || vt_done
T=$VT_TMP

flush() { tpm2_flushcontext -t >/dev/null 2>&1; }
# SHA-256 of the public area of the primary that template ecc makes in
# hierarchy $1 (extra tpm2_createprimary arguments after it); empty on error.
primary_pub() {
	local h=$1
	shift
	rm -f "$T/pp.pub"
	tpm2_createprimary -C "$h" -G ecc -c "$T/pp.ctx" "$@" >/dev/null 2>&1 &&
		tpm2_readpublic -c "$T/pp.ctx" -o "$T/pp.pub" >/dev/null 2>&1
	flush
	[ -s "$T/pp.pub" ] && sha256sum <"$T/pp.pub" | cut -d' ' -f1
}
perm() { # a TPMA_PERMANENT bit as tpm2_getcap prints it: perm ownerAuthSet
	tpm2_getcap properties-variable 2>/dev/null | awk -v f="$1:" '$1 == f { print $2; exit }'
}
startup_clear() { # a TPMA_STARTUP_CLEAR bit: startup_clear shEnable
	tpm2_getcap properties-variable 2>/dev/null | awk -v f="$1:" '$1 == f { print $2; exit }'
}
transients() { tpm2_getcap handles-transient 2>/dev/null | grep -c 0x80; }
# A raw command with one password session (empty password) authorizing
# handle 1, for what tpm2-tools refuses to send: rawauth CC HANDLES_HEX
# PARAMS_HEX; prints the response code as rc=0x...
rawcmd() { # the command as hex: rawcmd CC HANDLES_HEX PARAMS_HEX
	local body="$2""00000009""40000009""0000""01""0000""$3"
	printf '8002%08x%08x%s' $((10 + ${#body} / 2)) "$1" "$body"
}
rawauth() {
	# shellcheck disable=SC2086
	$VT_RAW send "$(rawcmd "$@")" 2>&1 | grep -oE 'rc=0x[0-9a-fA-F]+' | head -1
}
OWNER=40000001 LOCKOUT=4000000a ENDORSEMENT=4000000b PLATFORM=4000000c PLATFORM_NV=4000000d
CC_HierarchyControl=0x121 CC_ClearControl=0x127 CC_HierarchyChangeAuth=0x129

# Give lockoutAuth a short recovery, so a refused lockoutAuth below does not
# lock it for long (this script tests no lockoutAuth failure, but be safe).
vt_check "tpm2_dictionarylockout: lockoutRecovery 1 s" tpm2_dictionarylockout -s -n 5 -t 10 -l 1

# ------------------------------------------------------------ changeauth
vt_check_eq "ownerAuthSet is 0 on a new TPM" "0" "$(perm ownerAuthSet)"
vt_check "tpm2_changeauth owner" tpm2_changeauth -c owner ownerpw
vt_check_eq "ownerAuthSet is 1" "1" "$(perm ownerAuthSet)"
vt_check "createprimary -C o with the new ownerAuth" tpm2_createprimary -C o -P ownerpw -G ecc -c "$T/o.ctx"
flush
# owner is not DA-protected: TPM_RC_BAD_AUTH + session 1
vt_check_rc "createprimary -C o with the old (empty) ownerAuth: TPM_RC_BAD_AUTH" 0x9a2 \
	tpm2_createprimary -C o -G ecc -c "$T/o.ctx"
flush
vt_check_rc "createprimary -C o with a wrong ownerAuth: TPM_RC_BAD_AUTH" 0x9a2 \
	tpm2_createprimary -C o -P wrong -G ecc -c "$T/o.ctx"
flush
vt_check "tpm2_changeauth endorsement" tpm2_changeauth -c endorsement endorsepw
vt_check_eq "endorsementAuthSet is 1" "1" "$(perm endorsementAuthSet)"
vt_check "createprimary -C e with the new endorsementAuth" tpm2_createprimary -C e -P endorsepw -G ecc -c "$T/e.ctx"
flush
vt_check_rc "createprimary -C e with the old endorsementAuth: TPM_RC_BAD_AUTH" 0x9a2 \
	tpm2_createprimary -C e -G ecc -c "$T/e.ctx"
flush
vt_check "tpm2_changeauth lockout" tpm2_changeauth -c lockout lockpw
vt_check_eq "lockoutAuthSet is 1" "1" "$(perm lockoutAuthSet)"
vt_check "lockoutAuth works: tpm2_dictionarylockout -c -p lockpw" tpm2_dictionarylockout -c -p lockpw
vt_check "tpm2_changeauth platform" tpm2_changeauth -c platform platpw
vt_check "createprimary -C p with the new platformAuth" tpm2_createprimary -C p -P platpw -G ecc -c "$T/p.ctx"
flush
vt_check_rc "createprimary -C p with the old platformAuth: TPM_RC_BAD_AUTH" 0x9a2 \
	tpm2_createprimary -C p -G ecc -c "$T/p.ctx"
flush
vt_check "changeauth owner back to empty (old auth given)" tpm2_changeauth -c owner -p ownerpw
vt_check_eq "HierarchyChangeAuth with a 65-octet newAuth: TPM_RC_SIZE (parameter 1)" "rc=0x000001d5" \
	"$(rawauth $CC_HierarchyChangeAuth $OWNER "0041$(printf 'ab%.0s' $(seq 65))")"
# vitrum's context integrity hash is SHA-256 (TPM_PT_CONTEXT_HASH); swtpm's
# is longer, so it takes 33 octets
if [ "$VT_TARGET" = vitrum ]; then
	vt_check_eq "HierarchyChangeAuth with a newAuth longer than the context digest: TPM_RC_SIZE" "rc=0x000001d5" \
		"$(rawauth $CC_HierarchyChangeAuth $OWNER "0021$(printf 'ab%.0s' $(seq 33))")"
fi
vt_check_eq "HierarchyChangeAuth with trailing zeros" "rc=0x00000000" \
	"$(rawauth $CC_HierarchyChangeAuth $OWNER "000461620000")"
vt_check "the owner's authValue is 'ab': trailing zeros dropped" tpm2_createprimary -C o -P ab -G ecc -c "$T/o.ctx"
flush
vt_check "changeauth owner back to empty" tpm2_changeauth -c owner -p ab
vt_check "createprimary -C o with empty ownerAuth again" tpm2_createprimary -C o -G ecc -c "$T/o.ctx"
flush
vt_check "changeauth owner to a value again" tpm2_changeauth -c owner ownerpw

# Across a power cycle: owner/endorsement/lockout auths persist,
# platformAuth is back to empty (Part 1 §13.?: cleared at every Startup).
tpm2_shutdown -c >/dev/null 2>&1
vt_server_restart || vt_done
vt_check "after restart: ownerAuth persisted" tpm2_createprimary -C o -P ownerpw -G ecc -c "$T/o.ctx"
flush
vt_check "after restart: endorsementAuth persisted" tpm2_createprimary -C e -P endorsepw -G ecc -c "$T/e.ctx"
flush
vt_check "after restart: platformAuth is empty again" tpm2_createprimary -C p -G ecc -c "$T/p.ctx"
flush
vt_check "clear the auths again (owner, endorsement, lockout)" \
	bash -c "tpm2_changeauth -c o -p ownerpw && tpm2_changeauth -c e -p endorsepw && tpm2_changeauth -c l -p lockpw"
vt_check_eq "ownerAuthSet is 0 again" "0" "$(perm ownerAuthSet)"

# ------------------------------------------------------------ hierarchycontrol
vt_check "a persistent owner object 0x81000100" \
	bash -c "tpm2_createprimary -C o -G ecc -c $T/o.ctx >/dev/null && tpm2_evictcontrol -C o -c $T/o.ctx 0x81000100 >/dev/null"
flush
vt_check "an owner NV index 0x01500101" tpm2_nvdefine -C o -s 8 -a "ownerwrite|ownerread|authread|authwrite" 0x01500101
# In one connection (vitrum flushes what a client loaded when it goes):
# CreatePrimary(owner, a small sealed-data object), GetCapability(transient
# handles), HierarchyControl(owner: shEnable CLEAR), GetCapability again.
# GetCapability answers moreData, capability, count at octets 10, 11, 15.
SEAL_PRIMARY=$(rawcmd 0x131 $OWNER "00080000000461626364000e0008000b00000052000000100000000000000000")
GETCAP_TRANSIENT=8001000000160000017a000000018000000000000008
out=$($VT_RAW send "$SEAL_PRIMARY" $GETCAP_TRANSIENT "$(rawcmd $CC_HierarchyControl $OWNER "${OWNER}00")" \
	$GETCAP_TRANSIENT 2>&1)
vt_check_eq "CreatePrimary, GetCapability, HierarchyControl, GetCapability all succeed" \
	"rc=0x00000000 rc=0x00000000 rc=0x00000000 rc=0x00000000" "$(echo $(grep -oE 'rc=0x[0-9a-f]+' <<<"$out"))"
counts=$(grep -oE 'rsp=[0-9a-f]+' <<<"$out" | sed -n '2p;4p' | cut -c35-42 | tr '\n' ' ')
vt_check_eq "the owner's transient object went when its hierarchy was disabled (count 1, then 0)" \
	"00000001 00000000 " "$counts"
vt_check_eq "shEnable is 0" "0" "$(startup_clear shEnable)"
vt_check_rc "createprimary -C o: TPM_RC_HIERARCHY (handle 1)" 0x185 tpm2_createprimary -C o -G ecc -c "$T/o.ctx"
flush
vt_check_fails "its persistent object is out of reach" tpm2_readpublic -c 0x81000100
vt_check_rc "its NV index is out of reach: TPM_RC_HANDLE" 0x18b tpm2_nvreadpublic 0x01500101
vt_check_eq "ownerAuth cannot enable it again (TPM_RC_HIERARCHY, handle 1)" "rc=0x00000185" \
	"$(rawauth $CC_HierarchyControl $OWNER "${OWNER}01")"
vt_check "the endorsement hierarchy still works" tpm2_createprimary -C e -G ecc -c "$T/e.ctx"
flush
vt_check "platformAuth re-enables it: tpm2_hierarchycontrol -C p shEnable set" tpm2_hierarchycontrol -C p shEnable set
vt_check_eq "shEnable is 1" "1" "$(startup_clear shEnable)"
vt_check "createprimary -C o works again" tpm2_createprimary -C o -G ecc -c "$T/o.ctx"
flush
vt_check "the persistent owner object is back" tpm2_readpublic -c 0x81000100
flush
vt_check "the owner NV index is back" tpm2_nvreadpublic 0x01500101
vt_check_eq "endorsementAuth cannot disable the owner hierarchy: TPM_RC_AUTH_TYPE" "rc=0x00000124" \
	"$(rawauth $CC_HierarchyControl $ENDORSEMENT "${OWNER}00")"
vt_check_eq "ownerAuth cannot disable the endorsement hierarchy: TPM_RC_AUTH_TYPE" "rc=0x00000124" \
	"$(rawauth $CC_HierarchyControl $OWNER "${ENDORSEMENT}00")"
vt_check_eq "ownerAuth cannot touch phEnableNV: TPM_RC_AUTH_TYPE" "rc=0x00000124" \
	"$(rawauth $CC_HierarchyControl $OWNER "${PLATFORM_NV}00")"
vt_check_eq "ownerAuth cannot disable the platform hierarchy: TPM_RC_AUTH_TYPE" "rc=0x00000124" \
	"$(rawauth $CC_HierarchyControl $OWNER "${PLATFORM}00")"
vt_check_eq "HierarchyControl with state 2: TPM_RC_VALUE (parameter 2)" "rc=0x000002c4" \
	"$(rawauth $CC_HierarchyControl $PLATFORM "${OWNER}02")"
vt_check_eq "HierarchyControl on the lockout handle: TPM_RC_VALUE (handle 1)" "rc=0x00000184" \
	"$(rawauth $CC_HierarchyControl $LOCKOUT "${OWNER}00")"
vt_check_eq "HierarchyControl with a short parameter area: TPM_RC_INSUFFICIENT (parameter 2)" "rc=0x000002da" \
	"$(rawauth $CC_HierarchyControl $PLATFORM "${OWNER}")"
vt_check_eq "the owner hierarchy is still enabled after all that" "1" "$(startup_clear shEnable)"
vt_check "tpm2_hierarchycontrol -C e ehEnable clear" tpm2_hierarchycontrol -C e ehEnable clear
vt_check_eq "ehEnable is 0" "0" "$(startup_clear ehEnable)"
vt_check_rc "createprimary -C e: TPM_RC_HIERARCHY" 0x185 tpm2_createprimary -C e -G ecc -c "$T/e.ctx"
flush
vt_check "platform re-enables ehEnable" tpm2_hierarchycontrol -C p ehEnable set
vt_check "createprimary -C e works again" tpm2_createprimary -C e -G ecc -c "$T/e.ctx"
flush
# Shutdown(STATE) keeps the enables for TPM Resume (Part 1 §12.2.3), also
# across a server restart between Shutdown and Startup
vt_check "ehEnable clear before Shutdown(STATE)" tpm2_hierarchycontrol -C e ehEnable clear
vt_check "tpm2_shutdown (STATE)" tpm2_shutdown
vt_server_restart --startup none || vt_done
vt_check "tpm2_startup (STATE): TPM Resume" tpm2_startup
vt_check_eq "after Resume: ehEnable is still 0" "0" "$(startup_clear ehEnable)"
vt_check_eq "after Resume: shEnable is 1" "1" "$(startup_clear shEnable)"
vt_check "platform re-enables ehEnable after Resume" tpm2_hierarchycontrol -C p ehEnable set
vt_check "a platform NV index 0x01400100" tpm2_nvdefine -C p -s 8 -a "ppwrite|ppread|authread|authwrite|platformcreate" 0x01400100
vt_check "tpm2_hierarchycontrol -C p phEnableNV clear" tpm2_hierarchycontrol -C p phEnableNV clear
vt_check_eq "phEnableNV is 0" "0" "$(startup_clear phEnableNV)"
vt_check_fails "the platform NV index is out of reach" tpm2_nvreadpublic 0x01400100
vt_check "tpm2_hierarchycontrol -C p phEnableNV set" tpm2_hierarchycontrol -C p phEnableNV set
vt_check "the platform NV index is back" tpm2_nvreadpublic 0x01400100
# platformAuth and platformPolicy: TPM Resume keeps them, also across a
# server restart; TPM Restart empties them (Part 1 §10.3).  Platform
# firmware does not run again after a suspend to set them.
printf '%064d' 7 | xxd -r -p >"$T/ppol.dat"
vt_check "tpm2_changeauth -c platform platpw" tpm2_changeauth -c platform platpw
vt_check "tpm2_setprimarypolicy -C p" tpm2_setprimarypolicy -C p -P platpw -L "$T/ppol.dat" -g sha256
vt_check "tpm2_shutdown (STATE) with a platformAuth set" tpm2_shutdown
vt_server_restart --startup none || vt_done
vt_check "tpm2_startup (STATE): TPM Resume" tpm2_startup
vt_check_rc "after Resume the empty platformAuth is refused: TPM_RC_BAD_AUTH" 0x9a2 \
	tpm2_hierarchycontrol -C p shEnable set
vt_check "after Resume platformAuth still authorizes" tpm2_hierarchycontrol -C p -P platpw shEnable set
vt_check "tpm2_shutdown (CLEAR)" tpm2_shutdown -c
vt_server_restart --startup none || vt_done
vt_check "tpm2_startup (CLEAR): TPM Reset" tpm2_startup -c
vt_check "after a Reset the empty platformAuth authorizes again" tpm2_hierarchycontrol -C p shEnable set
vt_check_eq "HierarchyControl with an enable that is no hierarchy: TPM_RC_VALUE (parameter 1)" "rc=0x000001c4" \
	"$(rawauth $CC_HierarchyControl $PLATFORM "4000000700")"

# ------------------------------------------------------------ setprimarypolicy
# policy: PolicyCommandCode(CreatePrimary)
vt_check "trial session: PolicyCommandCode(CreatePrimary)" bash -c "
	tpm2_startauthsession -S $T/s.ctx &&
	tpm2_policycommandcode -S $T/s.ctx -L $T/pol.dat TPM2_CC_CreatePrimary &&
	tpm2_flushcontext $T/s.ctx"
vt_check "tpm2_changeauth owner (the policy must not need it)" tpm2_changeauth -c owner ownerpw
vt_check "tpm2_setprimarypolicy -C o -L pol -g sha256" tpm2_setprimarypolicy -C o -P ownerpw -L "$T/pol.dat" -g sha256
vt_check "createprimary -C o authorized by a policy session" bash -c "
	tpm2_startauthsession --policy-session -S $T/s.ctx &&
	tpm2_policycommandcode -S $T/s.ctx TPM2_CC_CreatePrimary &&
	tpm2_createprimary -C o -P session:$T/s.ctx -G ecc -c $T/o.ctx"
tpm2_flushcontext "$T/s.ctx" >/dev/null 2>&1
flush
vt_check_rc "a policy session for another command: TPM_RC_POLICY_FAIL or _POLICY_CC" 0x99d bash -c "
	tpm2_startauthsession --policy-session -S $T/s.ctx &&
	tpm2_policycommandcode -S $T/s.ctx TPM2_CC_Create &&
	tpm2_createprimary -C o -P session:$T/s.ctx -G ecc -c $T/o.ctx"
tpm2_flushcontext "$T/s.ctx" >/dev/null 2>&1
flush
vt_check "tpm2_setprimarypolicy for the endorsement hierarchy too" tpm2_setprimarypolicy -C e -L "$T/pol.dat" -g sha256
vt_check "createprimary -C e authorized by the same policy" bash -c "
	tpm2_startauthsession --policy-session -S $T/s.ctx &&
	tpm2_policycommandcode -S $T/s.ctx TPM2_CC_CreatePrimary &&
	tpm2_createprimary -C e -P session:$T/s.ctx -G ecc -c $T/e.ctx"
tpm2_flushcontext "$T/s.ctx" >/dev/null 2>&1
flush
vt_check_rc "setprimarypolicy with a digest of the wrong size: TPM_RC_SIZE" 0x1d5 \
	tpm2_setprimarypolicy -C o -P ownerpw -L "$T/pol.dat" -g sha1
vt_check "ownerPolicy survives a restart" bash -c "
	tpm2_shutdown -c"
vt_server_restart || vt_done
vt_check "after restart: createprimary -C o by policy" bash -c "
	tpm2_startauthsession --policy-session -S $T/s.ctx &&
	tpm2_policycommandcode -S $T/s.ctx TPM2_CC_CreatePrimary &&
	tpm2_createprimary -C o -P session:$T/s.ctx -G ecc -c $T/o.ctx"
tpm2_flushcontext "$T/s.ctx" >/dev/null 2>&1
flush
vt_check "tpm2_setprimarypolicy -C o with no policy clears it" tpm2_setprimarypolicy -C o -P ownerpw
vt_check_rc "the policy no longer authorizes: TPM_RC_AUTH_UNAVAILABLE" 0x12f bash -c "
	tpm2_startauthsession --policy-session -S $T/s.ctx &&
	tpm2_policycommandcode -S $T/s.ctx TPM2_CC_CreatePrimary &&
	tpm2_createprimary -C o -P session:$T/s.ctx -G ecc -c $T/o.ctx"
tpm2_flushcontext "$T/s.ctx" >/dev/null 2>&1
flush

# ------------------------------------------------------------ clear
vt_check "a persistent endorsement object 0x81010100" \
	bash -c "tpm2_createprimary -C e -G ecc -c $T/e.ctx >/dev/null && tpm2_evictcontrol -C o -P ownerpw -c $T/e.ctx 0x81010100 >/dev/null"
flush
vt_check "an owner NV index 0x01500100" tpm2_nvdefine -C o -P ownerpw -s 8 -a "ownerwrite|ownerread|authread|authwrite" 0x01500100
vt_check "a platform persistent object 0x81800100" \
	bash -c "tpm2_createprimary -C p -G ecc -c $T/p.ctx >/dev/null && tpm2_evictcontrol -C p -c $T/p.ctx 0x81800100 >/dev/null"
flush
srk0=$(primary_pub o -P ownerpw)
ek0=$(primary_pub e)
ppk0=$(primary_pub p)
vt_check_true "primaries made (owner, endorsement, platform)" [ -n "$srk0" -a -n "$ek0" -a -n "$ppk0" ]
vt_check "tpm2_changeauth lockout lockpw" tpm2_changeauth -c l lockpw
vt_check "ClockSet forward a day" tpm2_setclock -c o -p ownerpw $(($(vt_clock_field clock) + 86400000))
vt_check_rc "tpm2_clear with a wrong lockoutAuth: TPM_RC_AUTH_FAIL" 0x98e tpm2_clear -c l wrong
sleep 1.2 # lockoutRecovery
vt_check "tpm2_clear -c l" tpm2_clear -c l lockpw
vt_check_eq "after Clear: ownerAuthSet 0" "0" "$(perm ownerAuthSet)"
vt_check_eq "after Clear: endorsementAuthSet 0" "0" "$(perm endorsementAuthSet)"
vt_check_eq "after Clear: lockoutAuthSet 0" "0" "$(perm lockoutAuthSet)"
vt_check_fails "after Clear: the owner persistent object is gone" tpm2_readpublic -c 0x81000100
flush
vt_check_fails "after Clear: the endorsement persistent object is gone" tpm2_readpublic -c 0x81010100
flush
vt_check "after Clear: the platform persistent object stays" tpm2_readpublic -c 0x81800100
flush
vt_check_fails "after Clear: the owner NV index is gone" tpm2_nvreadpublic 0x01500100
vt_check "after Clear: the platform NV index stays" tpm2_nvreadpublic 0x01400100
vt_check_true "after Clear: Clock went back to (near) zero" [ "$(vt_clock_field clock)" -lt 86400000 ]
vt_check_eq "after Clear: resetCount 0" "0" "$(vt_clock_field reset_count)"
srk1=$(primary_pub o)
ek1=$(primary_pub e)
vt_check_true "after Clear: the storage primary is a new key (new SPS)" [ -n "$srk1" -a "$srk1" != "$srk0" ]
vt_check_eq "after Clear: the EK is the same key (EPS unchanged)" "$ek0" "$ek1"
vt_check "after Clear: ownerPolicy is gone, empty ownerAuth works" tpm2_createprimary -C o -G ecc -c "$T/o.ctx"
flush
vt_check "after Clear: endorsementPolicy gone, empty endorsementAuth works" tpm2_createprimary -C e -G ecc -c "$T/e.ctx"
flush

# ------------------------------------------------------------ clearcontrol
vt_check_eq "disableClear is 0" "0" "$(perm disableClear)"
vt_check "tpm2_clearcontrol -C l s" tpm2_clearcontrol -C l s
vt_check_eq "disableClear is 1" "1" "$(perm disableClear)"
vt_check_rc "tpm2_clear -c l refused: TPM_RC_DISABLED" 0x120 tpm2_clear -c l
vt_check_rc "tpm2_clear -c p refused: TPM_RC_DISABLED" 0x120 tpm2_clear -c p
vt_check_eq "lockoutAuth cannot clear disableClear: TPM_RC_AUTH_FAIL" "rc=0x0000008e" \
	"$(rawauth $CC_ClearControl $LOCKOUT "00")"
vt_check_eq "ClearControl on the owner handle: TPM_RC_VALUE (handle 1)" "rc=0x00000184" \
	"$(rawauth $CC_ClearControl $OWNER "01")"
vt_check "disableClear survives a restart" tpm2_shutdown -c
vt_server_restart || vt_done
vt_check_eq "after restart: disableClear is 1" "1" "$(perm disableClear)"
vt_check "platformAuth clears disableClear: tpm2_clearcontrol -C p c" tpm2_clearcontrol -C p c
vt_check "tpm2_clear -c p" tpm2_clear -c p
srk1=$(primary_pub o)

# ------------------------------------------------------------ changeeps / changepps
ek2=$(primary_pub e)
vt_check_eq "EK still the same key before ChangeEPS" "$ek0" "$ek2"
vt_check "tpm2_changeauth endorsement before ChangeEPS" tpm2_changeauth -c e endorsepw
vt_check "tpm2_changeeps" tpm2_changeeps
ek3=$(primary_pub e)
vt_check_true "after ChangeEPS: the EK is a new key (and endorsementAuth is empty)" [ -n "$ek3" -a "$ek3" != "$ek0" ]
srk2=$(primary_pub o)
vt_check_eq "after ChangeEPS: the storage primary did not change" "$srk1" "$srk2"
ppk1=$(primary_pub p)
vt_check_eq "before ChangePPS: the platform primary is as before" "$ppk0" "$ppk1"
vt_check "tpm2_changepps" tpm2_changepps
ppk2=$(primary_pub p)
vt_check_true "after ChangePPS: the platform primary is a new key" [ -n "$ppk2" -a "$ppk2" != "$ppk0" ]
vt_check_fails "after ChangePPS: the platform persistent object is gone" tpm2_readpublic -c 0x81800100
flush
vt_check "after ChangePPS: the platform NV index stays" tpm2_nvreadpublic 0x01400100
vt_check_rc "ChangeEPS with a wrong platformAuth: TPM_RC_BAD_AUTH" 0x9a2 tpm2_changeeps -p wrong

# ------------------------------------------------------------ disabling the platform hierarchy
vt_check "tpm2_hierarchycontrol -C p phEnable clear" tpm2_hierarchycontrol -C p phEnable clear
vt_check_eq "phEnable is 0" "0" "$(startup_clear phEnable)"
vt_check_rc "platformAuth is unusable: TPM_RC_HIERARCHY" 0x185 tpm2_createprimary -C p -G ecc -c "$T/p.ctx"
flush
vt_check_eq "nor can it enable itself again (TPM_RC_HIERARCHY)" "rc=0x00000185" \
	"$(rawauth $CC_HierarchyControl $PLATFORM "${PLATFORM}01")"
tpm2_shutdown -c >/dev/null 2>&1
vt_server_restart || vt_done
vt_check_eq "after restart: phEnable is 1 again" "1" "$(startup_clear phEnable)"

vt_done
