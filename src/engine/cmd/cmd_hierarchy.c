/* Hierarchy commands (TPM 2.0 Part 3 §24) and dictionary-attack commands
 * (Part 3 §25).
 *
 * The dispatcher has checked the handles (hierarchy.c: the permanent
 * handle is of the right interface type and its hierarchy is enabled) and
 * their authorization.  What changes here:
 *   HierarchyControl   the volatile enables; disabling a hierarchy flushes
 *                      its transient objects (its persistent objects and
 *                      NV stay, out of reach: dispatch.c check_handle)
 *   HierarchyChangeAuth / SetPrimaryPolicy  a hierarchy's authValue or
 *                      authPolicy (platform's are volatile)
 *   ChangeEPS / ChangePPS  a new seed and proof; the hierarchy's objects go
 *   Clear / ClearControl   the owner's world goes, see vt_cmd_clear
 *   DictionaryAttackLockReset / Parameters  da.c's counters */
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/object.h"
#include "engine/auth.h"
#include "common/be.h"

/* Flush the transient objects of hierarchy h and, with `persistent`, its
 * persistent objects too. */
static void flush_hierarchy(vt_engine *e, TPMI_RH_HIERARCHY h, bool persistent)
{
    unsigned i;

    vt_object_flush_all(e, false, h);
    if (!persistent)
        return;
    for (i = 0; i < VT_MAX_PERSISTENT; i++)
        if (e->p.persistent[i].used && e->p.persistent[i].hierarchy == h)
            vt_object_flush(e, &e->p.persistent[i]);
}

static void clear_auth(uint8_t *auth, uint16_t *len)
{
    vt_wipe(auth, VT_MAX_DIGEST);
    *len = 0;
}

/* TPM2_HierarchyControl (Part 3 §24.2).  Only platformAuth enables;
 * ownerAuth and endorsementAuth may only disable their own hierarchy;
 * platformAuth may disable any (TPM_RC_AUTH_TYPE otherwise). */
TPM2_RC vt_cmd_hierarchy_control(vt_cmd *c)
{
    vt_engine *e = c->e;
    TPM2_HANDLE auth = c->handles[0];
    uint32_t enable;
    uint8_t state;

    RETURN_IF_ERROR(vt_in_u32(&c->in, &enable));
    if (enable != TPM2_RH_OWNER && enable != TPM2_RH_ENDORSEMENT && enable != TPM2_RH_PLATFORM &&
        enable != TPM2_RH_PLATFORM_NV)
        return vt_in_rc(&c->in, TPM2_RC_VALUE);
    RETURN_IF_ERROR(vt_in_u8(&c->in, &state));
    if (state != TPM2_YES && state != TPM2_NO)
        return vt_in_rc(&c->in, TPM2_RC_VALUE);
    RETURN_IF_ERROR(vt_in_end(&c->in));

    if (auth != TPM2_RH_PLATFORM && (state == TPM2_YES || enable != auth))
        return TPM2_RC_AUTH_TYPE;
    switch (enable) {
    case TPM2_RH_PLATFORM:
        /* Setting it is a no-op: it must be set for platformAuth to work. */
        if (state == TPM2_NO) {
            e->v.ph_enable = false;
            flush_hierarchy(e, TPM2_RH_PLATFORM, false);
        }
        break;
    case TPM2_RH_PLATFORM_NV:
        e->v.ph_enable_nv = state == TPM2_YES;
        break;
    case TPM2_RH_OWNER:
        e->v.sh_enable = state == TPM2_YES;
        if (state == TPM2_NO)
            flush_hierarchy(e, TPM2_RH_OWNER, false);
        break;
    case TPM2_RH_ENDORSEMENT:
        e->v.eh_enable = state == TPM2_YES;
        if (state == TPM2_NO)
            flush_hierarchy(e, TPM2_RH_ENDORSEMENT, false);
        break;
    }
    return TPM2_RC_SUCCESS;
}

/* TPM2_HierarchyChangeAuth (Part 3 §24.8).  newAuth may be as long as the
 * context integrity digest (TPM_PT_CONTEXT_HASH, SHA-256); trailing zeros
 * are dropped (Part 1 §19.?).  platformAuth is volatile; the others are
 * committed.  The response HMAC uses the new value (auth.c). */
TPM2_RC vt_cmd_hierarchy_change_auth(vt_cmd *c)
{
    vt_engine *e = c->e;
    const uint8_t *a;
    uint16_t n;
    uint8_t *dst;
    uint16_t *dst_len;

    RETURN_IF_ERROR(vt_in_2b(&c->in, &a, &n, sizeof(TPMU_HA)));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (n > vt_hash_size(TPM2_ALG_SHA256))
        return VT_RC_P(TPM2_RC_SIZE, 1);
    switch (c->handles[0]) {
    case TPM2_RH_OWNER: dst = e->p.owner_auth; dst_len = &e->p.owner_auth_len; break;
    case TPM2_RH_ENDORSEMENT: dst = e->p.endorsement_auth; dst_len = &e->p.endorsement_auth_len; break;
    case TPM2_RH_LOCKOUT: dst = e->p.lockout_auth; dst_len = &e->p.lockout_auth_len; break;
    case TPM2_RH_PLATFORM: dst = e->v.platform_auth; dst_len = &e->v.platform_auth_len; break;
    default: return TPM2_RC_FAILURE; /* the dispatcher let no other handle in */
    }
    n = (uint16_t)vt_auth_trim(a, n);
    vt_wipe(dst, VT_MAX_DIGEST);
    memcpy(dst, a, n);
    *dst_len = n;
    c->state_changed = c->handles[0] != TPM2_RH_PLATFORM;
    return TPM2_RC_SUCCESS;
}

/* TPM2_SetPrimaryPolicy (Part 3 §24.3).  An authPolicy of hashAlg's digest
 * size, or an empty one with TPM_ALG_NULL (no policy).  platformPolicy is
 * volatile like platformAuth. */
TPM2_RC vt_cmd_set_primary_policy(vt_cmd *c)
{
    vt_engine *e = c->e;
    vt_hier_policy *cur = vt_hierarchy_policy(e, c->handles[0]);
    vt_hier_policy pol;
    const uint8_t *d;
    uint16_t n, alg;

    RETURN_IF_ERROR(vt_in_2b(&c->in, &d, &n, sizeof(TPMU_HA)));
    RETURN_IF_ERROR(vt_in_u16(&c->in, &alg));
    /* TPMI_ALG_HASH+: an implemented hash, or TPM_ALG_NULL */
    if (alg != TPM2_ALG_NULL && vt_hash_size(alg) == 0)
        return vt_in_rc(&c->in, TPM2_RC_HASH);
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (!cur)
        return TPM2_RC_FAILURE; /* the dispatcher let no other handle in */
    if (alg == TPM2_ALG_NULL ? n != 0 : n != vt_hash_size(alg))
        return VT_RC_P(TPM2_RC_SIZE, 1);
    memset(&pol, 0, sizeof(pol));
    pol.alg = alg;
    pol.len = n;
    memcpy(pol.digest, d, n);
    *cur = pol;
    c->state_changed = c->handles[0] != TPM2_RH_PLATFORM;
    return TPM2_RC_SUCCESS;
}

/* TPM2_ChangePPS (Part 3 §24.5): a new PPS and phProof (saved platform
 * contexts die), platformPolicy empty, the platform hierarchy's objects
 * flushed, transient and persistent.  Platform NV indices stay. */
TPM2_RC vt_cmd_change_pps(vt_cmd *c)
{
    vt_engine *e = c->e;

    RETURN_IF_ERROR(vt_in_end(&c->in));
    RETURN_IF_ERROR(vt_random(e, e->p.pps, VT_SEED_SIZE));
    RETURN_IF_ERROR(vt_random(e, e->p.ph_proof, VT_SEED_SIZE));
    vt_hier_policy_clear(&e->v.platform_policy);
    flush_hierarchy(e, TPM2_RH_PLATFORM, true);
    c->state_changed = true;
    return TPM2_RC_SUCCESS;
}

/* TPM2_ChangeEPS (Part 3 §24.4): a new EPS and ehProof, endorsementAuth
 * and endorsementPolicy empty, the endorsement hierarchy's objects
 * flushed, transient and persistent.  The EK derived from the template is
 * a new key from now on. */
TPM2_RC vt_cmd_change_eps(vt_cmd *c)
{
    vt_engine *e = c->e;

    RETURN_IF_ERROR(vt_in_end(&c->in));
    RETURN_IF_ERROR(vt_random(e, e->p.eps, VT_SEED_SIZE));
    RETURN_IF_ERROR(vt_random(e, e->p.eh_proof, VT_SEED_SIZE));
    clear_auth(e->p.endorsement_auth, &e->p.endorsement_auth_len);
    vt_hier_policy_clear(&e->p.endorsement_policy);
    flush_hierarchy(e, TPM2_RH_ENDORSEMENT, true);
    c->state_changed = true;
    return TPM2_RC_SUCCESS;
}

/* TPM2_Clear (Part 3 §24.6): flush the objects (transient and persistent)
 * of the Storage and Endorsement hierarchies; delete every NV index not
 * created by the platform; a new SPS; new shProof and ehProof; set
 * shEnable and ehEnable; empty ownerAuth, endorsementAuth, lockoutAuth and
 * their policies; Clock, resetCount and restartCount zero, Safe YES;
 * pcrUpdateCounter incremented.  The EPS stays, so the EK stays the same
 * key.  Refused with TPM_RC_DISABLED after ClearControl(YES).  Authorized
 * with lockoutAuth, the response HMAC uses the new (empty) lockoutAuth:
 * auth.c keys it with the value the entity has after the action. */
TPM2_RC vt_cmd_clear(vt_cmd *c)
{
    vt_engine *e = c->e;
    vt_persistent *p = &e->p;
    unsigned i;

    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (p->disable_clear)
        return TPM2_RC_DISABLED;
    RETURN_IF_ERROR(vt_random(e, p->sps, VT_SEED_SIZE));
    RETURN_IF_ERROR(vt_random(e, p->sh_proof, VT_SEED_SIZE));
    RETURN_IF_ERROR(vt_random(e, p->eh_proof, VT_SEED_SIZE));
    flush_hierarchy(e, TPM2_RH_OWNER, true);
    flush_hierarchy(e, TPM2_RH_ENDORSEMENT, true);
    for (i = 0; i < VT_NV_MAX_INDICES; i++) {
        vt_nv_index *ix = &p->nv.index[i];
        if (ix->used && !(ix->pub.attributes & TPMA_NV_PLATFORMCREATE))
            vt_nv_remove_index(&p->nv, ix);
    }
    e->v.sh_enable = e->v.eh_enable = true;
    clear_auth(p->owner_auth, &p->owner_auth_len);
    clear_auth(p->endorsement_auth, &p->endorsement_auth_len);
    clear_auth(p->lockout_auth, &p->lockout_auth_len);
    vt_hier_policy_clear(&p->owner_policy);
    vt_hier_policy_clear(&p->endorsement_policy);
    vt_hier_policy_clear(&p->lockout_policy);
    /* The release trust store is the owner's: keys and policy go; the SVN
     * floors stay (trust.h). */
    vt_trust_clear(&p->trust);
    /* Clock restarts from zero (clock.c: Clock = base + elapsed). */
    p->clock = 0;
    e->clock_base = 0;
    e->clock_mono = e->plat.monotonic_ms(e->plat.ctx);
    p->reset_count = 0;
    p->restart_count = 0;
    p->clock_safe = true;
    e->v.pcr_update_counter++;
    c->state_changed = true;
    return TPM2_RC_SUCCESS;
}

/* TPM2_ClearControl (Part 3 §24.7): disableClear.  lockoutAuth may only
 * set it; clearing it takes platformAuth (TPM_RC_AUTH_FAIL otherwise). */
TPM2_RC vt_cmd_clear_control(vt_cmd *c)
{
    uint8_t disable;

    RETURN_IF_ERROR(vt_in_u8(&c->in, &disable));
    if (disable != TPM2_YES && disable != TPM2_NO)
        return vt_in_rc(&c->in, TPM2_RC_VALUE);
    RETURN_IF_ERROR(vt_in_end(&c->in));
    if (c->handles[0] == TPM2_RH_LOCKOUT && disable == TPM2_NO)
        return TPM2_RC_AUTH_FAIL;
    c->e->p.disable_clear = disable == TPM2_YES;
    c->state_changed = true;
    return TPM2_RC_SUCCESS;
}

/* TPM2_DictionaryAttackLockReset (Part 3 §25.2): failedTries to zero. */
TPM2_RC vt_cmd_da_lock_reset(vt_cmd *c)
{
    vt_engine *e = c->e;

    RETURN_IF_ERROR(vt_in_end(&c->in));
    vt_da_update(e);
    e->p.da.failed_tries = 0;
    e->v.da_heal_mark = vt_time_now(e);
    c->state_changed = true;
    return TPM2_RC_SUCCESS;
}

/* TPM2_DictionaryAttackParameters (Part 3 §25.3): maxTries, recoveryTime
 * (0: DA protection off), lockoutRecovery (0: one try per TPM Reset), in
 * effect at once.  failedTries is left as it is (an erratum to the spec
 * dropped its reset here; swtpm agrees): only DictionaryAttackLockReset
 * or self-healing lowers it. */
TPM2_RC vt_cmd_da_parameters(vt_cmd *c)
{
    vt_engine *e = c->e;
    uint32_t max_tries, recovery, lockout_recovery;

    RETURN_IF_ERROR(vt_in_u32(&c->in, &max_tries));
    RETURN_IF_ERROR(vt_in_u32(&c->in, &recovery));
    RETURN_IF_ERROR(vt_in_u32(&c->in, &lockout_recovery));
    RETURN_IF_ERROR(vt_in_end(&c->in));
    vt_da_update(e);
    e->p.da.max_tries = max_tries;
    e->p.da.recovery_time = recovery;
    e->p.da.lockout_recovery = lockout_recovery;
    c->state_changed = true;
    return TPM2_RC_SUCCESS;
}
